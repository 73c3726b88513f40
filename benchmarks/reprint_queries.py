"""The measured part of benchmarks/reprints_100k.py, run in a child process of its own (so its
peak RSS is that of a process indexing new articles, not of the loader): new articles indexed
one by one with ``reprints.index_page``, timed, then traced; then in batches of ``BATCH`` with
``reprint_batch.index_new_pages``, as the crawl's store indexes them. The module docstring of
reprints_100k.py, points 4-6, says what is reported."""

from __future__ import annotations

import datetime as dt
import random
import resource
import statistics
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

# Imported by the benchmark scripts, which put the project and benchmarks/ on sys.path.
from reprint_corpus import Corpus, join_body, shingles_of
from reprint_load import loaded_at, sha
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from archive import reprints
from archive.db import make_engine
from archive.models import (
    ArticleText,
    ArticleVersion,
    Capture,
    LshBand,
    Page,
    Run,
)
from archive.reprint_batch import PageRef, index_new_pages
from archive.similarity import (
    fingerprint_text,
    is_reprint,
    shingles,
    signature,
)

WARMUP = 20  # queries run (and stored) before the timed ones: imports, caches, opencc
BATCH = 50  # new articles per batch in the batched pass: the crawl's GONGHUI_BATCH_PAGES


# --- the measured part (a child process of its own) -----------------------------------------


def run_queries(url: str, seed: int, articles: int, queries: int, kind: str) -> dict[str, Any]:
    """Index ``queries`` new articles one by one, timed; then the same again, traced."""
    engine = make_engine(url)
    corpus = Corpus(seed, articles, kind)
    stats: dict[str, float] = defaultdict(float)
    find, join = reprints.find_reprints, reprints.join_cluster

    def timed_find(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            lookup = find(*args, **kwargs)
        finally:
            stats["find"] += time.perf_counter() - t
        stats["candidates"] += lookup.candidates
        stats["verified"] += lookup.verified
        return lookup

    def timed_join(*args: Any) -> int:
        t = time.perf_counter()
        try:
            return join(*args)
        finally:
            stats["join"] += time.perf_counter() - t

    reprints.find_reprints, reprints.join_cluster = timed_find, timed_join  # type: ignore[assignment]
    with Session(engine) as session:
        run = Run(
            site_id=corpus.sites[0], trigger="manual", status="running", started_at=loaded_at(0)
        )
        session.add(run)
        session.commit()
        run_id = run.id
        next_id = (session.scalar(select(func.max(Page.id))) or 0) + 1

    def query(q: int) -> tuple[str, int, str, str, str | None, str]:
        """Query ``q``: (kind, j, title, body, source, site id); j is the loaded article a
        reprint repeats (-1 for a fresh one)."""
        n = articles + q  # the query's own index: fresh texts never loaded
        rng = random.Random(f"{seed}/query/{q}")
        if q % 2 == 0:
            j = rng.randrange(articles)
            j = corpus.plan[j] if corpus.plan[j] >= 0 else j
            paras = corpus.reprint_of(corpus.paragraphs(j), rng)
            title, body, source = (
                corpus.title(j),
                join_body(paras),
                corpus.site_names[corpus.site(j)],
            )
            site = (corpus.site(j) + 1 + rng.randrange(len(corpus.sites) - 1)) % len(corpus.sites)
            return "reprint", j, title, body, source, corpus.sites[site]
        title, body = corpus.title(n), join_body(corpus.paragraphs(n))
        return "fresh", -1, title, body, None, corpus.sites[corpus.site(n)]

    def add(session: Session, q: tuple, now: dt.datetime) -> Page:
        """The rows the store writes before indexing (page, capture, text, version 1)."""
        nonlocal next_id
        _, _, title, body, source, site_id = q
        pid = next_id
        next_id += 1
        url_ = f"http://{site_id}.bench.invalid/q/{pid}.html"
        page = Page(
            id=pid,
            site_id=site_id,
            canonical_url=url_,
            url=url_,
            first_seen_at=now,
            last_seen_at=now,
            last_status=200,
        )
        session.add(page)
        session.flush()
        capture = Capture(
            page_id=pid,
            run_id=run_id,
            url=url_,
            fetched_at=now,
            http_status=200,
            headers=[],
            content_type="text/html; charset=utf-8",
            payload_sha256=sha("payload", pid),
            payload_length=len(body.encode()),
            warc_filename="bench/none.warc.gz",
            warc_offset=0,
            warc_length=0,
        )
        article_text = ArticleText(body_sha256=sha("body", pid, body), body=body, created_at=now)
        session.add_all([capture, article_text])
        session.flush()
        session.add(
            ArticleVersion(
                page_id=pid,
                version_no=1,
                capture_id=capture.id,
                last_capture_id=capture.id,
                content_sha256=sha("content", title, body),
                change_class="new",
                text_id=article_text.id,
                title=title,
                published=now.date(),
                source=source,
                captions=[],
                first_seen_at=now,
                last_seen_at=now,
                script="hans",
            )
        )
        session.flush()
        return page

    def found(session: Session, q: tuple, cluster_id: int | None) -> bool:
        """Whether a reprint joined its original's cluster, a fresh article none."""
        kind, j = q[0], q[1]
        if kind == "fresh":
            return cluster_id is None
        expected = session.scalar(select(Page.cluster_id).where(Page.id == j + 1))
        return cluster_id is not None and cluster_id == expected

    def one(q: int, timed: list[dict] | None) -> None:
        this = query(q)
        kind, j, title, body = this[:4]
        t = time.perf_counter()
        own = shingles(fingerprint_text(title, body))
        signature(own).band_keys()
        t_sig = time.perf_counter() - t
        # Whether the rule itself (exact Jaccard >= 0.6) takes this repost: untimed.
        above = kind == "fresh" or is_reprint(own, shingles_of(corpus, j))
        with Session(engine) as session:
            page = add(session, this, dt.datetime.now(dt.UTC))
            before = dict(stats)
            t = time.perf_counter()
            cluster_id = reprints.index_page(session, page, title, body, first_text=True)
            t_index = time.perf_counter() - t
            t = time.perf_counter()
            session.commit()
            t_commit = time.perf_counter() - t
            ok = found(session, this, cluster_id)
        if timed is not None:
            timed.append(
                {
                    "kind": kind,
                    "index": t_index,
                    "signature": t_sig,
                    "find": stats["find"] - before.get("find", 0.0),
                    "verified": stats["verified"] - before.get("verified", 0.0),
                    "join": stats["join"] - before.get("join", 0.0),
                    "candidates": stats["candidates"] - before.get("candidates", 0.0),
                    "commit": t_commit,
                    "above": above,
                    "ok": ok,
                }
            )

    def batches(first: int, count: int, size: int) -> tuple[list[float], int, int, int]:
        """Queries first..first+count indexed as the crawl's store does, ``size`` new articles
        a batch (archive.reprint_batch); per-article ms of each batch, reprints found, fresh
        articles clustered, reprints below the rule's threshold."""
        per_article, found_reprints, fresh_clustered, below = [], 0, 0, 0
        for start in range(first, first + count, size):
            these = [query(q) for q in range(start, min(start + size, first + count))]
            with Session(engine) as session:
                now = dt.datetime.now(dt.UTC)
                pages = [add(session, q, now) for q in these]
                items = [(PageRef(p.id), q[2], q[3]) for p, q in zip(pages, these, strict=True)]
                t = time.perf_counter()
                clusters = index_new_pages(session, items)
                per_article.append((time.perf_counter() - t) / len(items))
                session.commit()
                for q, cluster_id in zip(these, clusters, strict=True):
                    ok = found(session, q, cluster_id)
                    found_reprints += q[0] == "reprint" and ok
                    fresh_clustered += q[0] == "fresh" and not ok
                    if q[0] == "reprint":  # untimed: does the rule itself take this repost?
                        own = shingles(fingerprint_text(q[2], q[3]))
                        below += not is_reprint(own, shingles_of(corpus, q[1]))
        return per_article, found_reprints, fresh_clustered, below

    for q in range(WARMUP):
        one(10 * queries + q, None)  # indices apart from the measured ones
    timed: list[dict] = []
    rss_before = _proc_status_mb("VmRSS")
    for q in range(queries):
        one(q, timed)
    tracemalloc.start()
    for q in range(queries, 2 * queries):
        one(q, None)
    _, traced_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    batched, batch_found, batch_fresh_clustered, batch_below = batches(2 * queries, queries, BATCH)
    size = db_size(engine)
    engine.dispose()

    def ms(values: list[float], p: float) -> float:
        return round(float(np.percentile(values, p)) * 1000, 3)

    index = [r["index"] for r in timed]
    reprint_rows = [r for r in timed if r["kind"] == "reprint"]
    fresh_rows = [r for r in timed if r["kind"] == "fresh"]
    rest = [r["index"] - r["signature"] for r in timed]
    return {
        "queries": len(timed),
        "median_ms": ms(index, 50),
        "p90_ms": ms(index, 90),
        "p99_ms": ms(index, 99),
        "mean_ms": round(statistics.fmean(index) * 1000, 3),
        "median_ms_reprint": ms([r["index"] for r in reprint_rows], 50),
        "median_ms_fresh": ms([r["index"] for r in fresh_rows], 50),
        "signature_median_ms": ms([r["signature"] for r in timed], 50),
        "lookup_verify_join_median_ms": ms(rest, 50),
        # find_reprints: band lookup with the page's keys stored, signature estimates, texts
        # and cluster members of the close ones, their exact check
        "find_median_ms": ms([r["find"] for r in timed], 50),
        "join_median_ms_reprint": ms([r["join"] for r in reprint_rows], 50),
        "candidates_mean": round(statistics.fmean(r["candidates"] for r in timed), 2),
        "verified_mean": round(statistics.fmean(r["verified"] for r in timed), 2),
        "candidates_mean_fresh": round(statistics.fmean(r["candidates"] for r in fresh_rows), 2),
        "commit_median_ms": ms([r["commit"] for r in timed], 50),
        "recall": f"{sum(r['ok'] for r in reprint_rows)}/{len(reprint_rows)}",
        # The same number of other queries (half reprints) in the crawl's batches
        "batch_pages": BATCH,
        "batch_median_ms": ms(batched, 50),
        "batch_p90_ms": ms(batched, 90),
        "batch_recall": f"{batch_found}/{(queries + 1) // 2}",
        "batch_fresh_clustered": batch_fresh_clustered,
        "batch_reprints_below_threshold": batch_below,
        "reprint_queries_below_threshold": sum(not r["above"] for r in reprint_rows),
        "fresh_wrongly_clustered": sum(not r["ok"] for r in fresh_rows),
        "rss_before_queries_mb": rss_before,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "vm_hwm_mb": _proc_status_mb("VmHWM"),  # the same peak, read from /proc
        "tracemalloc_peak_mb": round(traced_peak / 2**20, 2),
        **size,
    }


def _proc_status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def db_size(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(LshBand))
        if conn.dialect.name == "postgresql":
            db = conn.scalar(text("SELECT pg_database_size(current_database())"))
            bands = conn.scalar(text("SELECT pg_total_relation_size('lsh_band')"))
    if engine.dialect.name == "sqlite":
        # A connection of its own: the engine's connections begin a transaction on connect,
        # and a checkpoint inside one fails ("database table is locked").
        import sqlite3

        engine.dispose()
        with sqlite3.connect(engine.url.database or "") as raw:
            raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            page_size = raw.execute("PRAGMA page_size").fetchone()[0]
            db = raw.execute("PRAGMA page_count").fetchone()[0] * page_size
            try:
                bands = raw.execute(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name = 'lsh_band'"
                ).fetchone()[0]
            except sqlite3.Error:  # SQLite built without dbstat
                bands = None
    return {
        "lsh_band_rows": rows,
        "db_mb": round(db / 2**20, 1),
        "lsh_band_mb": round(bands / 2**20, 1) if bands else None,
    }
