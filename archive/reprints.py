"""Reprint clusters: the same article on several pages (reposts, mirrors, edited reposts).

When a page gets a new text, ``index_page`` (called by the store in the same transaction):

1. computes the MinHash signature of its zh-Hans text (``archive.similarity``) and looks its
   band keys up in ``lsh_band``: pages sharing a key are candidates;
2. drops the candidates whose stored signature (``minhash``) estimates a Jaccard similarity
   below ESTIMATE_FLOOR, then verifies the rest by the exact Jaccard similarity of the two
   texts' shingles (``find_reprints``);
3. replaces the page's band keys and signature with the new ones (in the lookup's statement);
4. puts the page and every verified match into one cluster: an existing one (the lowest id,
   merging the others into it) or a new one; then names the cluster's likely original.

The index lives in the archive database, so it survives restarts and every crawl process
shares it. A page stays in its cluster when a later edit moves its text away: a cluster records
that the pages carried one article, which stays true.

The likely original: a member whose site's name is the 来源 of another member (the reposting
site says where it took the text from); failing that, the earliest published member, then the
first seen.

Speed: this runs once per new text inside the crawl's write, so it is written with Core
statements on the session's connection (the ORM's unit of work and its identity-map
bookkeeping cost more than the queries themselves), a fixed number of round trips whatever the
number of candidates: one for a fresh article, three for a reprint (``archive.reprint_sql``).
``benchmarks/reprints_100k.py`` measures it at 100 k articles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, Row, bindparam, select
from sqlalchemy.orm import Session

from archive import reprint_sql
from archive.current import newest_version_no
from archive.models import (
    ArticleText,
    ArticleVersion,
    MinHashSignature,
    Page,
    ReprintCluster,
)
from archive.similarity import (
    NUM_PERM,
    Signature,
    fingerprint_text,
    is_reprint,
    shingles,
    signature,
)

# A candidate whose signatures agree on fewer than this share of values is not checked
# exactly. With NUM_PERM = 128 values the estimate's standard deviation is at most 0.044, so a
# pair at the reprint threshold (0.6) falls below 0.4 with odds of about 2 in a million; an
# unrelated candidate (shared band by chance, Jaccard ~0.1-0.3) is dropped without reading its
# text. A candidate without a stored signature (archived before it was kept) is always checked.
ESTIMATE_FLOOR = 0.4

_SIG = MinHashSignature.__table__
_PAGE = Page.__table__
_VERSION = ArticleVersion.__table__
_TEXT = ArticleText.__table__

_TEXTS = (
    select(_PAGE.c.id, _VERSION.c.title, _VERSION.c.title_hans, _TEXT.c.body, _TEXT.c.body_hans)
    .select_from(_PAGE)
    .join(
        _VERSION,
        (_VERSION.c.page_id == _PAGE.c.id) & (_VERSION.c.version_no == newest_version_no()),
    )
    .join(_TEXT, _TEXT.c.id == _VERSION.c.text_id)
    .where(_PAGE.c.id.in_(bindparam("ids", expanding=True)))
)


@dataclass
class Lookup:
    """What ``find_reprints`` found: the verified matches and how many pages it looked at."""

    matches: list[int] = field(default_factory=list)
    candidates: int = 0  # pages sharing a band key
    verified: int = 0  # candidates whose text was compared exactly
    # The rows of ``reprint_sql.members_and_texts`` (read when some candidate came close).
    members: list[Row[Any]] = field(default_factory=list)


def index_page(
    session: Session, page: Page, title_hans: str, body_hans: str, *, first_text: bool = False
) -> int | None:
    """Index the page's new text and cluster it with its reprints; the cluster id or None.

    ``first_text``: the page has had no text before, so it has no keys to replace (saves two
    statements on SQLite).
    """
    conn = session.connection()
    own = shingles(fingerprint_text(title_hans, body_hans))
    sig = signature(own)
    lookup = find_reprints(conn, page.id, own, sig, replace=not first_text)
    if not lookup.matches:
        return page.cluster_id
    return join_cluster(session, conn, page, lookup)


def find_reprints(
    conn: Connection, page_id: int, own: np.ndarray, sig: Signature, *, replace: bool = True
) -> Lookup:
    """The archived pages (other than ``page_id``) whose current text is a reprint of ``own``;
    the page's band keys and signature ``sig`` are stored in the same round trip.

    One statement finds the candidates with their signatures (and, on PostgreSQL, stores the
    page's keys); one more reads the texts of the candidates whose estimate reaches
    ESTIMATE_FLOOR, with the members of their clusters, when there are any.
    """
    keys = sig.band_keys()
    values = sig.hashvalues.astype("<u4", copy=False).tobytes()
    rows = reprint_sql.lookup_and_store(conn, page_id, keys, values, replace=replace)
    lookup = Lookup()
    stored = candidates_of(rows, page_id, keys)
    lookup.candidates = len(stored)
    close = close_candidates(sig, stored)
    if not close:
        return lookup
    lookup.verified = len(close)
    lookup.members = list(reprint_sql.members_and_texts(conn, [page_id], close))
    lookup.matches = verified_matches(own, close, lookup.members)
    return lookup


def candidates_of(
    rows: Sequence[Row[Any]], page_id: int, keys: list[int]
) -> dict[int, bytes | None]:
    """The pages other than ``page_id`` among the band rows ``rows`` that share one of
    ``keys`` in its own band, with their stored signatures."""
    stored: dict[int, bytes | None] = {}
    for pid, band, key, hashvalues in rows:
        # Keys hash their band's number in, but a key only counts in its own band.
        if pid != page_id and band < len(keys) and keys[band] == key:
            stored[pid] = hashvalues
    return stored


def close_candidates(sig: Signature, stored: dict[int, bytes | None]) -> list[int]:
    """The candidates whose signature estimate reaches ESTIMATE_FLOOR (or that have none)."""
    return sorted(
        pid
        for pid, hashvalues in stored.items()
        if hashvalues is None or _estimate(sig, hashvalues) >= ESTIMATE_FLOOR
    )


def verified_matches(own: np.ndarray, close: list[int], rows: Sequence[Row[Any]]) -> list[int]:
    """The ``close`` pages whose text (in ``rows`` of ``members_and_texts``) is a reprint."""
    texts = {
        row.id: (row[8] or row[7] or "", row.body_hans or row.body or "")
        for row in rows
        if row.body is not None
    }
    return [
        pid
        for pid in close
        if pid in texts and is_reprint(own, shingles(fingerprint_text(*texts[pid])))
    ]


def _estimate(sig: Signature, stored: bytes) -> float:
    values = np.frombuffer(stored, dtype="<u4")
    if values.shape != (NUM_PERM,):
        return 1.0  # made with other parameters: leave the decision to the exact check
    return float(np.count_nonzero(values == sig.hashvalues)) / NUM_PERM


def current_texts(conn: Connection, page_ids: list[int]) -> dict[int, tuple[str, str]]:
    """The zh-Hans (title, body) of each page's newest version, in one statement."""
    return {
        pid: (title_hans or title or "", body_hans or body or "")
        for pid, title, title_hans, body, body_hans in conn.execute(_TEXTS, {"ids": page_ids})
    }


def join_cluster(session: Session, conn: Connection, page: Page, lookup: Lookup) -> int:
    """Put the page and its matches into one cluster (the lowest existing one, merging the
    others into it, or a new one) and name the cluster's likely original; one statement."""
    joining = {page.id, *lookup.matches}
    by_id = {row.id: row for row in lookup.members}
    existing = sorted(
        {by_id[pid].cluster_id for pid in joining if pid in by_id} - {None}
        | ({page.cluster_id} if page.cluster_id is not None else set())
    )
    cluster_id, merged = (existing[0], existing[1:]) if existing else (None, [])
    members = [
        Member(row[0], *row[2:7])
        for row in lookup.members
        if row.id in joining or (row.cluster_id is not None and row.cluster_id in existing)
    ]
    cluster_id = reprint_sql.write_cluster(
        conn,
        cluster_id,
        merged,
        sorted(joining),
        size=len(members),
        original=likely_original(members),
        now=_now(),
    )
    # The statement above bypassed the session: what it holds of the pages moved and of the
    # clusters changed is stale (only those: a store's session can hold many pages).
    moved = {cluster_id, *merged}
    for key, obj in list(session.identity_map.items()):
        if isinstance(obj, Page):
            if key[1][0] in joining or obj.__dict__.get("cluster_id") in moved:
                session.expire(obj, ["cluster_id"])
        elif isinstance(obj, ReprintCluster) and key[1][0] in moved:
            session.expire(obj)
    return cluster_id


def reindex(engine: Engine, batch: int = 500) -> int:
    """Sign and cluster every archived page that has a version but no stored signature.

    For archives written before signatures were kept (revisions 0003 and 0004 add the index
    empty). Pages are indexed in page-id order, ``batch`` per transaction, so an interrupted
    run loses nothing and the next one carries on. Returns the number of pages indexed.
    """
    unsigned = (
        select(_PAGE.c.id)
        .where(select(_VERSION.c.id).where(_VERSION.c.page_id == _PAGE.c.id).exists())
        .where(~select(_SIG.c.page_id).where(_SIG.c.page_id == _PAGE.c.id).exists())
        .order_by(_PAGE.c.id)
    )
    with engine.connect() as conn:
        page_ids = list(conn.scalars(unsigned))
    for start in range(0, len(page_ids), batch):
        chunk = page_ids[start : start + batch]
        with Session(engine) as session, session.begin():
            texts = current_texts(session.connection(), chunk)
            for page_id in chunk:
                page = session.get_one(Page, page_id)
                index_page(session, page, *texts[page_id])
    return len(page_ids)


class Member:
    """What naming the original needs to know of one page of a cluster."""

    __slots__ = ("first_seen_at", "page_id", "published", "site_id", "site_name", "source")

    def __init__(
        self,
        page_id: int,
        site_id: str,
        site_name: str,
        source: str | None,
        published: dt.date | None,
        first_seen_at: dt.datetime,
    ) -> None:
        self.page_id, self.site_id, self.site_name = page_id, site_id, site_name
        self.source, self.published, self.first_seen_at = source, published, first_seen_at


def likely_original(members: list[Member]) -> int | None:
    """The page most likely first published (see the module docstring)."""
    if not members:
        return None

    def order(m: Member) -> tuple[dt.date, dt.datetime, int]:
        return (m.published or dt.date.max, m.first_seen_at, m.page_id)

    named = {
        m.site_id
        for m in members
        for other in members
        if other.site_id != m.site_id and other.source and _names(other.source, m.site_name)
    }
    pool = [m for m in members if m.site_id in named] or members
    return min(pool, key=order).page_id


def _names(source: str, site_name: str) -> bool:
    """Does a 来源 name this site? Compared in zh-Hans (a zh-Hant mirror writes 總工會)."""
    a, b = _hans(source), _hans(site_name)
    return bool(b) and (a == b or b in a)


@cache
def _hans(text: str) -> str:
    return "".join(_t2s().convert(text).split())


@cache
def _t2s():  # type: ignore[no-untyped-def]
    import opencc  # loaded when a cluster first has a 来源 to compare

    return opencc.OpenCC("t2s")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
