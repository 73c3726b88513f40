"""The crawler a user would write in an afternoon instead of Gonghui Archive (issue 14).

A plain Scrapy ``CrawlSpider``: from the sites' start URLs it follows the links that match a
site's list patterns and hands the pages that match its article patterns to
``trafilatura.extract`` (with the title and date), one item per article; pipelines.py inserts
them into SQLite. With ``bare`` set it does nothing with the article pages (bare Scrapy).

Not product code: benchmarks/baseline_crawl.py runs it (through run.py) beside ``gonghui
crawl`` on the same replica world. The sites, start URLs and patterns come from a JSON file the
benchmark writes from the seeds, so both crawlers follow the same links.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import trafilatura
from scrapy import Request
from scrapy.linkextractors import LinkExtractor
from scrapy.spiders import CrawlSpider, Rule


def per_host(request: Request, response: Any) -> Request:
    """One download slot per host:port. The replica sites share 127.0.0.1 on different ports,
    where real sites have a host each; Scrapy keys its slots by host name alone."""
    request.meta["download_slot"] = urlsplit(request.url).netloc
    return request


class BaselineSpider(CrawlSpider):
    name = "baseline"

    def __init__(self, config: str, bare: bool = False, *args: Any, **kwargs: Any) -> None:
        sites = json.loads(Path(config).read_text(encoding="utf-8"))["sites"]
        self.start_urls = [url for site in sites for url in site["start_urls"]]
        self.allowed_domains = ["127.0.0.1"]
        self.bare = bare
        articles = [p for site in sites for p in site["article_patterns"]]
        lists = [p for site in sites for p in site["list_patterns"]]
        self.rules = (
            Rule(LinkExtractor(allow=articles), callback="parse_article", process_request=per_host),
            Rule(LinkExtractor(allow=lists), follow=True, process_request=per_host),
        )
        super().__init__(*args, **kwargs)

    async def start(self):  # type: ignore[override]
        for url in self.start_urls:
            yield Request(url, dont_filter=True, meta={"download_slot": urlsplit(url).netloc})

    def parse_article(self, response: Any):
        if self.bare:
            return
        doc = trafilatura.extract(
            response.text, url=response.url, output_format="json", with_metadata=True
        )
        if not doc:
            self.crawler.stats.inc_value("baseline/extract_empty")
            return
        data = json.loads(doc)
        yield {
            "url": response.url,
            "title": data.get("title"),
            "date": data.get("date"),
            "text": data.get("text") or "",
        }
