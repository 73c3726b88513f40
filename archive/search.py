"""The live archive's full-text search: title, body and 来源 of every page's current version.

One row per article page in ``search_doc``, keyed by the page id, holding the page's text as
overlapping character bigrams of its zh-Hans reading (``archive.bigrams``): two-character
words (工会, 劳模) are found inside any run of Chinese, and a zh-Hans query finds a zh-Hant
page. SQLite: an FTS5 table (default ``unicode61`` tokenizer, which sees each bigram as a
word), ``rowid`` = page id. PostgreSQL: ``tsv tsvector`` of ``to_tsvector('simple', tokens)``
with a GIN index, queried with phrase tsqueries.

The store keeps it current (``index_version`` in ``Archive.record_article`` whenever a new
version is flushed; a removal keeps the text, so the row stays as it is); revision 0007 builds
it for archives made before. It is not in ``archive.models`` (an FTS5 table is no SQLAlchemy
table): ``include_name`` keeps the schema comparison off it.

Reading it, with filters and snippets: ``archive.search_query``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    column,
    func,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from archive.bigrams import bigram_tokens, to_hans
from archive.models import ArticleText, ArticleVersion
from archive.records import ArticleFields

SEARCH_TABLE = "search_doc"

sqlite_doc = table(SEARCH_TABLE, column("rowid"), column("tokens"))
pg_doc = table(SEARCH_TABLE, column("page_id"), column("tsv"))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic's schema comparison: the search tables (FTS5's shadow tables too) are ours."""
    return not (type_ == "table" and name is not None and name.startswith(SEARCH_TABLE))


# -- writing -------------------------------------------------------------------------------------


def create(conn: Connection) -> None:
    """Create the (empty) index on this connection's database."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(tokens)")
    else:
        conn.exec_driver_sql(
            f"CREATE TABLE {SEARCH_TABLE} (page_id INTEGER PRIMARY KEY "
            "REFERENCES page(id), tsv TSVECTOR NOT NULL)"
        )
        conn.exec_driver_sql(
            f"CREATE INDEX ix_{SEARCH_TABLE}_tsv ON {SEARCH_TABLE} USING GIN (tsv)"
        )


def drop(conn: Connection) -> None:
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")


def document_tokens(title: str, body: str, source: str | None, script: str | None) -> str:
    """What is indexed for a version: its zh-Hans title and body (the caller's readings) and
    its 来源, read as zh-Hans when the page is zh-Hant."""
    if source and script == "hant":
        source = to_hans(source)
    return bigram_tokens("\n".join(part for part in (title, body, source) if part))


def index_version(session: Session, page_id: int, fields: ArticleFields) -> None:
    """The page's new current version replaces its row in the index (same transaction)."""
    index_many(session.connection(), [(page_id, fields)])


def index_many(conn: Connection, versions: Iterable[tuple[int, ArticleFields]]) -> None:
    """``index_version`` for a batch of (page id, new current version): two statements."""
    rows = [
        (page_id, document_tokens(f.hans_title, f.hans_body, f.source, f.script))
        for page_id, f in versions
    ]
    _write(conn, rows)


def _write(conn: Connection, rows: Sequence[tuple[int, str]]) -> None:
    if not rows:
        return
    params = [{"id": page_id, "tokens": tokens} for page_id, tokens in rows]
    if conn.dialect.name == "sqlite":
        conn.execute(text(f"DELETE FROM {SEARCH_TABLE} WHERE rowid = :id"), params)
        conn.execute(
            text(f"INSERT INTO {SEARCH_TABLE} (rowid, tokens) VALUES (:id, :tokens)"), params
        )
    else:
        conn.execute(
            text(
                f"INSERT INTO {SEARCH_TABLE} (page_id, tsv) "
                "VALUES (:id, to_tsvector('simple', :tokens)) "
                "ON CONFLICT (page_id) DO UPDATE SET tsv = excluded.tsv"
            ),
            params,
        )


def rebuild(conn: Connection, batch: int = 2000) -> int:
    """Index the current version of every article page (revision 0007, the benchmark);
    returns how many. Streams the archive in batches of ``batch`` pages."""
    newest = (
        select(ArticleVersion.page_id, func.max(ArticleVersion.version_no).label("no"))
        .group_by(ArticleVersion.page_id)
        .subquery()
    )
    stmt = (
        select(
            ArticleVersion.page_id,
            func.coalesce(ArticleVersion.title_hans, ArticleVersion.title),
            func.coalesce(ArticleText.body_hans, ArticleText.body),
            ArticleVersion.source,
            ArticleVersion.script,
        )
        .join(
            newest,
            and_(
                newest.c.page_id == ArticleVersion.page_id, newest.c.no == ArticleVersion.version_no
            ),
        )
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .order_by(ArticleVersion.page_id)
    )
    done = 0
    rows: list[tuple[int, str]] = []
    for page_id, title, body, source, script in conn.execute(stmt).all():
        rows.append((page_id, document_tokens(title, body, source, script)))
        if len(rows) >= batch:
            _write(conn, rows)
            done, rows = done + len(rows), []
    _write(conn, rows)
    return done + len(rows)


__all__ = [
    "SEARCH_TABLE",
    "create",
    "document_tokens",
    "drop",
    "include_name",
    "index_many",
    "index_version",
    "rebuild",
]
