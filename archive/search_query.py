"""Reading the search index (archive.search): Chinese full-text search with filters.

``search`` answers as the web view's search page asks: the pages whose current version holds
every term of the query (bigram phrases, archive.bigrams), most recently archived first, a
page of hits at a time (``LIMIT``), the total counted up to ``COUNT_CAP``. Snippets are made
here in Python from the current body, as parts ``(text, marked)`` that a template escapes,
never from SQL.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, func, literal_column, select

from archive.bigrams import fts5_query, query_terms
from archive.models import ArticleText, ArticleVersion, Page, Site
from archive.search import SEARCH_TABLE, pg_doc, sqlite_doc

COUNT_CAP = 10_000  # "10000+" beyond: counting every match of 会 costs more than it tells
SNIPPET_CHARS = 48  # around the first match


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
        key = sqlite_doc.c.rowid
        where = literal_column(SEARCH_TABLE).op("MATCH")(expression)
        return select(key).select_from(sqlite_doc).where(where), key
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
    key = pg_doc.c.page_id
    return select(key).select_from(pg_doc).where(pg_doc.c.tsv.op("@@")(combined)), key


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
