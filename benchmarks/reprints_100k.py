#!/usr/bin/env python3
"""Reprint clustering at 100 k archived articles: time per new article and memory.

    .venv/bin/python benchmarks/reprints_100k.py [--articles 100000] [--queries 1000]
        [--seed 1] [--database postgresql://postgres@127.0.0.1:5432/postgres] [--readme README.md]
        [--keep-database]

1. A fresh archive database: SQLite in a temp dir, or with ``--database`` a PostgreSQL database
   ``gonghui_bench_<random>`` created next to the one named (and dropped at the end); migrated
   with ``archive.db.migrate``.
2. ``--articles`` synthetic articles (``reprint_corpus.py``) built from the seed text of the replica sites
   (crawler/replica/sites/*/articles.json): every body sentence (cut at 。！？) goes into a pool,
   an article is 6-20 distinct pool sentences in paragraphs of 1-4, each paragraph carrying a
   date string or a 2-digit number, spread over the 5 sites. About 2% are planted reprints of an
   earlier article: on another site, one sentence dropped or replaced, a footer like
   （西宁市总工会） appended.
3. Bulk load (``reprint_load.py``) with Core ``insert()`` executemany (site, run, page, capture, article_text,
   article_version, lsh_band, minhash); texts, band keys and signatures are made in worker processes with
   ``archive.similarity``. The clusters of the loaded articles are *set directly*, not by calling
   ``index_page`` 100 k times: every pair sharing a band key (the candidates ``index_page`` would
   see) is verified with ``similarity.is_reprint`` on the exact shingles, the verified pairs are
   joined (union-find), and ``reprint_cluster`` / ``page.cluster_id`` are written in bulk. The
   same pass counts how many verified pairs were not planted (false clusters) and how many
   planted pairs were missed.
4. ``--queries`` new articles (half planted reprints of loaded ones, half fresh), each in its
   own session as the store does it: page, capture, text and version rows are added and flushed
   untimed, then ``reprints.index_page`` is timed, then the session commits. Reported: median,
   p90, p99 ms; the signature step alone (fingerprint, shingles, MinHash, band keys) and the
   rest (band lookup, verification, cluster write) apart; recall of the planted reprints and
   fresh articles wrongly clustered. The queries run in a child process of their own, so its
   peak RSS is that of a process indexing new articles, not of the loader. On PostgreSQL the
   loaded database is vacuumed and checkpointed first, as a live archive's old rows are.
5. Memory: peak RSS (``resource.getrusage``) of the query process and of the loader,
   tracemalloc peak over a second, traced pass of the same number of queries (tracing slows
   Python code several times, so the timed pass runs untraced), database size and lsh_band rows.
6. Batched, as the crawl stores: ``--queries`` more new articles (half reprints) in batches of
   BATCH (the crawl's GONGHUI_BATCH_PAGES), their rows added untimed, then
   ``reprint_batch.index_new_pages`` timed for the whole batch; reported per article (the
   batch's time over its size), median and p90 over the batches, with recall.
7. One JSON line of results; with ``--readme`` the row of this backend in the table between
   ``<!-- reprints_100k:begin -->`` and ``<!-- reprints_100k:end -->`` is rewritten (rows of the
   other backend are kept).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):  # the project, and this folder's modules
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from reprint_corpus import CORPORA, Corpus, join_body, shingles_of  # noqa: E402
from reprint_load import load, loaded_at, sha  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive import reprints  # noqa: E402
from archive.db import make_engine, migrate, normalise_url  # noqa: E402
from archive.models import (  # noqa: E402
    ArticleText,
    ArticleVersion,
    Capture,
    LshBand,
    Page,
    Run,
)
from archive.reprint_batch import PageRef, index_new_pages  # noqa: E402
from archive.similarity import (  # noqa: E402
    fingerprint_text,
    is_reprint,
    shingles,
    signature,
)

BEGIN, END = "<!-- reprints_100k:begin -->", "<!-- reprints_100k:end -->"
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
    size = _db_size(engine)
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


def _db_size(engine: Engine) -> dict[str, Any]:
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


# --- driver ----------------------------------------------------------------------------------


def pg_database(url: str) -> tuple[str, Any]:
    """Create ``gonghui_bench_<random>`` on the server of ``url``; (its URL, a dropper)."""
    import psycopg

    base = normalise_url(url)
    name = f"gonghui_bench_{secrets.token_hex(4)}"
    dsn = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return base.set(database=name).render_as_string(hide_password=False), drop


def update_readme(path: Path, result: dict[str, Any]) -> None:
    columns = (
        ("backend", "backend"),
        ("corpus", "corpus"),
        ("articles", "articles"),
        ("lsh_band_rows", "lsh_band rows"),
        ("median_ms", "median ms"),
        ("p90_ms", "p90 ms"),
        ("p99_ms", "p99 ms"),
        ("median_ms_fresh", "median fresh"),
        ("median_ms_reprint", "median reprint"),
        ("signature_median_ms", "signature ms"),
        ("find_median_ms", "find ms"),
        ("join_median_ms_reprint", "join ms (reprint)"),
        ("candidates_mean", "candidates"),
        ("verified_mean", "checked exactly"),
        ("recall", "reprints found"),
        ("batch_median_ms", "batched: median ms per article"),
        ("batch_p90_ms", "batched: p90"),
        ("batch_recall", "batched: reprints found"),
        ("fresh_wrongly_clustered", "fresh clustered"),
        ("false_clusters_loaded", "false clusters (load)"),
        ("peak_rss_mb", "peak RSS MB"),
        ("tracemalloc_peak_mb", "tracemalloc MB"),
        ("db_mb", "DB MB"),
    )
    head = "| " + " | ".join(label for _, label in columns) + " |"
    row = "| " + " | ".join(str(result.get(key, "-")) for key, _ in columns) + " |"
    content = path.read_text(encoding="utf-8")
    if BEGIN not in content or END not in content:
        raise SystemExit(f"{path}: no {BEGIN} ... {END} markers")
    before, rest = content.split(BEGIN, 1)
    inside, after = rest.split(END, 1)

    def key(line: str) -> tuple[str, str]:
        cells = [c.strip() for c in line.split("|")]
        return cells[1], cells[2]

    kept = [
        line
        for line in inside.strip().splitlines()[2:]
        if line.startswith("|") and key(line) != (result["backend"], result["corpus"])
    ]
    order = {"SQLite": 0, "sentences": 0}
    rows = sorted([*kept, row], key=lambda line: tuple(order.get(k, 1) for k in key(line)))
    lines = [head, "|---" * len(columns) + "|", *rows]
    path.write_text(f"{before}{BEGIN}\n" + "\n".join(lines) + f"\n{END}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument(
        "--corpus",
        choices=CORPORA,
        default="sentences",
        help="articles of whole seed sentences (default) or of sentences mixed from seed clauses",
    )
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--readme", type=Path, help="rewrite this README's table")
    parser.add_argument(
        "--keep-database",
        action="store_true",
        help="leave the PostgreSQL database in place (its name is printed) for EXPLAIN and reruns",
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="reprints_100k_") as tmp:
        drop = None
        if args.database:
            url, drop = pg_database(args.database)
        else:
            url = f"sqlite:///{tmp}/archive.sqlite"
        # The query process is started first: a process started later would inherit the
        # loader's resident set in its ru_maxrss (Linux keeps the high-water mark over exec).
        child = cf.ProcessPoolExecutor(1, mp_context=mp.get_context("spawn"))
        try:
            child.submit(int).result()
            migrate(url)
            engine = make_engine(url)
            corpus = Corpus(args.seed, args.articles, args.corpus)
            loaded = load(engine, corpus, args.articles, args.workers)
            backend = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
            server = (
                engine.dialect.server_version_info
                if backend == "PostgreSQL"
                else tuple(map(int, __import__("sqlite3").sqlite_version.split(".")))
            )
            engine.dispose()
            measured = child.submit(
                run_queries, url, args.seed, args.articles, args.queries, args.corpus
            ).result()
        finally:
            child.shutdown()
            if drop is not None and not args.keep_database:
                drop()
            elif drop is not None:
                print(f"kept {url}", file=sys.stderr)
    result = {
        "backend": backend,
        "corpus": args.corpus,
        "server_version": ".".join(map(str, server or ())),
        "articles": args.articles,
        "seed_sentences": len(corpus.sentences),
        "seed_clauses": len(corpus.clauses),
        "seed": args.seed,
        **loaded,
        **measured,
        "loader_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpus": os.cpu_count(),
    }
    print(json.dumps(result, ensure_ascii=False))
    if args.readme:
        update_readme(args.readme, result)


if __name__ == "__main__":
    main()
