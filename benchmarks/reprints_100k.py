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
4. (``reprint_queries.py``) ``--queries`` new articles (half planted reprints of loaded ones,
   half fresh), each in its own session as the store does it: page, capture, text and version
   rows are added and flushed untimed, then ``reprints.index_page`` is timed, then the session
   commits. Reported: median, p90, p99 ms; the signature step alone (fingerprint, shingles,
   MinHash, band keys) and the rest (band lookup, verification, cluster write) apart; recall of
   the planted reprints and fresh articles wrongly clustered. The queries run in a child process
   of their own, so its peak RSS is that of a process indexing new articles, not of the loader.
   On PostgreSQL the loaded database is vacuumed and checkpointed first, as a live archive's old
   rows are.
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
import json
import multiprocessing as mp
import os
import resource
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):  # the project, and this folder's modules
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from reprint_corpus import CORPORA, Corpus  # noqa: E402
from reprint_load import load  # noqa: E402
from reprint_queries import run_queries  # noqa: E402

from archive.db import make_engine, migrate, normalise_url  # noqa: E402

BEGIN, END = "<!-- reprints_100k:begin -->", "<!-- reprints_100k:end -->"


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
