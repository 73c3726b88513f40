#!/usr/bin/env python3
"""Crawl workers (issue 18): sites per hour on 1, 2 and 4 `gonghui worker` processes.

    .venv/bin/python benchmarks/workers.py [--copies 4] [--articles-per-site 8] [--delay 1.0]
        [--workers 1,2,4] [--readme README.md]

1. The world of benchmarks/crawl_world.py (the five replica sites, ``--articles-per-site``
   synthetic articles each), served ``--copies`` times: each copy on its own ephemeral ports
   of 127.0.0.1, so 5 x copies sites on as many hosts. A host is ``host:port`` here, as for
   the crawler's per-host politeness (crawler/hostgate.py) and the job lock (jobs/defer.py):
   two servers on one address and different ports are two hosts.
2. A seeds folder with one seed per served site (``qhzgh0`` ... ``tibet33``): the shipped
   seed, its id and base_url changed, and a per-host delay of ``--delay`` s (no AutoThrottle,
   one request at a time): a polite crawl, where the waiting dominates.
3. For each worker count, in this one invocation: a fresh PostgreSQL database on the local
   server, ``gonghui enqueue --all``, N ``gonghui worker`` processes started, the clock runs
   until every job has ended; then the workers are stopped and the database dropped. Sites
   per hour = sites / that wall time; speed-up = its ratio to the 1-worker row.

Every job must succeed and every site's run finish; the rows also check that no two runs of
one host overlapped. One JSON line is printed; ``--readme`` rewrites the section between
``<!-- workers:begin -->`` and ``<!-- workers:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "benchmarks")) if p not in sys.path]

ADMIN_URL = os.environ.get(
    "GONGHUI_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def write_seeds(folder: Path, servers: list[Any], delay: float) -> dict[str, str]:
    """One seed per served site; returns site id -> origin."""
    folder.mkdir()
    origins = {}
    for copy, server in enumerate(servers):
        for site_id, origin in server.origins.items():
            new_id = f"{site_id}{copy}"
            text = (ROOT / "seeds" / f"{site_id}.toml").read_text(encoding="utf-8")
            text = re.sub(r'^id = ".*"$', f'id = "{new_id}"', text, flags=re.M)
            text = re.sub(r'^base_url = ".*"$', f'base_url = "{origin}/"', text, flags=re.M)
            text = re.sub(r"\n\[politeness\]\n(?:[^\[\n].*\n|\n)*", "\n", text)
            text += (
                "\n[politeness]\n# benchmarks/workers.py: a polite crawl of a local world\n"
                f"download_delay = {delay}\nautothrottle = false\nconcurrent_requests = 1\n"
                "max_pages = 100000\n"
            )
            (folder / f"{new_id}.toml").write_text(text, encoding="utf-8")
            origins[new_id] = origin
    return origins


def gonghui(url: str, work: Path, seeds: Path, *args: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler.cli.main",
        "--database",
        url,
        "--warc-dir",
        str(work / "warc"),
        "--seeds-dir",
        str(seeds),
        *args,
    ]


def _rows(url: str, sql: str) -> list[dict[str, Any]]:
    from sqlalchemy import text

    from archive.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql))]
    finally:
        engine.dispose()


def _admin(sql: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(sql))
    finally:
        engine.dispose()


def measure(workers: int, seeds: Path, origins: dict[str, str], work: Path) -> dict[str, Any]:
    from sqlalchemy.engine import make_url

    from jobs.defer import host_lock

    name = f"gonghui_bench_workers_{os.getpid()}_{workers}"
    _admin(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    procs: list[subprocess.Popen[bytes]] = []
    try:
        enqueue = subprocess.run(
            gonghui(url, work, seeds, "enqueue", "--all"), capture_output=True, text=True
        )
        assert enqueue.returncode == 0, enqueue.stderr
        log = (work / f"workers-{workers}.log").open("wb")
        start = time.monotonic()
        for _ in range(workers):
            procs.append(
                subprocess.Popen(
                    gonghui(url, work, seeds, "worker"), stdout=log, stderr=subprocess.STDOUT
                )
            )
        while True:
            jobs = _rows(url, "SELECT status::text AS s FROM procrastinate_jobs")
            if jobs and all(j["s"] in ("succeeded", "failed") for j in jobs):
                break
            if time.monotonic() - start > 3600:
                raise SystemExit(f"{workers} workers: jobs not done in an hour")
            time.sleep(0.2)
        wall = time.monotonic() - start
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
        runs = _rows(
            url,
            "SELECT site_id, status, started_at, finished_at, pages_fetched, articles_archived "
            "FROM run ORDER BY started_at",
        )
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    overlaps = 0
    by_host: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        by_host.setdefault(host_lock(origins[r["site_id"]]), []).append(r)
    for host_runs in by_host.values():
        for a, b in itertools.pairwise(host_runs):
            overlaps += a["finished_at"] > b["started_at"]
    sites = len(origins)
    return {
        "workers": workers,
        "sites": sites,
        "jobs_succeeded": sum(j["s"] == "succeeded" for j in jobs),
        "runs_finished": sum(r["status"] == "finished" for r in runs),
        "pages": sum(r["pages_fetched"] for r in runs),
        "articles": sum(r["articles_archived"] for r in runs),
        "wall_s": round(wall, 1),
        "sites_per_hour": round(sites * 3600 / wall, 1),
        "host_overlaps": overlaps,
    }


def readme_text(result: dict[str, Any]) -> str:
    rows = result["rows"]
    lines = [
        f"Measured {result['date']} (`uptime` load average before the runs: {result['load']}); "
        f"{result['sites']} sites ({result['copies']} copies of the 5-site world, "
        f"{result['articles_per_site']} articles each), per-host delay {result['delay']} s, "
        "one request at a time per host:",
        "",
        "| workers | jobs succeeded | pages | articles | wall s | sites per hour | speed-up "
        "| runs of one host overlapping |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = rows[0]["sites_per_hour"]
    for r in rows:
        lines.append(
            f"| {r['workers']} | {r['jobs_succeeded']}/{r['sites']} | {r['pages']} "
            f"| {r['articles']} | {r['wall_s']} | {r['sites_per_hour']} "
            f"| {r['sites_per_hour'] / base:.2f}x | {r['host_overlaps']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4)
    parser.add_argument("--articles-per-site", type=int, default=8)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args()

    from world_data import build_world
    from world_server import WorldServer

    from crawler.replica.pages import render_site

    world = build_world(args.articles_per_site)
    pages = {s: render_site(site) for s, site in world.sites.items()}
    servers = [WorldServer(pages).start() for _ in range(args.copies)]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="gonghui-workers-") as tmp:
            seeds = Path(tmp) / "seeds"
            origins = write_seeds(seeds, servers, args.delay)
            for n in (int(x) for x in args.workers.split(",")):
                work = Path(tmp) / f"w{n}"
                work.mkdir()
                rows.append(measure(n, seeds, origins, work))
                print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    finally:
        for server in servers:
            server.stop()
    result = {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load": load,
        "copies": args.copies,
        "sites": len(origins),
        "articles_per_site": args.articles_per_site,
        "delay": args.delay,
        "rows": rows,
    }
    print(json.dumps(result))
    if args.readme:
        from world_readme import write_section

        write_section(args.readme, "workers", readme_text(result))


if __name__ == "__main__":
    main()
