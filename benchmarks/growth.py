#!/usr/bin/env python3
"""Cost as the archive grows (issue 14, point 5): a crawl into an empty archive and into one that
already holds the 100 k articles of benchmarks/reprints_100k.py, in one invocation.

    .venv/bin/python benchmarks/growth.py [--articles-per-site 300] [--corpus 100000]
        [--rounds 2] [--seed 1] [--concurrency 4]
        [--database postgresql://postgres@127.0.0.1:5432/postgres] [--readme README.md]

1. The replica world of benchmarks/crawl_world.py (``build_world``, ``WorldServer``), five sites
   with ``--articles-per-site`` articles each, served on 127.0.0.1; crawl_world's relaxed seeds.
2. Two template archives per backend (SQLite always; PostgreSQL too with ``--database``, in
   databases ``gonghui_growth_<random>_*`` created next to the one named and dropped at the
   end): **empty**, migrated only; **100k**, migrated and loaded with reprints_100k.py's loader
   (``load``, its realistic ``clauses`` corpus): pages, captures, versions, texts, lsh_band
   (3 M rows), minhash and clusters of 100 k articles. They are sites of their own (the
   replica's ids prefixed ``old-``, URLs under ``.bench.invalid``): the crawl must not re-check
   them, but its store sees every row: the band keys its reprint lookups read (crawled articles
   share keys with loaded ones and some join their clusters), the texts whose hashes it
   looks up, the pages and versions it indexes beside them.
3. ``--rounds`` rounds; in each, every backend crawls the world once into a fresh copy of each
   template (the arms' order alternates from round to round): ``gonghui crawl --all --origin
   SITE=URL ...``, a process of its own started by crawl_world's ``Launcher`` and reaped with
   ``os.wait4``: its CPU seconds (user + system) over the articles the run archived. On
   PostgreSQL the server's client backends connected to that database are sampled from /proc
   every 0.1 s while the crawl runs (what a backend spends after its last sample is missed;
   autovacuum is not counted): their CPU is reported apart and added in a second ratio.
4. One JSON line (medians per backend and arm, ratio 100k / empty, every run); with
   ``--readme`` the section between ``<!-- growth:begin -->`` and ``<!-- growth:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from crawl_world import Launcher, crawl_argv, relaxed_seeds  # noqa: E402
from growth_archives import PREFIX, PostgresArchives, SQLiteArchives  # noqa: E402

ARMS = ("empty", "100k")


def prepare(backends: list[Any], args: argparse.Namespace) -> dict[str, Any]:
    """Make the templates: migrated (empty); migrated + the corpus (100k), loaded on SQLite by
    reprints_100k's loader (or copied from ``--corpus-file``), copied into PostgreSQL."""
    from growth_archives import adopt, copy_to_postgres
    from reprint_corpus import Corpus
    from reprint_load import load

    from archive.db import make_engine, migrate

    started = time.monotonic()
    sqlite_archives, *others = backends
    for b in backends:
        migrate(b.template("empty"))
    url = sqlite_archives.template("100k")
    path = Path(url.removeprefix("sqlite:///"))
    figures: dict[str, Any] = {}
    if args.corpus_file:
        shutil.copyfile(args.corpus_file, path)
        migrate(url)
        adopt(path)
    else:
        migrate(url)
        engine = make_engine(url)
        corpus = Corpus(args.seed, args.corpus, "clauses")
        loaded = load(engine, corpus, args.corpus, os.cpu_count() or 1, PREFIX)
        engine.dispose()
        figures["clusters_loaded"] = loaded["clusters_loaded"]
    with sqlite3.connect(path) as conn:  # everything into the file that is copied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        figures["corpus_pages"] = conn.execute(
            "SELECT count(*) FROM page WHERE site_id LIKE ?", (f"{PREFIX}%",)
        ).fetchone()[0]
        figures["corpus_lsh_band_rows"] = conn.execute("SELECT count(*) FROM lsh_band").fetchone()[
            0
        ]
    for b in others:
        pg_url = b.template("100k")
        migrate(pg_url)
        copy_to_postgres(path, b.dsn(pg_url))
    figures["prepare_s"] = round(time.monotonic() - started, 1)
    return figures


def crawl_once(launcher: Launcher, archives: Any, arm: str, server: Any, work: Path) -> dict:
    from sqlalchemy import text

    from archive.db import make_engine

    work.mkdir()
    url = archives.fresh(arm, work)
    argv = crawl_argv(work, work.parent / "seeds", server)
    argv[argv.index("--database") + 1] = url
    sampler = archives.server_cpu(url)
    if sampler is not None:
        sampler.start()
    try:
        measured = launcher.run(argv, ROOT, work / "crawl.log")
    finally:
        server_s = sampler.stop() if sampler is not None else None
    if measured["returncode"] != 0:
        tail = (work / "crawl.log").read_text(encoding="utf-8", errors="replace")[-2000:]
        raise SystemExit(f"{archives.name} {arm}: crawl exited {measured['returncode']}:\n{tail}")
    engine = make_engine(url)
    with engine.connect() as conn:
        articles = conn.scalar(
            text("SELECT sum(articles_archived) FROM run WHERE site_id NOT LIKE :p"),
            {"p": f"{PREFIX}%"},
        )
        clustered = conn.scalar(
            text("SELECT count(*) FROM page WHERE cluster_id IS NOT NULL AND site_id NOT LIKE :p"),
            {"p": f"{PREFIX}%"},
        )
        pages = conn.scalar(text("SELECT count(*) FROM page"))
    engine.dispose()
    archives.done(url)
    cpu = measured["utime"] + measured["stime"]
    out = {
        "arm": arm,
        "articles": int(articles or 0),
        "pages_in_archive": pages,
        "crawled_pages_clustered": clustered,
        "wall_s": round(measured["wall"], 2),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_article": round(1000 * cpu / articles, 2) if articles else None,
        "peak_rss_mb": round(measured["maxrss_kb"] / 1024, 1),
    }
    if server_s is not None:
        out["server_cpu_s"] = round(server_s, 2)
        out["server_ms_per_article"] = round(1000 * server_s / articles, 2) if articles else None
        out["total_ms_per_article"] = round(1000 * (cpu + server_s) / articles, 2)
    return out


def run(args: argparse.Namespace, launcher: Launcher, work: Path) -> dict[str, Any]:
    from world_data import build_world
    from world_server import WorldServer

    from crawler.replica.pages import render_site

    started = time.monotonic()
    backends: list[Any] = [SQLiteArchives(work)]
    if args.database:
        backends.append(PostgresArchives(args.database))
    try:
        corpus = prepare(backends, args)
        world = build_world(args.articles_per_site, args.seed)
        pages = {s: render_site(site) for s, site in world.sites.items()}
        relaxed_seeds(work / "seeds", args.concurrency)
        runs: dict[str, list[dict[str, Any]]] = {b.name: [] for b in backends}
        with WorldServer(pages) as server:
            for n in range(args.rounds):
                for arm in ARMS if n % 2 == 0 else ARMS[::-1]:
                    for b in backends:
                        dest = work / f"{b.name}-{arm}-{n}"
                        runs[b.name].append(crawl_once(launcher, b, arm, server, dest))
                        print(json.dumps({b.name: runs[b.name][-1]}), file=sys.stderr, flush=True)
    finally:
        for b in backends:
            b.close()
    backends_out = {}
    for name, rows in runs.items():
        med = {arm: medians([r for r in rows if r["arm"] == arm]) for arm in ARMS}
        ratio = {
            key: round(med["100k"][key] / med["empty"][key], 3)
            for key in ("cpu_ms_per_article", "total_ms_per_article", "wall_s")
            if med["empty"].get(key)
        }
        backends_out[name] = {"medians": med, "ratio_100k_over_empty": ratio}
    return {
        "date": dt.date.today().isoformat(),
        "articles_per_site": args.articles_per_site,
        "corpus": args.corpus,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "corpus_file": str(args.corpus_file) if args.corpus_file else None,
        **corpus,
        "backends": backends_out,
        "runs": runs,
        "total_s": round(time.monotonic() - started, 1),
    }


def medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rows[0].items():
        values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
        if not values:
            out[key] = value
        else:
            mid = statistics.median(values)
            out[key] = int(mid) if isinstance(value, int) and mid == int(mid) else round(mid, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-per-site", type=int, default=300)
    parser.add_argument("--corpus", type=int, default=100_000, help="articles already archived")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per site")
    parser.add_argument(
        "--corpus-file",
        type=Path,
        help="an SQLite archive reprints_100k.py loaded (a copy is used; default: load one)",
    )
    parser.add_argument("--database", help="also on PostgreSQL: a server URL")
    parser.add_argument("--readme", type=Path, help="rewrite this README's growth section")
    args = parser.parse_args()
    launcher = Launcher()  # first, while this process is small
    uptime_before = _uptime()
    try:
        with tempfile.TemporaryDirectory(prefix="growth_") as tmp:
            result = run(args, launcher, Path(tmp))
    finally:
        launcher.close()
    result["uptime_before"], result["uptime_after"] = uptime_before, _uptime()
    print(json.dumps(result, ensure_ascii=False))
    if args.readme:
        from growth_readme import update_readme

        update_readme(args.readme, result)


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    main()
