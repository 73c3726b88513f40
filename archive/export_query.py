"""The rows of the export tables (``archive.export_schema``), streamed from the database.

Each ``*_rows`` function yields one dict per row with Python values of the column's type
(``dt.date``, ``dt.time``, tz-aware UTC ``dt.datetime``, lists, ints), reading through
``yield_per`` (a server-side cursor on PostgreSQL), so memory stays flat however large the
archive is.

Incremental exports (``Changes``): ``since_run=N`` keeps what runs after N changed, and
``changed_since=T`` what changed at or after T:

- versions: made by a capture of a run after N / first seen at or after T;
- articles: pages whose current version is such a version, or whose reprint cluster changed;
- clusters: every member of a cluster updated since the first run after N started / since T.

A version's ``last_seen_at`` moving (the text confirmed unchanged) is not a change.
``through_run`` is the run a downstream job passes as ``--since-run`` next time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, Select, and_, false, func, or_, select, true
from sqlalchemy.exc import SQLAlchemyError

from archive import db
from archive.current import current_article_select
from archive.errors import ConfigError, DatabaseError
from archive.export_schema import field_names
from archive.models import ArticleText, ArticleVersion, Capture, Page, ReprintCluster, Run, Site

BATCH_ROWS = 500


@dataclass(frozen=True, slots=True)
class Changes:
    """What an incremental export keeps; both None: everything."""

    since_run: int | None = None
    changed_since: dt.datetime | None = None  # tz-aware

    def __post_init__(self) -> None:
        if self.since_run is not None and self.changed_since is not None:
            raise ConfigError("use --since-run or --changed-since, not both")
        if self.changed_since is not None and self.changed_since.tzinfo is None:
            raise ValueError("changed_since must be tz-aware")


def through_run(engine: Engine) -> int:
    """The newest run N such that no run numbered N or lower is still open (0: none).

    Every version of those runs is in the archive, so a job that passes N as ``--since-run``
    next time misses nothing; rows of runs after N that were open now are exported again then
    (upsert them by ``page_id``, ``version_id``, ``cluster_id``).
    """
    stmt = select(
        func.min(Run.id).filter(Run.status == "running"), func.coalesce(func.max(Run.id), 0)
    )
    first_open, newest = _read(engine, lambda conn: conn.execute(stmt).one())
    return newest if first_open is None else first_open - 1


def check_since_run(engine: Engine, since_run: int) -> None:
    """ConfigError when ``since_run`` is past the archive's newest run (an archive replaced
    under a nightly job); the newest run itself is fine: nothing changed since."""
    newest = _read(engine, lambda conn: conn.scalar(select(func.coalesce(func.max(Run.id), 0))))
    if since_run > newest:
        raise ConfigError(
            f"--since-run {since_run}: the archive's newest run is {newest} "
            "(was the archive replaced?)"
        )


def article_rows(
    engine: Engine,
    site_id: str | None = None,
    since: dt.date | None = None,
    changes: Changes | None = None,
) -> Iterator[dict[str, Any]]:
    stmt, cur = current_article_select(*_page_columns(), *_text_columns(), site_id=site_id)
    stmt = stmt.add_columns(
        ArticleVersion.version_no,
        cur.c.versions,
        Page.first_seen_at,
        ArticleVersion.last_seen_at,
        *_provenance_columns(),
        Page.removed_at,
        Page.removal,
        Page.cluster_id,
    )
    stmt = _joins(stmt).order_by(Page.site_id, Page.id)
    stmt = _filter(stmt, site_id, since)
    if changes is not None:
        stmt = stmt.where(or_(_version_changed(changes), _cluster_changed(changes)))
    yield from _stream(engine, stmt, "articles")


def version_rows(
    engine: Engine,
    site_id: str | None = None,
    since: dt.date | None = None,
    changes: Changes | None = None,
) -> Iterator[dict[str, Any]]:
    stmt = (
        select(
            ArticleVersion.id.label("version_id"),
            *_page_columns(),
            ArticleVersion.version_no,
            *_text_columns(),
            ArticleVersion.first_seen_at,
            ArticleVersion.last_seen_at,
            Capture.run_id,
            *_provenance_columns(),
            ArticleVersion.last_capture_id,
            ArticleVersion.removal,
        )
        .select_from(ArticleVersion)
        .join(Page, Page.id == ArticleVersion.page_id)
    )
    stmt = _joins(stmt).order_by(Page.site_id, Page.id, ArticleVersion.version_no)
    stmt = _filter(stmt, site_id, since)
    if changes is not None:
        stmt = stmt.where(_version_changed(changes))
    yield from _stream(engine, stmt, "versions")


def cluster_rows(
    engine: Engine,
    site_id: str | None = None,
    since: dt.date | None = None,
    changes: Changes | None = None,
) -> Iterator[dict[str, Any]]:
    """Members of every cluster (with a page of ``site_id``, with a version published since
    ``since``), the original first."""
    stmt, _ = current_article_select(
        ReprintCluster.id.label("cluster_id"),
        ReprintCluster.size,
        ReprintCluster.original_page_id,
        ReprintCluster.updated_at,
        (Page.id == ReprintCluster.original_page_id).label("is_original"),
        Page.id.label("page_id"),
        Page.site_id,
        Site.name.label("site_name"),
        Page.url,
        ArticleVersion.title,
        ArticleVersion.published,
        ArticleVersion.source,
        Page.removed_at,
    )
    stmt = (
        stmt.join(ReprintCluster, ReprintCluster.id == Page.cluster_id)
        .join(Site, Site.id == Page.site_id)
        .order_by(
            ReprintCluster.id,
            (Page.id == ReprintCluster.original_page_id).desc(),
            ArticleVersion.published.is_(None),
            ArticleVersion.published,
            Page.id,
        )
    )
    if site_id is not None:
        stmt = stmt.where(
            ReprintCluster.id.in_(select(Page.cluster_id).where(Page.site_id == site_id))
        )
    if since is not None:
        dated = select(Page.cluster_id).join(ArticleVersion, ArticleVersion.page_id == Page.id)
        stmt = stmt.where(ReprintCluster.id.in_(_filter(dated, None, since)))
    if changes is not None:
        stmt = stmt.where(_cluster_changed(changes))
    yield from _stream(engine, stmt, "clusters")


def clock(value: str | None) -> dt.time | None:
    """The stored "HH:MM" or "HH:MM:SS" as a time; None for a value that is not a time."""
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value.strip())
    except ValueError:
        return None


# -- pieces --------------------------------------------------------------------------------------


def _page_columns() -> tuple[Any, ...]:
    return (
        Page.site_id,
        Site.name.label("site_name"),
        Page.id.label("page_id"),
        Page.url,
        Page.canonical_url,
    )


def _text_columns() -> tuple[Any, ...]:
    return (
        ArticleVersion.title,
        ArticleVersion.subtitle,
        ArticleVersion.kicker,
        ArticleVersion.published,
        ArticleVersion.published_time.label("published_clock"),
        ArticleVersion.source,
        ArticleVersion.author,
        ArticleText.body,
        ArticleVersion.captions,
        # Stored only where it differs from the original (archive.records.ArticleFields).
        func.coalesce(ArticleVersion.title_hans, ArticleVersion.title).label("title_hans"),
        func.coalesce(ArticleText.body_hans, ArticleText.body).label("body_hans"),
        ArticleVersion.script,
        ArticleVersion.artefacts_removed,
        ArticleVersion.lost_chars,
    )


def _provenance_columns() -> tuple[Any, ...]:
    return (
        ArticleVersion.content_sha256,
        ArticleVersion.capture_id,
        Capture.warc_filename,
        Capture.warc_offset,
        ArticleVersion.change_class,
    )


def _joins(stmt: Select[Any]) -> Select[Any]:
    return (
        stmt.join(Site, Site.id == Page.site_id)
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .join(Capture, Capture.id == ArticleVersion.capture_id)
    )


def _filter(stmt: Select[Any], site_id: str | None, since: dt.date | None) -> Select[Any]:
    if site_id is not None:
        stmt = stmt.where(Page.site_id == site_id)
    if since is not None:
        since_at = dt.datetime.combine(since, dt.time(0), tzinfo=dt.UTC)
        stmt = stmt.where(
            or_(
                ArticleVersion.published >= since,
                and_(ArticleVersion.published.is_(None), Page.first_seen_at >= since_at),
            )
        )
    return stmt


def _version_changed(changes: Changes) -> Any:
    """The joined ArticleVersion (and its Capture) is a change."""
    if changes.since_run is not None:
        return Capture.run_id > changes.since_run
    if changes.changed_since is not None:
        return ArticleVersion.first_seen_at >= changes.changed_since
    return true()


def _cluster_changed(changes: Changes) -> Any:
    """The page's cluster (``Page.cluster_id``) changed."""
    if changes.since_run is not None:
        first_start = (
            select(func.min(Run.started_at)).where(Run.id > changes.since_run).scalar_subquery()
        )
        changed = select(ReprintCluster.id).where(ReprintCluster.updated_at >= first_start)
    elif changes.changed_since is not None:
        changed = select(ReprintCluster.id).where(
            ReprintCluster.updated_at >= changes.changed_since
        )
    else:
        return false()
    return Page.cluster_id.in_(changed)


def _stream(engine: Engine, stmt: Select[Any], table: str) -> Iterator[dict[str, Any]]:
    names = field_names(table)
    try:
        with engine.connect() as conn:
            # yield_per streams (a server-side cursor on PostgreSQL) instead of loading it all
            result = conn.execution_options(yield_per=BATCH_ROWS).execute(stmt)
            for row in result.mappings():
                record = {name: row[name] for name in names}
                if "published_clock" in record:
                    record["published_clock"] = clock(record["published_clock"])
                if "captions" in record:
                    record["captions"] = [str(c) for c in record["captions"] or ()]
                if "is_original" in record:
                    record["is_original"] = bool(record["is_original"])
                yield record
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc


def _read(engine: Engine, read: Any) -> Any:
    try:
        with engine.connect() as conn:
            return read(conn)
    except SQLAlchemyError as exc:
        raise _database_error(engine, exc) from exc


def _database_error(engine: Engine, exc: SQLAlchemyError) -> DatabaseError:
    return DatabaseError(f"database error on {db.display_url(engine.url)}: {db.short_reason(exc)}")
