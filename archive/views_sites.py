"""Read-side answers for the web view's sites and changes pages: per-run field coverage and
what changed since a date. Plain dataclasses over an open (read-only) Connection.

A run's *archived articles* are the article versions its captures produced or confirmed:
each capture of the run falls inside the seen interval (``first_seen_at`` .. ``last_seen_at``)
of exactly one version of its page, the version that page showed then. Removed versions are
not articles. Coverage is the share of those with a publication date, a 来源, an author, and
the median body length, so a template change on a site shows as a drop from one run to the
next.
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass

from sqlalchemy import Connection, and_, func, select

from archive.models import ArticleText, ArticleVersion, Capture, Page, Site


@dataclass(frozen=True, slots=True)
class Coverage:
    run_id: int
    articles: int
    with_date: float  # shares, 0..1 (0 when the run archived no article)
    with_source: float
    with_author: float
    median_body_chars: float | None


def run_coverage(conn: Connection, run_ids: list[int]) -> dict[int, Coverage]:
    """Field coverage of each run's archived articles (see the module docstring)."""
    if not run_ids:
        return {}
    stmt = (
        select(
            Capture.run_id,
            ArticleVersion.id,
            ArticleVersion.published.is_not(None),
            ArticleVersion.source.is_not(None) & (ArticleVersion.source != ""),
            ArticleVersion.author.is_not(None) & (ArticleVersion.author != ""),
            func.length(ArticleText.body),
        )
        .join(
            ArticleVersion,
            and_(
                ArticleVersion.page_id == Capture.page_id,
                ArticleVersion.first_seen_at <= Capture.fetched_at,
                ArticleVersion.last_seen_at >= Capture.fetched_at,
                ArticleVersion.change_class != "removed",
            ),
        )
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .where(Capture.run_id.in_(run_ids))
        .distinct()
    )
    found: dict[int, dict[int, tuple[bool, bool, bool, int]]] = {r: {} for r in run_ids}
    for run_id, version_id, dated, sourced, authored, chars in conn.execute(stmt):
        found[run_id][version_id] = (bool(dated), bool(sourced), bool(authored), chars or 0)
    out = {}
    for run_id, versions in found.items():
        n = len(versions)
        rows = list(versions.values())

        def share(i: int, rows: list[tuple[bool, bool, bool, int]] = rows, n: int = n) -> float:
            return sum(1 for r in rows if r[i]) / n if n else 0.0

        median = statistics.median(r[3] for r in rows) if rows else None
        out[run_id] = Coverage(run_id, n, share(0), share(1), share(2), median)
    return out


@dataclass(frozen=True, slots=True)
class Change:
    page_id: int
    site_id: str
    site_name: str
    url: str
    version_no: int
    change_class: str  # new, minor_edit, substantive_edit, retitle, removed, restored
    removal: str | None
    title: str
    published: dt.date | None
    source: str | None
    seen_at: dt.datetime  # when the archive first saw this version


def changes_since(
    conn: Connection,
    since: dt.datetime,
    *,
    site_id: str | None = None,
    change_class: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[Change]:
    """Versions first seen at or after ``since`` (new articles, edits, retitles, removals,
    restorations), newest first."""
    stmt = (
        select(
            Page.id,
            Page.site_id,
            Site.name,
            Page.url,
            ArticleVersion.version_no,
            ArticleVersion.change_class,
            ArticleVersion.removal,
            ArticleVersion.title,
            ArticleVersion.published,
            ArticleVersion.source,
            ArticleVersion.first_seen_at,
        )
        .join(Page, Page.id == ArticleVersion.page_id)
        .join(Site, Site.id == Page.site_id)
        .where(ArticleVersion.first_seen_at >= since)
        .order_by(ArticleVersion.first_seen_at.desc(), ArticleVersion.id.desc())
        .limit(limit)
        .offset(offset)
    )
    if site_id:
        stmt = stmt.where(Page.site_id == site_id)
    if change_class:
        stmt = stmt.where(ArticleVersion.change_class == change_class)
    return [Change(*row) for row in conn.execute(stmt)]


def site_ids(conn: Connection) -> list[tuple[str, str]]:
    """(id, name) of every site the archive holds."""
    return [tuple(row) for row in conn.execute(select(Site.id, Site.name).order_by(Site.id))]  # type: ignore[misc]
