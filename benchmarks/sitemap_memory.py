#!/usr/bin/env python3
"""A crawl facing a sitemap index that names six sitemaps of 450,000 URLs each: memory, time,
and how fast a SIGTERM in the middle of it ends the process.

    .venv/bin/python benchmarks/sitemap_memory.py [--sitemaps 6] [--urls 450000]
        [--max-pages 40] [--sigterm-at 2]

The site and the measurement are tests/test_sitemap_limits.py's (a threaded http.server on
127.0.0.1 serving generated sitemap files; each `gonghui crawl bigmap -v` started through a
small helper process that samples its RSS and reads its ru_maxrss with wait4, so pytest's or
this script's own size does not leak into the figure). Two crawls, each on a fresh SQLite
archive, all articles new:

1. to the end: peak RSS (MB), wall seconds, RSS when the second sitemap was asked for and when
   the last one had been read (the first article request), what the sitemaps counted;
2. SIGTERM once the ``--sigterm-at``-th sitemap has been served and 0.5 s of it read: seconds
   from the signal to the process's exit, its exit status, the run's status in the archive.

One JSON line is printed. Measured (six sitemaps of 45.5 MB, max_pages 40): peak RSS 191 MB,
RSS 188 MB when the second sitemap was asked for and 188 MB after the last (flat), 26 s wall
(24 s reading 2,700,000 entries), 40 articles asked for and 2,699,960 counted over the cap;
SIGTERM during the second sitemap: exit 0.3 s later, status 1, the run failed. Before the
streaming reader and the cap, six sitemaps of 100,000 URLs took 1.75 GB and 104 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from archive.db import make_engine  # noqa: E402
from archive.models import Run  # noqa: E402
from tests.test_sitemap_limits import MeasuredCrawl, SitemapSite, crawl_argv, stat  # noqa: E402


def full_crawl(site: SitemapSite, folder: Path, max_pages: int) -> dict:
    mark = len(site.hits)
    done = MeasuredCrawl(crawl_argv(site, folder, max_pages), folder / "crawl.log").wait(3600)
    hits = site.hits[mark:]
    maps = [at for at, p in hits if p.startswith("/sitemaps/")]
    first_article = next((at for at, p in hits if p.startswith("/html/")), done.ended)
    return {
        "returncode": done.returncode,
        "peak_rss_mb": round(done.peak_mb, 1),
        "wall_s": round(done.wall, 1),
        "sitemaps_read_s": round(first_article - maps[0], 1) if maps else None,
        "rss_mb_at_second_sitemap": round(done.rss_at(maps[1]), 1) if len(maps) > 1 else None,
        "rss_mb_after_last_sitemap": round(done.rss_at(first_article), 1),
        "sitemaps_fetched": len(maps),
        "articles_fetched": sum(p.startswith("/html/") for _, p in hits),
        **{f"stat_{name}": stat(done.log, name) for name in ("listed", "new", "over_cap")},
    }


def sigterm_crawl(site: SitemapSite, folder: Path, max_pages: int, at: int) -> dict:
    mark = len(site.hits)
    crawl = MeasuredCrawl(crawl_argv(site, folder, max_pages), folder / "crawl.log")
    while len(site.sitemaps_served(mark)) < at:
        time.sleep(0.02)
    time.sleep(0.5)
    sent = time.monotonic()
    os.kill(crawl.pid, signal.SIGTERM)
    done = crawl.wait(600)
    with Session(make_engine(f"sqlite:///{folder / 'archive.sqlite3'}")) as session:
        status, reason = session.execute(select(Run.status, Run.stop_reason)).one()
    return {
        "sigterm_to_exit_s": round(done.ended - sent, 2),
        "returncode": done.returncode,
        "run_status": status,
        "stop_reason": reason,
        "sitemaps_fetched": len(site.sitemaps_served(mark)),
        "peak_rss_mb": round(done.peak_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sitemaps", type=int, default=6)
    parser.add_argument("--urls", type=int, default=450_000, help="URLs per sitemap")
    parser.add_argument("--max-pages", type=int, default=40)
    parser.add_argument("--sigterm-at", type=int, default=2, help="SIGTERM during this sitemap")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sitemap_memory_") as tmp:
        folder = Path(tmp)
        started = time.monotonic()
        with SitemapSite(folder / "sitemaps", args.sitemaps, args.urls) as site:
            sizes = [f.stat().st_size for f in (folder / "sitemaps").glob("*.xml")]
            generated = time.monotonic() - started
            full = full_crawl(site, folder / "full", args.max_pages)
            stopped = sigterm_crawl(site, folder / "sigterm", args.max_pages, args.sigterm_at)
    print(
        json.dumps(
            {
                "sitemaps": args.sitemaps,
                "urls_per_sitemap": args.urls,
                "largest_sitemap_mb": round(max(sizes) / 2**20, 1),
                "max_pages": args.max_pages,
                "generated_s": round(generated, 1),
                "full": full,
                "sigterm": stopped,
            }
        )
    )


if __name__ == "__main__":
    main()
