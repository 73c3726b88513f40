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
import secrets
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from crawl_world import Launcher, crawl_argv, relaxed_seeds  # noqa: E402

ARMS = ("empty", "100k")
PREFIX = "old-"  # the loaded corpus's sites: the replica's ids with this in front
_TICK = os.sysconf("SC_CLK_TCK")


class SQLiteArchives:
    """The templates as files; a round's archive is a copy."""

    name = "SQLite"

    def __init__(self, work: Path) -> None:
        self.work = work

    def template(self, arm: str) -> str:
        return f"sqlite:///{self.work / f'{arm}.sqlite3'}"

    def fresh(self, arm: str, work: Path) -> str:
        shutil.copyfile(self.work / f"{arm}.sqlite3", work / "archive.sqlite3")
        return f"sqlite:///{work / 'archive.sqlite3'}"

    def done(self, url: str) -> None:
        Path(url.removeprefix("sqlite:///")).unlink()

    def server_cpu(self, url: str) -> BackendCPU | None:
        return None

    def close(self) -> None:
        pass


class PostgresArchives:
    """The templates as databases; a round's archive is ``CREATE DATABASE ... TEMPLATE``."""

    name = "PostgreSQL"

    def __init__(self, url: str) -> None:
        from archive.db import normalise_url

        self.base = normalise_url(url)
        self.admin = self.base.set(drivername="postgresql").render_as_string(hide_password=False)
        self.prefix = f"gonghui_growth_{secrets.token_hex(4)}"
        self.made: list[str] = []
        self.count = 0

    def _create(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        self.made.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def template(self, arm: str) -> str:
        return self._create(f"{self.prefix}_{arm}")

    def fresh(self, arm: str, work: Path) -> str:
        self.count += 1
        return self._create(f"{self.prefix}_{self.count}", f"{self.prefix}_{arm}")

    def done(self, url: str) -> None:
        self._drop(url.rsplit("/", 1)[1])

    def _drop(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.remove(name)

    def server_cpu(self, url: str) -> BackendCPU:
        return BackendCPU(self.admin, url.rsplit("/", 1)[1])

    def close(self) -> None:
        for name in list(self.made):
            self._drop(name)


class BackendCPU(threading.Thread):
    """CPU seconds of the client backends connected to one database, sampled from /proc."""

    def __init__(self, admin_dsn: str, database: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.dsn, self.database, self.interval = admin_dsn, database, interval
        self.ticks: dict[int, int] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        import psycopg

        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.halt.wait(self.interval):
                for (pid,) in conn.execute(query, (self.database,)).fetchall():
                    try:
                        stat = Path(f"/proc/{pid}/stat").read_text()
                    except OSError:
                        continue  # gone since the query
                    fields = stat.rsplit(")", 1)[1].split()
                    self.ticks[pid] = max(self.ticks.get(pid, 0), int(fields[11]) + int(fields[12]))

    def stop(self) -> float:
        self.halt.set()
        self.join()
        return sum(self.ticks.values()) / _TICK


def prepare(archives: Any, corpus_articles: int, seed: int) -> dict[str, Any]:
    """Make both templates: migrated, and migrated + the loaded corpus; figures of the load."""
    from reprints_100k import Corpus, load

    from archive.db import make_engine, migrate

    figures: dict[str, Any] = {}
    for arm in ARMS:
        url = archives.template(arm)
        migrate(url)
        if arm == "100k":
            engine = make_engine(url)
            corpus = Corpus(seed, corpus_articles, "clauses")
            loaded = load(engine, corpus, corpus_articles, os.cpu_count() or 1, PREFIX)
            engine.dispose()
            if url.startswith("sqlite:///"):  # everything into the file that is copied
                with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            figures = {"load_s": loaded["load_s"], "clusters_loaded": loaded["clusters_loaded"]}
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
        loads = {b.name: prepare(b, args.corpus, args.seed) for b in backends}
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
        backends_out[name] = {"medians": med, "ratio_100k_over_empty": ratio, **loads[name]}
    return {
        "date": dt.date.today().isoformat(),
        "articles_per_site": args.articles_per_site,
        "corpus": args.corpus,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "backends": backends_out,
        "runs": runs,
        "total_s": round(time.monotonic() - started, 1),
    }


def medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in rows[0].items():
        values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
        out[key] = round(statistics.median(values), 2) if values else value
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-per-site", type=int, default=300)
    parser.add_argument("--corpus", type=int, default=100_000, help="articles already archived")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per site")
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
