"""The reprint index for a batch of new articles: what ``reprints.index_page`` does for one page,
with the database work of the whole batch in a fixed number of statements.

The crawl stores its pages in batches (``archive.store_batch``); most of a night's new texts
are fresh articles, for which ``index_page`` is one round trip (its lookup-and-store
statement) and a reprint three. On PostgreSQL a round trip and the statement's planning cost
more than the lookup itself (measured at 100 k articles: 1.2-1.4 ms a statement, of which
0.7 ms is the server's execution and 0.26 ms its planning), so a batch of pages is indexed with:

1. one lookup-and-store statement for the keys and signatures of all its pages
   (``reprint_sql.lookup_and_store_many``);
2. one read of the texts and cluster members of every page's close candidates, when any page
   has some;
3. the cluster write of each page that has verified reprints, one statement each, in order.

The pages of one such statement do not see each other (every key is read before any is
stored), and a page can only be another's reprint when they share a band key. So the batch is
indexed in rounds (``_rounds``): a page goes one round after the last earlier page of the batch
it shares a key with. Within a round no two pages share a key; each page sees every earlier
page that could be its reprint, stored by an earlier round, as ``index_page`` page by page
would: the clusters come out the same. A batch of fresh articles is one round; articles
reprinted within their batch (common when sites repost the same release the same night) add
one round per generation, not one per page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, Row
from sqlalchemy.orm import Session

from archive import reprint_sql
from archive.reprints import (
    Lookup,
    candidates_of,
    close_candidates,
    find_reprints,
    join_cluster,
    verified_matches,
)
from archive.similarity import Signature, fingerprint_text, shingles, signature


class PageRef:
    """The two fields of a page the reprint index reads, for a page without an ORM object."""

    __slots__ = ("cluster_id", "id")

    def __init__(self, page_id: int, cluster_id: int | None = None) -> None:
        self.id, self.cluster_id = page_id, cluster_id


@dataclass(slots=True)
class _Signed:
    page: PageRef
    own: np.ndarray
    sig: Signature
    keys: list[int]
    close: list[int]


def index_new_pages(
    session: Session, pages: Sequence[tuple[PageRef, str, str]]
) -> list[int | None]:
    """Index the first text of each page, (page, title_hans, body_hans), and cluster it with
    its reprints; each page's cluster id or None."""
    signed = []
    for page, title, body in pages:
        own = shingles(fingerprint_text(title, body))
        sig = signature(own)
        signed.append(_Signed(page, own, sig, sig.band_keys(), []))
    conn = session.connection()
    for round_ in _rounds(signed):
        if len(round_) > 1:
            _index_together(session, conn, round_)
        else:
            _index_one(session, conn, round_[0])
    return [item.page.cluster_id for item in signed]


def _rounds(signed: list[_Signed]) -> list[list[_Signed]]:
    """The batch in rounds, in order: each page one round after the last earlier page of the
    batch it shares a band key with (round 0 if none), so no two pages of a round share a key."""
    last_round: dict[int, int] = {}  # band key -> the latest round holding a page with it
    rounds: list[list[_Signed]] = []
    for item in signed:
        level = 1 + max((last_round.get(key, -1) for key in item.keys), default=-1)
        if level == len(rounds):
            rounds.append([])
        rounds[level].append(item)
        for key in item.keys:
            last_round[key] = level
    return rounds


def _index_together(session: Session, conn: Connection, signed: list[_Signed]) -> None:
    """Index pages that share no band key with each other in a fixed number of statements."""
    rows = reprint_sql.lookup_and_store_many(
        conn,
        [(s.page.id, s.keys, s.sig.hashvalues.astype("<u4", copy=False).tobytes()) for s in signed],
    )
    owner = {key: item for item in signed for key in item.keys}
    mine: dict[int, list[Row[Any]]] = {}
    for row in rows:
        mine.setdefault(id(owner[row.key]), []).append(row)
    for item in signed:
        item.close = close_candidates(
            item.sig, candidates_of(mine.get(id(item), []), item.page.id, item.keys)
        )
    close = sorted({pid for item in signed for pid in item.close})
    if not close:
        return
    with_close = [item.page.id for item in signed if item.close]
    members = list(reprint_sql.members_and_texts(conn, with_close, close))
    touched: set[int] = set()  # pages whose cluster a join of this batch changed
    for item in signed:
        if not item.close:
            continue
        own_rows = _members_of(members, [item.page.id, *item.close])
        if touched & {row.id for row in own_rows}:  # read again what an earlier join changed
            own_rows = list(reprint_sql.members_and_texts(conn, [item.page.id], item.close))
        matches = verified_matches(item.own, item.close, own_rows)
        if matches:
            lookup = Lookup(matches, verified=len(item.close), members=own_rows)
            item.page.cluster_id = join_cluster(session, conn, item.page, lookup)
            touched |= {item.page.id, *matches, *(row.id for row in own_rows)}


def _index_one(session: Session, conn: Connection, item: _Signed) -> int | None:
    """``reprints.index_page`` for a page whose signature is made already."""
    lookup = find_reprints(conn, item.page.id, item.own, item.sig, replace=False)
    if not lookup.matches:
        return item.page.cluster_id
    item.page.cluster_id = join_cluster(session, conn, item.page, lookup)
    return item.page.cluster_id


def _members_of(rows: list[Row[Any]], ids: list[int]) -> list[Row[Any]]:
    """The rows of the pages ``ids`` and of every member of their clusters."""
    wanted = set(ids)
    clusters = {row.cluster_id for row in rows if row.id in wanted} - {None}
    return [row for row in rows if row.id in wanted or row.cluster_id in clusters]
