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

Queries are bounded: a page of results (``LIMIT``), a total counted up to ``COUNT_CAP``.
Snippets are made here in Python from the current body, as parts ``(text, marked)`` that a
template escapes, never from SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Connection,
    and_,
    column,
    func,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from archive.bigrams import bigram_tokens, fts5_query, query_terms, to_hans
from archive.models import ArticleText, ArticleVersion, Page, Site
from archive.records import ArticleFields

SEARCH_TABLE = "search_doc"
COUNT_CAP = 10_000  # "10000+" beyond: counting every match of 会 costs more than it tells
SNIPPET_CHARS = 48  # around the first match

_sqlite_doc = table(SEARCH_TABLE, column("rowid"), column("tokens"))
_pg_doc = table(SEARCH_TABLE, column("page_id"), column("tsv"))


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


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchFilters:
    site_id: str | None = None
    date_from: dt.date | None = None  # publication date, inclusive
    date_to: dt.date | None = None
    source: str | None = None  # 来源 contains
    removed: bool | None = None  # True: only removed pages; False: only live ones
    reprinted: bool | None = None  # True: only pages in a reprint cluster


@dataclass(frozen=True, slots=True)
class SearchHit:
    page_id: int
    site_id: str
    site_name: str
    url: str
    title: str
    published: dt.date | None
    source: str | None
    removed: bool
    cluster_id: int | None
    snippet: list[tuple[str, bool]]  # (text, marked)


@dataclass(frozen=True, slots=True)
class SearchResult:
    query: str
    total: int  # capped at COUNT_CAP (then ``more`` is True)
    more: bool
    hits: list[SearchHit] = field(default_factory=list)


def search(
    conn: Connection,
    query: str,
    filters: SearchFilters = SearchFilters(),
    *,
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Pages whose current version holds every term of ``query``, most recently archived
    first; empty when the query has nothing to search for."""
    found = _matched(conn, query)
    if found is None:
        return SearchResult(query, 0, False)
    # Rows come straight from the index in page-id order (FTS5 walks its doclist backwards;
    # PostgreSQL reads the GIN bitmap), joined to page / the current version only when a
    # filter needs them: a page of 20 hits stops after 20 matches.
    base, key = found
    f = filters
    if any((f.site_id, f.removed is not None, f.reprinted is not None, _needs_version(f))):
        # SQLite: ``+ 0`` keeps the planner from driving the join from page (an index on
        # site_id) and probing the FTS table once per page, 100x slower than walking the
        # matches and looking each page up by its key.
        base = base.join(Page, Page.id == (key + 0 if conn.dialect.name == "sqlite" else key))
    if _needs_version(filters):
        base = base.join(
            ArticleVersion,
            and_(
                ArticleVersion.page_id == Page.id,
                ArticleVersion.version_no
                == select(func.max(ArticleVersion.version_no))
                .where(ArticleVersion.page_id == Page.id)
                .correlate(Page)
                .scalar_subquery(),
            ),
        )
    base = _filtered(base, filters)
    counted = conn.execute(
        select(func.count()).select_from(base.limit(COUNT_CAP + 1).subquery())
    ).scalar_one()
    ids = list(
        conn.scalars(base.order_by(key.desc()).limit(max(1, min(limit, 100))).offset(offset))
    )
    hits = _hits(conn, ids, query) if ids else []
    return SearchResult(query, min(counted, COUNT_CAP), counted > COUNT_CAP, hits)


def _needs_version(f: SearchFilters) -> bool:
    return bool(f.date_from or f.date_to or f.source)


def _matched(conn: Connection, query: str) -> tuple[Any, Any] | None:
    """(SELECT page id FROM the index WHERE it matches, the page id column)."""
    if conn.dialect.name == "sqlite":
        expression = fts5_query(query)
        if expression is None:
            return None
        key = _sqlite_doc.c.rowid
        where = literal_column(SEARCH_TABLE).op("MATCH")(expression)
        return select(key).select_from(_sqlite_doc).where(where), key
    terms = query_terms(query)
    if not terms:
        return None
    simple = literal_column("'simple'::regconfig")
    tsqueries = []
    for tokens in terms:
        if len(tokens) == 1 and len(tokens[0]) == 1:  # one character: a prefix, as on SQLite
            tsqueries.append(func.to_tsquery(simple, _quote_lexeme(tokens[0]) + ":*"))
        else:
            tsqueries.append(func.phraseto_tsquery(simple, " ".join(tokens)))
    combined = tsqueries[0]
    for more in tsqueries[1:]:
        combined = combined.op("&&")(more)
    key = _pg_doc.c.page_id
    return select(key).select_from(_pg_doc).where(_pg_doc.c.tsv.op("@@")(combined)), key


def _quote_lexeme(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _filtered(stmt: Any, f: SearchFilters) -> Any:
    if f.site_id:
        stmt = stmt.where(Page.site_id == f.site_id)
    if f.date_from:
        stmt = stmt.where(ArticleVersion.published >= f.date_from)
    if f.date_to:
        stmt = stmt.where(ArticleVersion.published <= f.date_to)
    if f.source:
        stmt = stmt.where(ArticleVersion.source.contains(f.source, autoescape=True))
    if f.removed is not None:
        stmt = stmt.where(Page.removed_at.is_not(None) if f.removed else Page.removed_at.is_(None))
    if f.reprinted is not None:
        stmt = stmt.where(
            Page.cluster_id.is_not(None) if f.reprinted else Page.cluster_id.is_(None)
        )
    return stmt


def _hits(conn: Connection, ids: list[int], query: str) -> list[SearchHit]:
    newest = (
        select(func.max(ArticleVersion.version_no))
        .where(ArticleVersion.page_id == Page.id)
        .correlate(Page)
        .scalar_subquery()
    )
    stmt = (
        select(
            Page.id,
            Page.site_id,
            Site.name,
            Page.url,
            ArticleVersion.title,
            ArticleVersion.published,
            ArticleVersion.source,
            Page.removed_at,
            Page.cluster_id,
            ArticleText.body,
            ArticleText.body_hans,
        )
        .join(Site, Site.id == Page.site_id)
        .join(
            ArticleVersion,
            and_(ArticleVersion.page_id == Page.id, ArticleVersion.version_no == newest),
        )
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .where(Page.id.in_(ids))
    )
    words = query_words(query)
    by_id = {}
    for (
        pid,
        site,
        name,
        url,
        title,
        published,
        source,
        removed_at,
        cluster,
        body,
        hans,
    ) in conn.execute(stmt):
        by_id[pid] = SearchHit(
            pid,
            site,
            name,
            url,
            title,
            published,
            source,
            removed_at is not None,
            cluster,
            snippet(body, hans, words),
        )
    return [by_id[i] for i in ids if i in by_id]


def query_words(query: str) -> list[str]:
    """The query's terms as the strings to mark in a text (zh-Hans): 劳动模范, 工会, wto."""
    words = []
    for tokens in query_terms(query):
        words.append(tokens[0] + "".join(t[-1] for t in tokens[1:]))
    return words


def snippet(
    body: str, body_hans: str | None, words: Iterable[str], width: int = SNIPPET_CHARS
) -> list[tuple[str, bool]]:
    """A passage of the body around the first match, as ``(text, marked)`` parts.

    Marked in the text as published when a word is found there, else in the zh-Hans reading
    (a zh-Hant page found by a zh-Hans query). No match in the body (the title or 来源
    matched): its opening.
    """
    words = [w for w in words if w]
    pattern = (
        re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.I)
        if words
        else None
    )
    chosen, first = body, None
    for candidate in (body, body_hans):
        if candidate and pattern is not None:
            found = pattern.search(candidate)
            if found:
                chosen, first = candidate, found
                break
    if first is None:
        head = body[: width * 2]
        return [(head + ("…" if len(body) > len(head) else ""), False)]
    start = max(0, first.start() - width // 2)
    end = min(len(chosen), start + width * 2)
    window = chosen[start:end]
    parts: list[tuple[str, bool]] = [("…", False)] if start else []
    at = 0
    assert pattern is not None
    for found in pattern.finditer(window):
        if found.start() > at:
            parts.append((window[at : found.start()], False))
        parts.append((found.group(0), True))
        at = found.end()
    if at < len(window):
        parts.append((window[at:], False))
    if end < len(chosen):
        parts.append(("…", False))
    return parts


__all__ = [
    "COUNT_CAP",
    "SEARCH_TABLE",
    "SearchFilters",
    "SearchHit",
    "SearchResult",
    "create",
    "include_name",
    "index_many",
    "index_version",
    "rebuild",
    "search",
    "snippet",
]
