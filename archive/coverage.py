"""What one run covered, per site: measured from the database when the run closes.

The database is the truth for what was archived: the article versions whose latest capture is
one of the run's (extracted from a 200, or confirmed by a 304), their fields and body length,
the run's drops. Only what the database cannot know comes from the crawl, as a small mapping
of figures (:data:`CRAWL_FIGURES`): list pages read, article links found on them, pages
extracted by the fallback path, errors by reason.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from archive.models import ArticleText, ArticleVersion, Capture, Run
from archive.models_monitor import RunCoverage

# The figures a crawl may hand over (``Archive.finish_run(..., figures=...)``).
CRAWL_FIGURES = ("list_pages", "list_links", "fallback", "errors")
# The fields whose share of extracted articles is tracked, with how a reader names them.
FIELDS = {"date": "date", "source": "来源", "author": "author", "captions": "captions"}


def record(session: Session, run: Run, figures: Mapping[str, Any] | None = None) -> RunCoverage:
    """Measure ``run`` and store (or replace) its coverage row."""
    figures = figures or {}
    rows = session.execute(
        select(
            Capture.http_status,
            ArticleVersion.published,
            ArticleVersion.source,
            ArticleVersion.author,
            ArticleVersion.captions,
            func.length(ArticleText.body),
        )
        # page_id first: the (page_id, version_no) index finds the page's versions, so the
        # cost is the run's captures, not the archive's versions.
        .join(
            ArticleVersion,
            and_(
                ArticleVersion.page_id == Capture.page_id,
                ArticleVersion.last_capture_id == Capture.id,
            ),
        )
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .where(Capture.run_id == run.id, ArticleVersion.change_class != "removed")
    ).all()
    fresh = [r for r in rows if r[0] != 304]
    drops = dict(run.drops or {})
    soft_404 = int(drops.get("soft_404", 0))
    coverage = session.get(RunCoverage, run.id) or RunCoverage(run_id=run.id)
    coverage.site_id = run.site_id
    coverage.articles = len(rows)
    coverage.extracted = len(fresh)
    coverage.with_date = sum(1 for r in fresh if r[1] is not None)
    coverage.with_source = sum(1 for r in fresh if r[2])
    coverage.with_author = sum(1 for r in fresh if r[3])
    coverage.with_captions = sum(1 for r in fresh if r[4])
    coverage.median_body = int(statistics.median(r[5] for r in fresh)) if fresh else None
    coverage.fallback = _count(figures.get("fallback"))
    coverage.list_pages = _count(figures.get("list_pages"))
    coverage.list_links = _count(figures.get("list_links"))
    coverage.article_pages = len(rows) + soft_404
    coverage.soft_404 = soft_404
    coverage.drops = drops
    coverage.errors = {str(k): int(v) for k, v in (figures.get("errors") or {}).items()}
    coverage.created_at = dt.datetime.now(dt.UTC)
    session.add(coverage)
    return coverage


def share(coverage: RunCoverage, field: str) -> float | None:
    """The share (0..1) of the run's extracted articles that have ``field``; None if none."""
    if not coverage.extracted:
        return None
    count = {
        "date": coverage.with_date,
        "source": coverage.with_source,
        "author": coverage.with_author,
        "captions": coverage.with_captions,
    }[field]
    return count / coverage.extracted


def fallback_share(coverage: RunCoverage) -> float | None:
    if not coverage.extracted or coverage.fallback is None:
        return None
    return coverage.fallback / coverage.extracted


def links_per_list(coverage: RunCoverage) -> float | None:
    if not coverage.list_pages or coverage.list_links is None:
        return None
    return coverage.list_links / coverage.list_pages


def latest(session: Session, site_id: str | None = None, limit: int = 50) -> list[RunCoverage]:
    """The newest coverage rows, newest first (of one site, or all)."""
    query = select(RunCoverage).order_by(RunCoverage.run_id.desc()).limit(limit)
    if site_id is not None:
        query = query.where(RunCoverage.site_id == site_id)
    return list(session.scalars(query))


def _count(value: Any) -> int | None:
    return None if value is None else int(value)
