"""Per-response work Scrapy would do for nothing (issue 19, point 2), kept off.

crawler/settings.py turns off Scrapy's generator-return-value check (an ``ast.parse`` of the
callback's source on every response), so these tests make the check ourselves, once: no
callback or errback of the spider is a generator that returns a value. And the
charset_normalizer logger, held at WARNING by the crawl, makes no DEBUG records when a page's
charset is detected. The CPU these saved is measured by benchmarks/scrapy_overhead.py.
"""

from __future__ import annotations

import inspect
import logging

from scrapy.utils.misc import is_generator_with_return_value

from crawler.decode import decode_body
from crawler.logs import QuietFailures
from crawler.spiders.site import SiteSpider


def test_no_spider_callback_is_a_generator_that_returns_a_value() -> None:
    callbacks = [
        member
        for _, member in inspect.getmembers(SiteSpider, inspect.isfunction)
        if inspect.isgeneratorfunction(member) or inspect.isasyncgenfunction(member)
    ]
    assert len(callbacks) >= 3  # parse and the sitemap callbacks among them
    assert [c.__name__ for c in callbacks if is_generator_with_return_value(c)] == []


def test_charset_detection_makes_no_log_records_during_a_crawl() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("charset_normalizer")
    handler = Keep(level=logging.DEBUG)
    logger.addHandler(handler)
    previous, root_level = logger.level, logging.getLogger().level
    try:
        page = "<html><body><p>" + "西宁市总工会举办职工技能大赛。" * 40 + "</p></body></html>"
        logger.setLevel(logging.NOTSET)
        logging.getLogger().setLevel(logging.DEBUG)  # as Scrapy's root handler lets through
        decode_body(page.encode("gb18030"), "text/html")
        assert records, "the detector logs at DEBUG when nothing holds it"
        records.clear()
        QuietFailures()  # what the crawl's extension does at start
        decode_body(page.encode("gb18030"), "text/html")
        assert records == []
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
        logging.getLogger().setLevel(root_level)
