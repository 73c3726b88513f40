"""Publish the archive as one SQLite file for datasette (and sqlite3, pandas, DuckDB ...).

``publish_sqlite(engine, out_path)`` reads the live archive (SQLite or PostgreSQL; it only
reads) and writes a new SQLite file: the archive's public tables with their foreign keys
declared (``reprint_cluster.original_page_id`` too), JSON columns as readable UTF-8 JSON
(``["座谈会现场"]``, not ``\\u5ea7...``), timestamps as ISO 8601 UTC text, what people ask
for (the table ``current_articles``, the views ``changes``, ``removals``, ``reprints``:
``archive.publish_views``), a full-text index that finds two-character Chinese words, and
next to it ``<name>.metadata.json``, datasette's
metadata describing every table, view and column (``archive.publish_schema``). Internal
tables (MinHash signatures, LSH band keys, owed pages, leases, Alembic's version) are left out.

Both files are written under temporary names beside their targets and renamed into place at
the end (``archive.export_target.staged``, as every export): a failed publication never leaves
half a file, and an old publication stays whole until the new one replaces it. A target that
is not a regular file (a folder, FIFO, device or symlink) is refused and left as it is.

``since_run`` / ``changed_since`` publish only what changed: the article versions made by
runs after ``since_run`` or first seen on or after ``changed_since`` (both: both), with their
pages, texts, captures, runs and reprint clusters; ``current_articles`` then holds the newest
version of each page in the file.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, Column, Date, Engine, Select, Table, select, union
from sqlalchemy.exc import DBAPIError
from sqlalchemy.types import BigInteger, Integer, LargeBinary, SmallInteger

from archive import db
from archive.bigrams import bigram_tokens, to_hans
from archive.errors import DatabaseError, StorageError
from archive.export_target import staged
from archive.models import ArticleVersion, Base, Capture, Page, UtcDateTime
from archive.publish_schema import EXTRA_FOREIGN_KEYS, TABLES, datasette_metadata
from archive.publish_views import (
    CURRENT_INDEXES,
    CURRENT_TABLE,
    FTS_COLUMNS,
    FTS_TABLE,
    VIEWS,
    current_articles_sql,
)

BATCH_ROWS = 1000
# Lookups a datasette user makes (a page's versions, a site's pages, links between tables).
INDEXES = (
    "CREATE UNIQUE INDEX ix_article_version_page ON article_version (page_id, version_no)",
    "CREATE INDEX ix_article_version_text ON article_version (text_id)",
    "CREATE INDEX ix_page_site ON page (site_id)",
    "CREATE INDEX ix_page_cluster ON page (cluster_id)",
    "CREATE INDEX ix_capture_page ON capture (page_id)",
    "CREATE INDEX ix_capture_run ON capture (run_id)",
    "CREATE INDEX ix_run_site ON run (site_id)",
)


def publish_sqlite(
    engine: Engine,
    out_path: Path | str,
    since_run: int | None = None,
    changed_since: dt.date | dt.datetime | None = None,
) -> dict[str, int]:
    """Write the publication to ``out_path`` and its metadata beside it; return row counts
    per table and view, ``articles_fts`` (articles indexed) and ``bytes`` (file size).

    Raises StorageError (unwritable target) or DatabaseError, each with a one-line message.
    """
    out = Path(out_path)
    with staged([out, metadata_path(out)]) as (tmp, meta_tmp):
        try:
            conn = sqlite3.connect(tmp)
            try:
                counts, columns = _write(engine, conn, _selection(since_run, changed_since))
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot write {out}: {exc}") from exc
        meta = datasette_metadata(out.stem, columns)
        meta_tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", "utf-8")
    counts["bytes"] = out.stat().st_size
    return counts


def metadata_path(out: Path) -> Path:
    """``public.sqlite3`` -> ``public.metadata.json`` (datasette names the database
    ``public`` after the file's stem; the metadata's database key is that stem)."""
    return out.with_name(f"{out.stem}.metadata.json")


# -- what to publish ---------------------------------------------------------------------------


def _selection(
    since_run: int | None, changed_since: dt.date | dt.datetime | None
) -> dict[str, Select[Any] | None]:
    """Per table, the ids to publish (a SELECT of ids), or None for every row."""
    if since_run is None and changed_since is None:
        return dict.fromkeys(TABLES)
    versions = select(ArticleVersion.id).join(Capture, Capture.id == ArticleVersion.capture_id)
    if since_run is not None:
        versions = versions.where(Capture.run_id > since_run)
    if changed_since is not None:
        if not isinstance(changed_since, dt.datetime):
            changed_since = dt.datetime.combine(changed_since, dt.time(0), tzinfo=dt.UTC)
        versions = versions.where(ArticleVersion.first_seen_at >= changed_since)
    av = ArticleVersion.__table__.c
    chosen = av.id.in_(versions)
    pages = select(av.page_id).where(chosen)
    clusters = select(Page.cluster_id).where(Page.id.in_(pages), Page.cluster_id.is_not(None))
    originals = select(Base.metadata.tables["reprint_cluster"].c.original_page_id).where(
        Base.metadata.tables["reprint_cluster"].c.id.in_(clusters)
    )
    captures = union(select(av.capture_id).where(chosen), select(av.last_capture_id).where(chosen))
    runs = select(Capture.run_id).where(Capture.id.in_(captures))
    return {
        "site": None,
        "run": runs,
        "page": union(pages, originals),
        "article_text": select(av.text_id).where(chosen),
        "reprint_cluster": clusters,
        "capture": captures,
        "article_version": versions,
    }


# -- writing -----------------------------------------------------------------------------------


def _write(
    engine: Engine, conn: sqlite3.Connection, selection: dict[str, Select[Any] | None]
) -> tuple[dict[str, int], dict[str, list[str]]]:
    conn.execute("PRAGMA journal_mode = OFF")  # a temp file: renamed only once complete
    conn.execute("PRAGMA synchronous = OFF")
    counts: dict[str, int] = {}
    columns: dict[str, list[str]] = {}
    try:
        with engine.connect() as source:
            # One snapshot for every table, so that a crawl writing meanwhile cannot leave a
            # version pointing at a capture not copied: a WAL read transaction on SQLite
            # (archive.db begins it), REPEATABLE READ on PostgreSQL.
            if engine.dialect.name == "postgresql":
                source = source.execution_options(isolation_level="REPEATABLE READ")
            for name in TABLES:
                table = Base.metadata.tables[name]
                conn.execute(_create_table(table))
                columns[name] = [col.name for col in table.columns]
                counts[name] = _copy(source, conn, table, selection[name])
    except DBAPIError as exc:
        url = db.display_url(engine.url)
        raise DatabaseError(f"database error on {url}: {db.short_reason(exc)}") from exc
    for statement in (*INDEXES, *current_articles_sql(), *CURRENT_INDEXES):
        conn.execute(statement)
    columns[CURRENT_TABLE] = [row[1] for row in conn.execute(f"PRAGMA table_info({CURRENT_TABLE})")]
    counts[CURRENT_TABLE] = conn.execute(f"SELECT count(*) FROM {CURRENT_TABLE}").fetchone()[0]
    for name, (_description, sql, _columns) in VIEWS.items():
        conn.execute(f"CREATE VIEW {name} AS {sql}")
        columns[name] = [row[1] for row in conn.execute(f"PRAGMA table_info({name})")]
        counts[name] = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    counts[FTS_TABLE] = _index_text(conn)
    conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    return counts, columns


def _create_table(table: Table) -> str:
    parts = []
    for col in table.columns:
        decl = f'"{col.name}" {_sqlite_type(col)}'
        if col.primary_key and len(table.primary_key.columns) == 1:
            decl += " PRIMARY KEY"
        elif not col.nullable:
            decl += " NOT NULL"
        target = next((fk.column.table.name for fk in col.foreign_keys), None)
        target = target or EXTRA_FOREIGN_KEYS.get((table.name, col.name))
        if target:
            decl += f' REFERENCES "{target}" (id)'
        parts.append(decl)
    if len(table.primary_key.columns) > 1:
        keys = ", ".join(f'"{c.name}"' for c in table.primary_key.columns)
        parts.append(f"PRIMARY KEY ({keys})")
    return f'CREATE TABLE "{table.name}" (\n  ' + ",\n  ".join(parts) + "\n)"


def _sqlite_type(col: Column[Any]) -> str:
    if isinstance(col.type, Integer | BigInteger | SmallInteger):
        return "INTEGER"
    if isinstance(col.type, LargeBinary):
        return "BLOB"
    return "TEXT"  # strings, ISO dates and timestamps, JSON


def _copy(source: Any, conn: sqlite3.Connection, table: Table, ids: Select[Any] | None) -> int:
    stmt = select(table).order_by(*table.primary_key.columns)
    if ids is not None:
        stmt = stmt.where(table.c.id.in_(ids))
    converters = [_converter(col) for col in table.columns]
    names = ", ".join(f'"{col.name}"' for col in table.columns)
    insert = f'INSERT INTO "{table.name}" ({names}) VALUES ({", ".join("?" * len(converters))})'
    count = 0
    result = source.execution_options(yield_per=BATCH_ROWS).execute(stmt)
    for batch in result.partitions():
        conn.executemany(insert, [_convert(row, converters) for row in batch])
        count += len(batch)
    return count


def _convert(row: Any, converters: list[Any]) -> tuple[Any, ...]:
    return tuple(
        value if conv is None else conv(value) for conv, value in zip(converters, row, strict=True)
    )


def _converter(col: Column[Any]) -> Any:
    if isinstance(col.type, UtcDateTime):
        return _timestamp
    if isinstance(col.type, Date):
        return lambda value: None if value is None else value.isoformat()
    if isinstance(col.type, JSON):
        return lambda value: None if value is None else json.dumps(value, ensure_ascii=False)
    return None


def _timestamp(value: dt.datetime | None) -> str | None:
    """``2024-05-01T08:00:00Z``: ISO 8601 in UTC, as the JSONL export writes it."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# -- full text ---------------------------------------------------------------------------------


def _index_text(conn: sqlite3.Connection) -> int:
    """Index every current article (rowid = page id) as bigrams; return how many."""
    cols = ", ".join(FTS_COLUMNS)
    conn.execute(f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5({cols}, content='')")
    rows = conn.execute(
        "SELECT page_id, title, title_hans, body, body_hans, source, script "
        "FROM current_articles ORDER BY page_id"
    )
    insert = f"INSERT INTO {FTS_TABLE} (rowid, {cols}) VALUES (?, ?, ?, ?)"
    count = 0
    for batch in iter(lambda: rows.fetchmany(BATCH_ROWS), []):
        conn.executemany(insert, [_tokens(*row) for row in batch])
        count += len(batch)
    return count


def _tokens(
    page_id: int,
    title: str,
    title_hans: str | None,
    body: str,
    body_hans: str | None,
    source: str | None,
    script: str | None,
) -> tuple[Any, ...]:
    """Bigrams of the zh-Hans reading, then of the text as published where it differs (so a
    query in the page's own traditional script finds it too)."""
    source_hans = to_hans(source) if source and script == "hant" else source
    return (
        page_id,
        _both(title_hans or title, title),
        _both(body_hans or body, body),
        _both(source_hans, source),
    )


def _both(hans: str | None, original: str | None) -> str:
    tokens = bigram_tokens(hans)
    if original and original != hans:
        tokens = f"{tokens} {bigram_tokens(original)}".strip()
    return tokens
