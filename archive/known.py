"""What a crawl of a site needs to know of the articles the archive holds of it: which to
re-check for edits, removals and restorations, and the validators for conditional requests."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from archive.current import current_article_select
from archive.models import ArticleVersion, Capture, Page
from archive.queries import read_archive


@dataclass(frozen=True, slots=True)
class KnownArticle:
    """An article the archive holds, as a crawl needs it to decide whether to fetch it again."""

    url: str  # as first seen
    canonical_url: str
    title: str  # of the current version
    published: dt.date | None
    last_seen_at: dt.datetime  # last fetched or confirmed
    removed: bool
    etag: str | None  # validators of the last capture, for a conditional request
    last_modified: str | None


def known_articles(engine: Engine, site_id: str) -> list[KnownArticle]:
    """Every page of the site with an article version (removed ones included), oldest first:
    what a crawl re-checks to find edits, removals and restorations."""
    stmt, _ = current_article_select(
        Page.url,
        Page.canonical_url,
        ArticleVersion.title,
        ArticleVersion.published,
        Page.last_seen_at,
        Page.removed_at,
        Capture.headers,
        site_id=site_id,
    )
    stmt = (
        stmt.join(Capture, Capture.id == ArticleVersion.last_capture_id)
        .where(Page.site_id == site_id)
        .order_by(Page.id)
    )

    def rows(conn: Any) -> list[KnownArticle]:
        out = []
        for url, canon, title, published, seen, removed_at, headers in conn.execute(stmt):
            named = {str(k).lower(): str(v) for k, v in headers or []}
            out.append(
                KnownArticle(
                    url,
                    canon,
                    title,
                    published,
                    seen,
                    removed_at is not None,
                    named.get("etag"),
                    named.get("last-modified"),
                )
            )
        return out

    return read_archive(engine, rows)
