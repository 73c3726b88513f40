"""Read-only questions the CLI asks of the archive; answers are plain dataclasses.

A page's *current* version is its highest ``version_no`` (see ``archive.models``);
``current_versions()`` is the one place that rule is written as SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, Select, Subquery, and_, case, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from archive import db
from archive.errors import DatabaseError
from archive.models import ArticleVersion, Page, Run, Site
from archive.urls import canonical_url

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SiteOverview:
    site_id: str
    name: str
    base_url: str
    pages: int
    articles: int  # pages with at least one article version
    versions: int
    last_run_at: dt.datetime | None
    last_run_status: str | None


@dataclass(frozen=True, slots=True)
class ArticleRow:
    site_id: str
    url: str
    published: dt.date | None
    title: str
    source: str | None
    versions: int
    last_seen_at: dt.datetime


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    site_id: str
    trigger: str
    status: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    pages_fetched: int
    articles_archived: int
    new_versions: int
    errors: int
    drops: dict[str, int]


@dataclass(frozen=True, slots=True)
class VersionRow:
    version_no: int
    title: str
    published: dt.date | None
    source: str | None
    content_sha256: str
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    capture_id: int
    last_capture_id: int


def current_versions() -> Subquery:
    """``(page_id, current_no, versions)`` for every page that has an article version."""
    return (
        select(
            ArticleVersion.page_id.label("page_id"),
            func.max(ArticleVersion.version_no).label("current_no"),
            func.count().label("versions"),
        )
        .group_by(ArticleVersion.page_id)
        .subquery("current")
    )


def current_article_select(*columns: Any) -> tuple[Select[Any], Subquery]:
    """SELECT columns FROM page JOIN current version JOIN its article_version row."""
    cur = current_versions()
    stmt = (
        select(*columns)
        .select_from(Page)
        .join(cur, cur.c.page_id == Page.id)
        .join(
            ArticleVersion,
            and_(ArticleVersion.page_id == Page.id, ArticleVersion.version_no == cur.c.current_no),
        )
    )
    return stmt, cur


def site_overview(engine: Engine) -> list[SiteOverview]:
    pages = (
        select(func.count(Page.id)).where(Page.site_id == Site.id).correlate(Site).scalar_subquery()
    )
    articles = (
        select(func.count(func.distinct(ArticleVersion.page_id)))
        .join(Page, Page.id == ArticleVersion.page_id)
        .where(Page.site_id == Site.id)
        .correlate(Site)
        .scalar_subquery()
    )
    versions = (
        select(func.count(ArticleVersion.id))
        .join(Page, Page.id == ArticleVersion.page_id)
        .where(Page.site_id == Site.id)
        .correlate(Site)
        .scalar_subquery()
    )
    recent = aliased(Run)
    last_run = (
        select(recent.id)
        .where(recent.site_id == Site.id)
        .order_by(recent.started_at.desc(), recent.id.desc())
        .limit(1)
        .correlate(Site)
        .scalar_subquery()
    )
    stmt = (
        select(
            Site.id, Site.name, Site.base_url, pages, articles, versions, Run.started_at, Run.status
        )
        .outerjoin(Run, Run.id == last_run)
        .order_by(Site.id)
    )
    return _read(engine, lambda conn: [SiteOverview(*row) for row in conn.execute(stmt)])


def list_articles(engine: Engine, site_id: str | None = None, limit: int = 50) -> list[ArticleRow]:
    """Current version of each article page, newest publication first (undated last)."""
    stmt, cur = current_article_select(
        Page.site_id,
        Page.url,
        ArticleVersion.published,
        ArticleVersion.title,
        ArticleVersion.source,
        ArticleVersion.last_seen_at,
    )
    stmt = stmt.add_columns(cur.c.versions)
    if site_id is not None:
        stmt = stmt.where(Page.site_id == site_id)
    stmt = stmt.order_by(
        case((ArticleVersion.published.is_(None), 1), else_=0),
        ArticleVersion.published.desc(),
        Page.first_seen_at.desc(),
        Page.id.desc(),
    ).limit(limit)

    def rows(conn: Any) -> list[ArticleRow]:
        return [
            ArticleRow(site, url, published, title, source, versions, last_seen)
            for site, url, published, title, source, last_seen, versions in conn.execute(stmt)
        ]

    return _read(engine, rows)


def latest_runs(engine: Engine, limit: int = 20) -> list[RunRow]:
    stmt = (
        select(
            Run.id,
            Run.site_id,
            Run.trigger,
            Run.status,
            Run.started_at,
            Run.finished_at,
            Run.pages_fetched,
            Run.articles_archived,
            Run.new_versions,
            Run.errors,
            Run.drops,
        )
        .order_by(Run.started_at.desc(), Run.id.desc())
        .limit(limit)
    )
    return _read(engine, lambda conn: [RunRow(*row) for row in conn.execute(stmt)])


def versions_for_url(engine: Engine, url: str) -> list[VersionRow]:
    """Every version of the article at ``url`` (any spelling of it), oldest first.

    Raises ValueError when ``url`` is not an absolute URL.
    """
    stmt = (
        select(
            ArticleVersion.version_no,
            ArticleVersion.title,
            ArticleVersion.published,
            ArticleVersion.source,
            ArticleVersion.content_sha256,
            ArticleVersion.first_seen_at,
            ArticleVersion.last_seen_at,
            ArticleVersion.capture_id,
            ArticleVersion.last_capture_id,
        )
        .join(Page, Page.id == ArticleVersion.page_id)
        .where(Page.canonical_url == canonical_url(url))
        .order_by(ArticleVersion.version_no)
    )
    return _read(engine, lambda conn: [VersionRow(*row) for row in conn.execute(stmt)])


def _read(engine: Engine, work: Callable[[Any], T]) -> T:
    try:
        with engine.connect() as conn:
            return work(conn)
    except DBAPIError as exc:
        url = db.display_url(engine.url)
        raise DatabaseError(f"database error on {url}: {db.short_reason(exc)}") from exc
