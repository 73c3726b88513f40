"""What changed since a date (new, edited, retitled, removed, restored), per site, as a page
and as an Atom feed (``/feeds/changes.atom?site=``) for feed readers."""

from __future__ import annotations

import datetime as dt

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, url_for

from archive.models import CHANGE_CLASSES
from archive.views_sites import changes_since, site_ids
from web.app import connect, respond
from web.params import date_arg, int_arg, str_arg

bp = Blueprint("changes", __name__)
PER_PAGE = 100
FEED_DAYS = 30


def _since(default_days: int) -> dt.datetime:
    day = date_arg("since") or (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=default_days))
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def _kind() -> str | None:
    kind = str_arg("class", 20)
    return kind if kind in CHANGE_CLASSES else None


@bp.route("/changes")
@bp.route("/changes.json", endpoint="changes_page_json")
def changes_page() -> Response:
    since = _since(7)
    page = int_arg("page", 1, high=1000) or 1
    site = str_arg("site", 64)
    with connect() as conn:
        changes = changes_since(
            conn,
            since,
            site_id=site,
            change_class=_kind(),
            limit=PER_PAGE,
            offset=(page - 1) * PER_PAGE,
        )
        sites = site_ids(conn)
    return respond(
        "changes.html",
        {
            "since": since.date(),
            "site": site,
            "change_class": _kind(),
            "classes": CHANGE_CLASSES,
            "changes": changes,
            "page": page,
            "more": len(changes) == PER_PAGE,
            "sites": sites,
        },
    )


@bp.route("/feeds/changes.atom")
def changes_feed() -> Response:
    site = str_arg("site", 64)
    with connect() as conn:
        changes = changes_since(conn, _since(FEED_DAYS), site_id=site, limit=200)
    feed = FeedGenerator()
    self_url = url_for("changes.changes_feed", site=site, _external=True)
    feed.id(self_url)
    feed.title(f"Gonghui Archive: changes{f' on {site}' if site else ''}")
    feed.link(href=self_url, rel="self")
    feed.link(href=url_for("changes.changes_page", site=site, _external=True), rel="alternate")
    feed.updated(changes[0].seen_at if changes else dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    for change in reversed(changes):  # feedgen puts the last added first
        entry = feed.add_entry()
        link = url_for(
            "article.article_page", page_id=change.page_id, v=change.version_no, _external=True
        )
        entry.id(link)
        entry.title(f"[{change.change_class.replace('_', ' ')}] {change.title}")
        entry.link(href=link)
        entry.updated(change.seen_at)
        entry.summary(
            f"{change.site_name} · v{change.version_no} · 来源 {change.source or '-'}"
            f" · {change.url}"
        )
    return Response(feed.atom_str(pretty=True), mimetype="application/atom+xml")
