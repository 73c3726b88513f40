"""The bulk loader of benchmarks/reprints_100k.py (also used by growth.py): the synthetic
archive of ``reprint_corpus`` written with Core ``insert()`` executemany (site, run, page,
capture, article_text, article_version, lsh_band, minhash).

The clusters of the loaded articles are *set directly*, not by calling ``index_page`` 100 k
times: every pair sharing a band key (the candidates ``index_page`` would see) is verified with
``similarity.is_reprint`` on the exact shingles, the verified pairs are joined (union-find), and
``reprint_cluster`` / ``page.cluster_id`` are written in bulk. The same pass counts how many
verified pairs were not planted (false clusters) and how many planted pairs were missed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import defaultdict
from typing import Any

import numpy as np

# Imported by the benchmark scripts, which put the project and benchmarks/ on sys.path.
from reprint_corpus import Corpus, Pool, make_chunk, shingles_of
from sqlalchemy import bindparam, insert, text, update
from sqlalchemy.engine import Engine

from archive.models import (
    ArticleText,
    ArticleVersion,
    Capture,
    LshBand,
    MinHashSignature,
    Page,
    ReprintCluster,
    Run,
    Site,
)
from archive.similarity import (
    BANDS,
    NUM_PERM,
    is_reprint,
)
from crawler.replica.data import load_site

CHUNK = 2000  # articles per worker task and per load transaction
ESTIMATE_FLOOR = 0.4  # see load()
EPOCH = dt.datetime(2016, 1, 1, tzinfo=dt.UTC)
_SPAN_DAYS = 3650


# --- database ------------------------------------------------------------------------------


def loaded_at(i: int) -> dt.datetime:
    return EPOCH + dt.timedelta(seconds=i * _SPAN_DAYS * 86400 // 100_000)


def sha(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def _rows(
    i: int, site_id: str, run_id: int, title: str, body: str, source: str | None
) -> tuple[dict, dict, dict, dict]:
    """page, capture, article_text, article_version rows of loaded article i (ids i + 1)."""
    pid, when = i + 1, loaded_at(i)
    url = f"http://{site_id}.bench.invalid/a/{pid}.html"
    page = {
        "id": pid,
        "site_id": site_id,
        "canonical_url": url,
        "url": url,
        "first_seen_at": when,
        "last_seen_at": when,
        "last_status": 200,
    }
    capture = {
        "id": pid,
        "page_id": pid,
        "run_id": run_id,
        "url": url,
        "fetched_at": when,
        "http_status": 200,
        "headers": [],
        "content_type": "text/html; charset=utf-8",
        "payload_sha256": sha("payload", pid),
        "payload_length": len(body.encode()),
        "warc_filename": "bench/none.warc.gz",  # no WARC in this benchmark
        "warc_offset": 0,
        "warc_length": 0,
    }
    article_text = {
        "id": pid,
        "body_sha256": sha("body", pid, body),  # with the id: two equal reposts stay apart
        "body": body,
        "body_hans": None,
        "created_at": when,
    }
    version = {
        "id": pid,
        "page_id": pid,
        "version_no": 1,
        "capture_id": pid,
        "last_capture_id": pid,
        "content_sha256": sha("content", title, body, source),
        "change_class": "new",
        "text_id": pid,
        "title": title,
        "published": when.date(),
        "source": source,
        "captions": [],
        "first_seen_at": when,
        "last_seen_at": when,
        "script": "hans",
    }
    return page, capture, article_text, version


def load(
    engine: Engine, corpus: Corpus, articles: int, workers: int, site_prefix: str = ""
) -> dict[str, Any]:
    """Bulk-load the synthetic archive and its clusters; figures of the load.

    ``site_prefix`` goes before every site id (the names stay): benchmarks/growth.py loads the
    corpus beside the replica sites it then crawls, as sites of their own."""
    t0 = time.perf_counter()
    sites = [load_site(s) for s in corpus.sites]
    with engine.begin() as conn:
        conn.execute(
            insert(Site.__table__),
            [
                {
                    "id": site_prefix + s.site_id,
                    "name": s.name,
                    "base_url": f"http://{site_prefix}{s.site_id}.bench.invalid/",
                    "created_at": EPOCH,
                }
                for s in sites
            ],
        )
        conn.execute(
            insert(Run.__table__),
            [
                {
                    "id": n + 1,
                    "site_id": site_prefix + s.site_id,
                    "trigger": "manual",
                    "status": "finished",
                    "started_at": EPOCH,
                    "finished_at": EPOCH,
                }
                for n, s in enumerate(sites)
            ],
        )
    keys = np.zeros((articles, BANDS), dtype=np.int64)
    values = np.zeros((articles, NUM_PERM), dtype=np.uint32)
    chunks = [(a, min(a + CHUNK, articles)) for a in range(0, articles, CHUNK)]
    tables = (
        Page.__table__,
        Capture.__table__,
        ArticleText.__table__,
        ArticleVersion.__table__,
        LshBand.__table__,
        MinHashSignature.__table__,
    )
    with Pool(workers, corpus) as pool:
        made = (
            pool.map(make_chunk, *zip(*chunks, strict=True))
            if pool
            else (make_chunk(a, b) for a, b in chunks)
        )
        for (start, stop), (chunk, chunk_values) in zip(chunks, made, strict=True):
            values[start:stop] = chunk_values
            batches: tuple[list[dict], ...] = ([], [], [], [], [], [])
            for i, site, title, body, source, band_keys in chunk:
                rows = _rows(i, site_prefix + corpus.sites[site], site + 1, title, body, source)
                for batch, row in zip(batches, rows, strict=False):
                    batch.append(row)
                keys[i, : len(band_keys)] = band_keys
                batches[4].extend(
                    {"page_id": i + 1, "band": b, "key": k} for b, k in enumerate(band_keys)
                )
                batches[5].append(
                    {"page_id": i + 1, "hashvalues": values[i].astype("<u4").tobytes()}
                )
            with engine.begin() as conn:
                for table, batch in zip(tables, batches, strict=True):
                    conn.execute(insert(table), batch)
    t_rows = time.perf_counter() - t0

    # The clusters: the pairs sharing a band key (what index_page would have seen as
    # candidates), decided by is_reprint on the exact shingles. A pair whose MinHash estimate
    # is below ESTIMATE_FLOOR is counted as rejected without the exact check: at 128 values the
    # estimate is within +-0.05 (1 sd) of the true Jaccard, so a pair at 0.6 lands below 0.4
    # with odds far below 1e-4, and verifying every candidate exactly would take minutes.
    t1 = time.perf_counter()
    a, b = _candidate_pairs(keys)
    estimate = np.zeros(len(a))
    for k in range(0, len(a), 200_000):
        estimate[k : k + 200_000] = (values[a[k : k + 200_000]] == values[b[k : k + 200_000]]).mean(
            axis=1
        )
    close = np.flatnonzero(estimate >= ESTIMATE_FLOOR)
    cache: dict[int, np.ndarray] = {}

    def cached_shingles(i: int) -> np.ndarray:
        if i not in cache:
            cache[i] = shingles_of(corpus, i)
        return cache[i]

    verified = [
        (int(a[k]), int(b[k]))
        for k in close
        if is_reprint(cached_shingles(int(a[k])), cached_shingles(int(b[k])))
    ]

    def origin(i: int) -> int:
        return corpus.plan[i] if corpus.plan[i] >= 0 else i

    planted = [(corpus.plan[i], i) for i in range(articles) if corpus.plan[i] >= 0]
    # The rule itself (exact Jaccard >= 0.6) turns some edited reposts down: count them apart.
    planted_below = sum(not is_reprint(cached_shingles(x), cached_shingles(y)) for x, y in planted)
    false_pairs = [(x, y) for x, y in verified if origin(x) != origin(y)]
    parent = list(range(articles))

    def root(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for x, y in verified:
        rx, ry = root(x), root(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)
    members: dict[int, set[int]] = defaultdict(set)
    for x, y in verified:
        members[root(x)].update((x, y))
    clusters = [sorted(m) for _, m in sorted(members.items())]
    false_clusters = sum(1 for m in clusters if len({origin(x) for x in m}) > 1)
    with engine.begin() as conn:
        if clusters:
            conn.execute(
                insert(ReprintCluster.__table__),
                [
                    {
                        "id": n + 1,
                        "original_page_id": m[0] + 1,  # the earliest: ids follow publication
                        "size": len(m),
                        "created_at": EPOCH,
                        "updated_at": EPOCH,
                    }
                    for n, m in enumerate(clusters)
                ],
            )
            table = Page.__table__
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("pid"))
                .values(cluster_id=bindparam("cid")),
                [{"pid": x + 1, "cid": n + 1} for n, m in enumerate(clusters) for x in m],
            )
        if conn.dialect.name == "postgresql":
            # Ids were given explicitly; the store's inserts take theirs from the sequences.
            for name in (
                "run",
                "page",
                "capture",
                "article_text",
                "article_version",
                "reprint_cluster",
            ):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                    )
                )
            conn.execute(text("ANALYZE"))  # what autovacuum does soon after a bulk load
    if engine.dialect.name == "postgresql":
        # A live archive's rows were written over many nights: vacuumed (visibility map and
        # hint bits set) and checkpointed long ago. Freshly bulk-loaded rows are neither: the
        # timed queries would pay for setting hint bits on every page they first read and for
        # writing out the load's dirty buffers and its checkpoint. Settle them first.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE)"))
            conn.execute(text("CHECKPOINT"))
    # Two reposts of one original count as found when they end up in its cluster.
    planted_found = sum(1 for x, y in planted if root(x) == root(y))
    return {
        "load_s": round(time.perf_counter() - t0, 1),
        "load_rows_s": round(t_rows, 1),
        "load_cluster_s": round(time.perf_counter() - t1, 1),
        "planted_loaded": len(planted),
        "planted_loaded_clustered": planted_found,
        "planted_loaded_below_threshold": planted_below,
        "candidate_pairs_loaded": len(a),
        "candidates_per_article_loaded": round(2 * len(a) / max(articles, 1), 2),
        "pairs_verified_exactly_loaded": len(close),
        "reprint_pairs_loaded": len(verified),
        "false_pairs_loaded": len(false_pairs),
        "clusters_loaded": len(clusters),
        "false_clusters_loaded": false_clusters,
    }


def _candidate_pairs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b), a < b: the pairs of articles sharing a band key (keys carry their band)."""
    flat = keys.ravel()
    owner = np.repeat(np.arange(keys.shape[0]), keys.shape[1])
    order = np.argsort(flat, kind="stable")
    flat, owner = flat[order], owner[order]
    starts = np.flatnonzero(np.concatenate(([True], flat[1:] != flat[:-1])))
    sizes = np.diff(np.append(starts, len(flat)))
    firsts, seconds = [], []
    two = starts[sizes == 2]  # almost every shared key: one pair
    firsts.append(owner[two])
    seconds.append(owner[two + 1])
    for s, n in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
        ids = owner[s : s + n]
        i, j = np.triu_indices(n, 1)
        firsts.append(ids[i])
        seconds.append(ids[j])
    x, y = np.concatenate(firsts), np.concatenate(seconds)
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    keep = lo != hi
    pair = np.unique(lo[keep].astype(np.int64) * keys.shape[0] + hi[keep])
    return pair // keys.shape[0], pair % keys.shape[0]
