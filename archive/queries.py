"""Read-only questions the CLI asks of the archive; answers are plain dataclasses.

Which version of a page is its current one is written in ``archive.current``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Engine, case, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import aliased

from archive import db
from archive.current import current_article_select
from archive.errors import DatabaseError
from archive.models import ArticleText, ArticleVersion, Capture, Page, ReprintCluster, Run, Site
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
    removals: int
    stop_reason: str | None = None
    resumed_from: int | None = None
    new_articles: int = 0  # pages whose first version this run made
    mode: str | None = None  # full, incremental, backfill


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
    change_class: str
    removal: str | None
    body: str
    http_status: int
    warc_filename: str
    warc_offset: int


@dataclass(frozen=True, slots=True)
class PageHistory:
    site_id: str
    url: str
    canonical_url: str
    first_seen_at: dt.datetime
    removed_at: dt.datetime | None
    removal: str | None
    cluster_id: int | None
    versions: list[VersionRow]


@dataclass(frozen=True, slots=True)
class ClusterMember:
    page_id: int
    site_id: str
    site_name: str
    url: str
    title: str
    published: dt.date | None
    source: str | None
    removed: bool


@dataclass(frozen=True, slots=True)
class ClusterRow:
    id: int
    size: int
    original_page_id: int | None
    updated_at: dt.datetime
    members: list[ClusterMember]  # the original first, then by publication date

    @property
    def original(self) -> ClusterMember | None:
        return next((m for m in self.members if m.page_id == self.original_page_id), None)


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
    return read_archive(engine, lambda conn: [SiteOverview(*row) for row in conn.execute(stmt)])


def list_articles(engine: Engine, site_id: str | None = None, limit: int = 50) -> list[ArticleRow]:
    """Current version of each article page, newest publication first (undated last)."""
    stmt, cur = current_article_select(
        Page.site_id,
        Page.url,
        ArticleVersion.published,
        ArticleVersion.title,
        ArticleVersion.source,
        ArticleVersion.last_seen_at,
        site_id=site_id,
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

    return read_archive(engine, rows)


def latest_runs(engine: Engine, limit: int = 20, site_id: str | None = None) -> list[RunRow]:
    """The newest runs (of one site, or of all), newest first."""
    new_articles = (
        select(func.count())
        .select_from(ArticleVersion)
        .join(Capture, Capture.id == ArticleVersion.capture_id)
        .where(Capture.run_id == Run.id, ArticleVersion.version_no == 1)
        .correlate(Run)
        .scalar_subquery()
    )
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
            Run.removals,
            Run.stop_reason,
            Run.resumed_from,
            new_articles,
            Run.mode,
        )
        .order_by(Run.started_at.desc(), Run.id.desc())
        .limit(limit)
    )
    if site_id is not None:
        stmt = stmt.where(Run.site_id == site_id)
    return read_archive(engine, lambda conn: [RunRow(*row) for row in conn.execute(stmt)])


def versions_for_url(engine: Engine, url: str) -> list[VersionRow]:
    """Every version of the article at ``url`` (any spelling of it), oldest first.

    Raises ValueError when ``url`` is not an absolute URL.
    """
    history = page_history(engine, url)
    return history.versions if history is not None else []


def page_history(engine: Engine, url: str) -> PageHistory | None:
    """The page at ``url`` (any spelling) with all its versions, oldest first; None if the
    archive never saw it. Raises ValueError when ``url`` is not an absolute URL."""
    canon = canonical_url(url)
    page_stmt = select(
        Page.id,
        Page.site_id,
        Page.url,
        Page.canonical_url,
        Page.first_seen_at,
        Page.removed_at,
        Page.removal,
        Page.cluster_id,
    ).where(Page.canonical_url == canon)
    version_stmt = (
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
            ArticleVersion.change_class,
            ArticleVersion.removal,
            ArticleText.body,
            Capture.http_status,
            Capture.warc_filename,
            Capture.warc_offset,
        )
        .join(Page, Page.id == ArticleVersion.page_id)
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .join(Capture, Capture.id == ArticleVersion.capture_id)
        .where(Page.canonical_url == canon)
        .order_by(ArticleVersion.version_no)
    )

    def read(conn: Any) -> PageHistory | None:
        page = conn.execute(page_stmt).one_or_none()
        if page is None:
            return None
        versions = [VersionRow(*row) for row in conn.execute(version_stmt)]
        return PageHistory(*page[1:], versions=versions)

    return read_archive(engine, read)


def reprint_clusters(engine: Engine, site_id: str | None = None) -> list[ClusterRow]:
    """Every reprint cluster (those with a page of ``site_id``), largest first."""
    stmt, _ = current_article_select(
        Page.cluster_id,
        Page.id,
        Page.site_id,
        Site.name,
        Page.url,
        ArticleVersion.title,
        ArticleVersion.published,
        ArticleVersion.source,
        Page.removed_at,
    )
    stmt = stmt.join(Site, Site.id == Page.site_id).where(Page.cluster_id.is_not(None))
    if site_id is not None:
        with_site = select(Page.cluster_id).where(Page.site_id == site_id)
        stmt = stmt.where(Page.cluster_id.in_(with_site))
    clusters = select(
        ReprintCluster.id,
        ReprintCluster.size,
        ReprintCluster.original_page_id,
        ReprintCluster.updated_at,
    )

    def read(conn: Any) -> list[ClusterRow]:
        members: dict[int, list[ClusterMember]] = {}
        for cluster_id, *rest, removed_at in conn.execute(stmt):
            members.setdefault(cluster_id, []).append(ClusterMember(*rest, removed_at is not None))
        out = []
        for cid, size, original, updated in conn.execute(clusters):
            if cid not in members:
                continue

            def order(m: ClusterMember, original: int | None = original) -> tuple[Any, ...]:
                return (m.page_id != original, m.published or dt.date.max, m.page_id)

            out.append(ClusterRow(cid, size, original, updated, sorted(members[cid], key=order)))
        return sorted(out, key=lambda c: (-c.size, c.id))

    return read_archive(engine, read)


def read_archive(engine: Engine, work: Callable[[Any], T]) -> T:
    """``work(conn)`` on a read connection; a driver error becomes one DatabaseError line."""
    try:
        with engine.connect() as conn:
            return work(conn)
    except DBAPIError as exc:
        url = db.display_url(engine.url)
        raise DatabaseError(f"database error on {url}: {db.short_reason(exc)}") from exc
