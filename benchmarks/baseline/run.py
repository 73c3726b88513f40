#!/usr/bin/env python3
"""Run the baseline spider once: the baseline (extract + SQLite) or, with --bare, bare Scrapy.

    python benchmarks/baseline/run.py --config sites.json --db out.sqlite3 --stats stats.json
        [--concurrency 4] [--bare]

Scrapy's defaults but the politeness of the benchmark's relaxed seeds: robots.txt obeyed, no
delay, no AutoThrottle, ``--concurrency`` requests in flight per site; log level INFO. The
crawl's Scrapy stats are written to ``--stats`` as JSON when it ends.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from scrapy.crawler import CrawlerProcess
from spider import BaselineSpider


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--db", required=True)
    parser.add_argument("--stats", type=Path, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--bare", action="store_true")
    args = parser.parse_args()
    sites = len(json.loads(Path(args.config).read_text(encoding="utf-8"))["sites"])
    settings = {
        "ROBOTSTXT_OBEY": True,
        "DOWNLOAD_DELAY": 0,
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": args.concurrency * sites,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "LOG_LEVEL": "INFO",
        "BASELINE_DB": args.db,
        "ITEM_PIPELINES": {} if args.bare else {"pipelines.SQLitePipeline": 300},
    }
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BaselineSpider)
    process.crawl(crawler, config=args.config, bare=args.bare)
    process.start()
    stats = crawler.stats.get_stats() if crawler.stats else {}
    args.stats.write_text(json.dumps(stats, default=str), encoding="utf-8")


if __name__ == "__main__":
    main()
