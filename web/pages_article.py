"""The article page: the chosen version (the current one by default), the timeline of every
version with previous/next stepping, the diff between any two, removal and reprint cluster."""

from __future__ import annotations

from flask import Blueprint, Response, abort

from archive.views_article import article, diff
from web.app import connect, respond
from web.params import int_arg, tristate_arg

bp = Blueprint("article", __name__)


def _article(page_id: int):  # type: ignore[no-untyped-def]
    with connect() as conn:
        found = article(conn, page_id)
    if found is None:
        abort(404)
    return found


def _version(found, name: str, default: int | None):  # type: ignore[no-untyped-def]
    no = int_arg(name, default)
    try:
        return found.version(no)
    except KeyError:
        last = found.versions[-1].version_no
        abort(400, f"{name}: this article has versions 1 to {last}, not {no}")


@bp.route("/article/<int:page_id>")
@bp.route("/article/<int:page_id>.json", endpoint="article_page_json")
def article_page(page_id: int) -> Response:
    found = _article(page_id)
    shown = _version(found, "v", None)
    numbers = [v.version_no for v in found.versions]
    at = numbers.index(shown.version_no)
    return respond(
        "article.html",
        {
            "article": found,
            "shown": shown,
            "previous": numbers[at - 1] if at > 0 else None,
            "next": numbers[at + 1] if at + 1 < len(numbers) else None,
        },
    )


@bp.route("/article/<int:page_id>/diff")
@bp.route("/article/<int:page_id>/diff.json", endpoint="diff_page_json")
def diff_page(page_id: int) -> Response:
    found = _article(page_id)
    last = found.versions[-1].version_no
    new = _version(found, "b", last)
    old = _version(found, "a", max(1, new.version_no - 1))
    lines = diff(old, new, full=bool(tristate_arg("full")))
    return respond(
        "diff.html",
        {
            "article": found,
            "old": old,
            "new": new,
            "lines": lines,
            "same": all(line.tag in ("equal", "skip") for line in lines),
        },
    )
