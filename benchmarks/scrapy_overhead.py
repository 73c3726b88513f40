#!/usr/bin/env python3
"""What three Scrapy defaults cost per archived article, before and after, in one invocation.

    .venv/bin/python benchmarks/scrapy_overhead.py [--articles-per-site 300] [--rounds 3]

Issue 19 found Scrapy doing per-response work for nothing here: CONCURRENT_ITEMS = 100 (100
asyncio workers started per response), the generator-return-value check (``ast.parse`` of the
callback's source on every response) and charset_normalizer's DEBUG records (about 114 per
detection, made and thrown away). The project's settings now turn them down
(crawler/settings.py, crawler/logs.py). This runs the first crawl of the replica world
(benchmarks/crawl_world.py's world, seeds and helper process) alternately

- **before**: ``gonghui crawl`` with those three put back as Scrapy's defaults (patched into
  the crawl process before it starts: crawler.settings and crawler.logs.QUIET_LEVELS);
- **after**: ``gonghui crawl`` as shipped;

``--rounds`` times each, on a fresh SQLite archive every time, and prints the median CPU ms
per archived article of each arm and their ratio (one JSON line). The machine is noisy, so
the arms alternate and the medians are compared, not single runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from crawl_world import Launcher, crawl_argv, relaxed_seeds  # noqa: E402

# Run as `python -c BEFORE gonghui-args...`: Scrapy's defaults back, then the CLI.
BEFORE = (
    "import logging, sys; import crawler.settings as s, crawler.logs as l; "
    "s.CONCURRENT_ITEMS = 100; s.WARN_ON_GENERATOR_RETURN_VALUE = True; "
    "l.QUIET_LEVELS.clear(); logging.getLogger('charset_normalizer').setLevel(logging.NOTSET); "
    "from crawler.cli.main import cli; sys.argv[0] = 'gonghui'; cli()"
)
AFTER = "import sys; from crawler.cli.main import cli; sys.argv[0] = 'gonghui'; cli()"


def crawl_once(launcher: Launcher, server: Any, work: Path, code: str) -> dict[str, Any]:
    work.mkdir()
    argv = crawl_argv(work, work.parent / "seeds", server, [sys.executable, "-c", code])
    measured = launcher.run(argv, ROOT, work / "crawl.log")
    if measured["returncode"] != 0:
        tail = (work / "crawl.log").read_text(errors="replace")[-2000:]
        raise SystemExit(f"crawl exited {measured['returncode']}:\n{tail}")
    import sqlite3

    with sqlite3.connect(work / "archive.sqlite3") as conn:
        (articles,) = conn.execute("SELECT sum(articles_archived) FROM run").fetchone()
    cpu = measured["utime"] + measured["stime"]
    return {
        "articles": articles,
        "cpu_s": round(cpu, 2),
        "wall_s": round(measured["wall"], 2),
        "cpu_ms_per_article": round(1000 * cpu / articles, 2),
        "peak_rss_mb": round(measured["maxrss_kb"] / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-per-site", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    launcher = Launcher()  # first, while this process is small
    try:
        with tempfile.TemporaryDirectory(prefix="scrapy_overhead_") as tmp:
            result = run(args, launcher, Path(tmp))
    finally:
        launcher.close()
    print(json.dumps(result))


def run(args: argparse.Namespace, launcher: Launcher, work: Path) -> dict[str, Any]:
    from world_data import build_world
    from world_server import WorldServer

    from crawler.replica.pages import render_site

    world = build_world(args.articles_per_site, args.seed)
    pages = {s: render_site(site) for s, site in world.sites.items()}
    relaxed_seeds(work / "seeds", 4)
    arms: dict[str, list[dict[str, Any]]] = {"before": [], "after": []}
    with WorldServer(pages) as server:
        for n in range(args.rounds):
            for arm, code in (("before", BEFORE), ("after", AFTER)):
                arms[arm].append(crawl_once(launcher, server, work / f"{arm}{n}", code))
    median = {
        arm: statistics.median(r["cpu_ms_per_article"] for r in runs) for arm, runs in arms.items()
    }
    return {
        "articles_per_site": args.articles_per_site,
        "rounds": args.rounds,
        "median_cpu_ms_per_article": median,
        "after_over_before": round(median["after"] / median["before"], 3),
        "runs": arms,
    }


if __name__ == "__main__":
    main()
