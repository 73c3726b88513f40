"""The reprint index's statements (``archive.reprints`` decides, this module reads and writes).

Indexing a reprint takes three round trips to the database, a fresh article one (a batch of
fresh articles one together, ``lookup_and_store_many``):

1. ``lookup_and_store``: the candidates (pages sharing a band key, with their signatures) read,
   and the page's own band keys and signature written;
2. ``members_and_texts``, only when a candidate's estimate comes close: the texts of those
   candidates, and who is in their clusters and the page's (what naming the original needs);
3. ``write_cluster``, only when a reprint was verified: the cluster made or merged, its pages
   moved, its size and original set.

On PostgreSQL every statement is a round trip (0.2 ms here), so steps 1 and 3 are each one
statement: data-modifying CTEs, ``unnest`` of the keys and ``INSERT ... ON CONFLICT``. SQLite
runs in the process, where a statement costs microseconds: it keeps the plain portable Core
statements (SQLite has no data-modifying CTE).

Every statement is built once, here, with bound parameters: building a SELECT with an alias and
joins costs more Python time than SQLite takes to run it (measured: 1.5 ms of 2.8 ms per new
article went to constructing statements).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    LargeBinary,
    Row,
    and_,
    bindparam,
    case,
    delete,
    insert,
    or_,
    select,
    text,
    union,
    update,
)

from archive.current import newest_version_no
from archive.models import (
    ArticleText,
    ArticleVersion,
    LshBand,
    MinHashSignature,
    Page,
    ReprintCluster,
    Site,
    UtcDateTime,
)

_BAND = LshBand.__table__
_SIG = MinHashSignature.__table__
_PAGE = Page.__table__
_CLUSTER = ReprintCluster.__table__
_VERSION = ArticleVersion.__table__
_TEXT = ArticleText.__table__
_SITE = Site.__table__

# -- step 1: candidates, and the page's keys stored ---------------------------------------------

_CANDIDATES = (
    select(_BAND.c.page_id, _BAND.c.band, _BAND.c.key, _SIG.c.hashvalues)
    .select_from(_BAND)
    .outerjoin(_SIG, _SIG.c.page_id == _BAND.c.page_id)
    .where(_BAND.c.key.in_(bindparam("keys", expanding=True)))
)
_DROP_BANDS = delete(_BAND).where(_BAND.c.page_id == bindparam("pid"))
_DROP_SIG = delete(_SIG).where(_SIG.c.page_id == bindparam("pid"))
_ADD_BANDS = insert(_BAND)
_ADD_SIG = insert(_SIG)

# The sub-statements of one statement share its snapshot: the SELECT sees the archive as it was
# before this page's new keys (its old keys, if any, are dropped by the caller like any other
# candidate of its own). Bands the new text no longer has (an empty text has none) are deleted.
_PG_LOOKUP_AND_STORE = text(
    """
    WITH gone AS (
        DELETE FROM lsh_band WHERE page_id = :pid AND band >= :bands
    ), added AS (
        INSERT INTO lsh_band (page_id, band, key)
        SELECT :pid, k.ord - 1, k.key
        FROM unnest(CAST(:keys AS BIGINT[])) WITH ORDINALITY AS k (key, ord)
        ON CONFLICT (page_id, band) DO UPDATE SET key = EXCLUDED.key
    ), signed AS (
        INSERT INTO minhash (page_id, hashvalues) VALUES (:pid, :hashvalues)
        ON CONFLICT (page_id) DO UPDATE SET hashvalues = EXCLUDED.hashvalues
    )
    SELECT b.page_id, b.band, b.key, m.hashvalues
    FROM lsh_band AS b LEFT JOIN minhash AS m ON m.page_id = b.page_id
    WHERE b.key = ANY (CAST(:keys AS BIGINT[]))
    """
).bindparams(bindparam("hashvalues", type_=LargeBinary()))


def lookup_and_store(
    conn: Connection, page_id: int, keys: list[int], hashvalues: bytes, *, replace: bool
) -> Sequence[Row[Any]]:
    """(page_id, band, key, hashvalues) of every band row sharing one of ``keys`` (the page's
    own old rows included), read before the page's ``keys`` and signature are stored.

    ``replace``: the page may have keys already (saves two statements on SQLite when not)."""
    if conn.dialect.name == "postgresql":
        params = {"pid": page_id, "bands": len(keys), "keys": keys, "hashvalues": hashvalues}
        return conn.execute(_PG_LOOKUP_AND_STORE, params).all()
    rows = conn.execute(_CANDIDATES, {"keys": keys}).all() if keys else []
    if replace:
        conn.execute(_DROP_BANDS, {"pid": page_id})
        conn.execute(_DROP_SIG, {"pid": page_id})
    if keys:
        conn.execute(
            _ADD_BANDS, [{"page_id": page_id, "band": b, "key": k} for b, k in enumerate(keys)]
        )
    conn.execute(_ADD_SIG, {"page_id": page_id, "hashvalues": hashvalues})
    return rows


# The same for a batch of pages that had no text before (``archive.reprint_batch``): one
# statement whatever the number of pages, their keys and signatures stored from arrays.
_PG_LOOKUP_AND_STORE_MANY = text(
    """
    WITH added AS (
        INSERT INTO lsh_band (page_id, band, key)
        SELECT k.page_id, k.band, k.key
        FROM unnest(
            CAST(:key_pids AS INTEGER[]), CAST(:key_bands AS SMALLINT[]),
            CAST(:keys AS BIGINT[])
        ) AS k (page_id, band, key)
        ON CONFLICT (page_id, band) DO UPDATE SET key = EXCLUDED.key
    ), signed AS (
        INSERT INTO minhash (page_id, hashvalues)
        SELECT s.page_id, s.hashvalues
        FROM unnest(CAST(:pids AS INTEGER[]), CAST(:signatures AS BYTEA[]))
            AS s (page_id, hashvalues)
        ON CONFLICT (page_id) DO UPDATE SET hashvalues = EXCLUDED.hashvalues
    )
    SELECT b.page_id, b.band, b.key, m.hashvalues
    FROM lsh_band AS b LEFT JOIN minhash AS m ON m.page_id = b.page_id
    WHERE b.key = ANY (CAST(:keys AS BIGINT[]))
    """
)


def lookup_and_store_many(
    conn: Connection, pages: Sequence[tuple[int, list[int], bytes]]
) -> Sequence[Row[Any]]:
    """``lookup_and_store`` for several pages that have no keys yet, (page_id, keys,
    hashvalues) each, in one statement: the band rows sharing any of their keys, read before
    any of theirs is stored (so the pages never see each other)."""
    keys = [key for _, page_keys, _ in pages for key in page_keys]
    if conn.dialect.name == "postgresql":
        params = {
            "key_pids": [pid for pid, page_keys, _ in pages for _ in page_keys],
            "key_bands": [band for _, page_keys, _ in pages for band in range(len(page_keys))],
            "keys": keys,
            "pids": [pid for pid, _, _ in pages],
            "signatures": [hashvalues for _, _, hashvalues in pages],
        }
        return conn.execute(_PG_LOOKUP_AND_STORE_MANY, params).all()
    rows = conn.execute(_CANDIDATES, {"keys": keys}).all() if keys else []
    bands = [
        {"page_id": pid, "band": band, "key": key}
        for pid, page_keys, _ in pages
        for band, key in enumerate(page_keys)
    ]
    if bands:
        conn.execute(_ADD_BANDS, bands)
    conn.execute(_ADD_SIG, [{"page_id": pid, "hashvalues": sig} for pid, _, sig in pages])
    return rows


# -- step 2: texts of the close candidates, members of their clusters ---------------------------

_MATE = _PAGE.alias("mate")
_OWN = _PAGE.alias("own")
_IDS = bindparam("ids", expanding=True)
_CLOSE = bindparam("close", expanding=True)
# The pages asked for and every page sharing a cluster with one of them. A UNION, not an OR:
# ``id IN (...) OR cluster_id IN (SELECT ...)`` reads the whole page table on PostgreSQL.
_MEMBER_IDS = union(
    select(_OWN.c.id).where(_OWN.c.id.in_(_IDS)),
    select(_MATE.c.id).where(
        _MATE.c.cluster_id.in_(
            select(_OWN.c.cluster_id).where(_OWN.c.id.in_(_IDS), _OWN.c.cluster_id.is_not(None))
        )
    ),
).subquery("member_ids")
_MEMBERS_AND_TEXTS = (
    select(
        _PAGE.c.id,
        _PAGE.c.cluster_id,
        _PAGE.c.site_id,
        _SITE.c.name,
        _VERSION.c.source,
        _VERSION.c.published,
        _PAGE.c.first_seen_at,
        case((_PAGE.c.id.in_(_CLOSE), _VERSION.c.title)),
        case((_PAGE.c.id.in_(_CLOSE), _VERSION.c.title_hans)),
        _TEXT.c.body,
        _TEXT.c.body_hans,
    )
    .select_from(_MEMBER_IDS)
    .join(_PAGE, _PAGE.c.id == _MEMBER_IDS.c.id)
    .join(_SITE, _SITE.c.id == _PAGE.c.site_id)
    .join(
        _VERSION,
        (_VERSION.c.page_id == _PAGE.c.id) & (_VERSION.c.version_no == newest_version_no()),
    )
    # Bodies are read for the close candidates only, not for every member of a big cluster.
    .outerjoin(_TEXT, and_(_TEXT.c.id == _VERSION.c.text_id, _PAGE.c.id.in_(_CLOSE)))
)


def members_and_texts(
    conn: Connection, page_ids: list[int], close: list[int]
) -> Sequence[Row[Any]]:
    """One row per page among ``close``, ``page_ids`` and the members of their clusters (pages
    with a version): id, cluster_id, site_id, site name, source, published, first_seen_at, and
    for the ``close`` pages only their title, title_hans, body and body_hans (else None)."""
    return conn.execute(_MEMBERS_AND_TEXTS, {"ids": [*close, *page_ids], "close": close}).all()


# -- step 3: the cluster written ----------------------------------------------------------------

_NEW_CLUSTER = insert(_CLUSTER)
_MOVE = (
    update(_PAGE)
    .where(or_(_PAGE.c.id.in_(_IDS), _PAGE.c.cluster_id.in_(bindparam("merged", expanding=True))))
    .values(cluster_id=bindparam("cid"))
)
_DROP_CLUSTERS = delete(_CLUSTER).where(_CLUSTER.c.id.in_(bindparam("merged", expanding=True)))
_SET_CLUSTER = (
    update(_CLUSTER)
    .where(_CLUSTER.c.id == bindparam("cid"))
    .values(
        size=bindparam("size"), original_page_id=bindparam("original"), updated_at=bindparam("now")
    )
)
# One statement: a new cluster made when there is none (``cid`` NULL), the pages and the merged
# clusters' members moved into it, the merged clusters deleted, the kept one recounted. The
# foreign key page.cluster_id is checked at the end of the statement, when all is done.
_PG_WRITE_CLUSTER = text(
    """
    WITH made AS (
        INSERT INTO reprint_cluster (original_page_id, size, created_at, updated_at)
        SELECT :original, :size, :now, :now WHERE CAST(:cid AS INTEGER) IS NULL
        RETURNING id
    ), target AS (
        SELECT id FROM made
        UNION ALL SELECT CAST(:cid AS INTEGER) WHERE CAST(:cid AS INTEGER) IS NOT NULL
    ), moved AS (
        UPDATE page SET cluster_id = (SELECT id FROM target)
        WHERE id = ANY (CAST(:ids AS INTEGER[])) OR cluster_id = ANY (CAST(:merged AS INTEGER[]))
    ), dropped AS (
        DELETE FROM reprint_cluster WHERE id = ANY (CAST(:merged AS INTEGER[]))
    ), kept AS (
        UPDATE reprint_cluster SET size = :size, original_page_id = :original, updated_at = :now
        WHERE id = CAST(:cid AS INTEGER)
    )
    SELECT id FROM target
    """
).bindparams(bindparam("now", type_=UtcDateTime()), bindparam("cid", type_=Integer()))


def write_cluster(
    conn: Connection,
    cluster_id: int | None,
    merged: list[int],
    pages: list[int],
    *,
    size: int,
    original: int | None,
    now: dt.datetime,
) -> int:
    """Put ``pages`` and the members of the ``merged`` clusters into ``cluster_id`` (a new
    cluster when None), delete the merged clusters, set size and original; the cluster's id."""
    values = {"size": size, "original": original, "now": now}
    if conn.dialect.name == "postgresql":
        params = {"cid": cluster_id, "ids": pages, "merged": merged, **values}
        return int(conn.execute(_PG_WRITE_CLUSTER, params).scalar_one())
    if cluster_id is None:
        made = conn.execute(
            _NEW_CLUSTER,
            {"size": size, "original_page_id": original, "created_at": now, "updated_at": now},
        )
        (cluster_id,) = made.inserted_primary_key
        values = {}
    conn.execute(_MOVE, {"ids": pages, "merged": merged, "cid": cluster_id})
    if merged:
        conn.execute(_DROP_CLUSTERS, {"merged": merged})
    if values:
        conn.execute(_SET_CLUSTER, {"cid": cluster_id, **values})
    return int(cluster_id)
