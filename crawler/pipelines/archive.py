"""Store every fetched page in the archive: capture always, article version when valid.

The pipeline only adapts: extraction is crawler.extract, storage is archive.store. Every page
that does not become an article version is counted under a reason (stats ``gonghui/drop/*``
and the run row), so nothing disappears silently.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from twisted.internet import task

from archive import ledger
from archive.config import load_settings
from archive.records import RunCounts
from archive.store import Archive
from crawler.extract.article import extract_article
from crawler.extract.gone import is_soft_404
from crawler.items import PageItem

# Scrapy finish reasons of a crawl that ended normally; anything else (shutdown on SIGTERM,
# an error) marks the run failed.
NORMAL_FINISH_REASONS = ("finished", "closespider_pagecount")


class ArchivePipeline:
    def __init__(
        self,
        crawler: Crawler,
        stats: StatsCollector,
        database_url: str,
        warc_dir: Path,
        trigger: str,
        migrate: bool,
        run_id: int | None = None,
    ):
        self.crawler = crawler
        self.spider: Spider | None = None
        self.stats = stats
        self.database_url = database_url
        self.warc_dir = warc_dir
        self.trigger = trigger
        self.migrate = migrate
        self.archive: Archive | None = None
        self.run_id: int | None = run_id
        self._lease: task.LoopingCall | None = None
        self.counts = RunCounts()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        env = load_settings()
        s = crawler.settings
        assert crawler.stats is not None
        pipeline = cls(
            crawler=crawler,
            stats=crawler.stats,
            database_url=s.get("GONGHUI_DATABASE_URL") or env.database_url,
            warc_dir=Path(s.get("GONGHUI_WARC_DIR") or env.warc_dir),
            trigger=s.get("GONGHUI_TRIGGER", "manual"),
            migrate=s.getbool("GONGHUI_MIGRATE", True),
            run_id=s.getint("GONGHUI_RUN_ID") or None,
        )
        # The run is closed from spider_closed, the first place that knows why the crawl ended
        # (pipelines close before Scrapy records finish_reason).
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    # ``spider`` is optional: Scrapy 2.19 stopped passing it (the crawler knows the spider).
    def open_spider(self, spider: Spider | None = None) -> None:
        self.spider = spider or self.crawler.spider
        seed = self.spider.seed  # type: ignore[attr-defined]
        self.archive = Archive.open(self.database_url, self.warc_dir, migrate=self.migrate)
        self.archive.ensure_site(seed.id, seed.name, seed.base_url)
        # `gonghui crawl` opens the run (and takes the site's lease) before Scrapy starts, so a
        # busy site is refused with one line; `scrapy crawl` directly opens it here.
        self.run_id = self.run_id or self.archive.start_run(seed.id, self.trigger)
        self.stats.set_value("gonghui/run_id", self.run_id)
        # The spider's plan: how much to revisit (the run's mode) and, for a run carrying on an
        # interrupted one, the articles that one archived, not to be fetched again.
        self.spider.crawl_mode = self.archive.run_mode(self.run_id)  # type: ignore[attr-defined]
        skip = self.archive.resume_skip(self.run_id)
        self.spider.resume_skip = skip  # type: ignore[attr-defined]
        if skip:
            self.stats.set_value("gonghui/resume/known", len(skip))
        self._lease = task.LoopingCall(self._renew_lease)
        self._lease.start(ledger.LEASE_SECONDS / 3, now=False)

    def _renew_lease(self) -> None:
        if self.archive is None or self.run_id is None:
            return
        if not self.archive.renew_lease(self.run_id):
            reason = "stopped: another process took the site's lease (this crawl stalled)"
            self.stats.set_value("gonghui/stop_reason", reason)
            assert self.crawler.engine is not None
            self.crawler.engine.close_spider(self.spider, "lease_lost")

    def spider_closed(self, reason: str) -> None:
        if self.archive is None or self.run_id is None:
            return
        self.counts.errors = sum(
            v for k, v in self.stats.get_stats().items() if k.startswith("gonghui/error/")
        )
        robots = self.stats.get_value("robotstxt/forbidden", 0)
        if robots:
            self.counts.drops["robots_disallowed"] = robots
        if self._lease is not None and self._lease.running:
            self._lease.stop()
        status = "finished" if reason in NORMAL_FINISH_REASONS else "failed"
        stop_reason = self.stats.get_value("gonghui/stop_reason") or (
            None if status == "finished" else f"crawl ended: {reason}"
        )
        self.archive.finish_run(self.run_id, status, self.counts, stop_reason)
        self.archive.close()
        self.archive = None

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, PageItem) or self.archive is None or self.run_id is None:
            return item
        seed = self.spider.seed  # type: ignore[attr-defined]
        fetch = item.fetch
        capture_id = self.archive.record_capture(self.run_id, item.site_id, fetch)
        self.counts.pages_fetched += 1
        self.stats.inc_value("gonghui/pages_fetched")
        if fetch.status == 304 and item.kind == "article":
            # A conditional re-check: the archived version is still current. Not a drop.
            if self.archive.confirm_unchanged(capture_id):
                self.stats.inc_value("gonghui/not_modified")
                return item
        if fetch.status >= 300:
            if item.kind == "article" and fetch.status in (404, 410):
                self._removed(capture_id, f"http_{fetch.status}")
            elif item.gone:
                self._removed(capture_id, item.gone)
            return self._drop(item, item.gone or f"http_{fetch.status}")
        if item.kind != "article":
            return item
        if fetch.encoding is None:
            return self._drop(item, "not_html")
        try:
            result = extract_article(item.text, fetch.page_url or fetch.url, seed.extract)
        except Exception:  # a bug must cost one page, counted, never the crawl
            self.spider.logger.exception("extraction failed on %s", fetch.url)
            return self._drop(item, "extract_error")
        body = result.fields.body if result.fields else None
        if is_soft_404(item.text, body):
            self._removed(capture_id, "soft_404")
            return self._drop(item, "soft_404")
        if result.drop_reason or result.fields is None:
            return self._drop(item, result.drop_reason or "not_extracted")
        outcome = self.archive.record_article(capture_id, result.fields)
        self.counts.articles_archived += 1
        self.stats.inc_value("gonghui/articles_archived")
        if outcome.is_new_version:
            self.counts.new_versions += 1
            self.stats.inc_value("gonghui/new_versions")
        return item

    def _removed(self, capture_id: int, removal: str) -> None:
        """An archived article answered as gone: its page is marked removed (once)."""
        assert self.archive is not None
        outcome = self.archive.record_removal(capture_id, removal)
        if outcome is not None and outcome.is_new_version:
            self.counts.removals += 1
            self.stats.inc_value("gonghui/removals")

    def _drop(self, item: PageItem, reason: str) -> PageItem:
        # Returned, not raised as DropItem: the capture is stored, only the article is not.
        self.counts.drops[reason] = self.counts.drops.get(reason, 0) + 1
        self.stats.inc_value(f"gonghui/drop/{reason}")
        return item
