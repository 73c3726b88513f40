"""Store every fetched page in the archive: capture always, article version when valid.

The pipeline only adapts: extraction is crawler.extract, storage is archive.store, faults are
crawler.pipelines.guard (retried, or owed to the next run), the run's verdict is
crawler.outcome. A page is planned (extracted) as it arrives and stored with the next batch
(GONGHUI_BATCH_PAGES pages or GONGHUI_BATCH_SECONDS, whichever comes first; the rest when the
spider closes): its WARC records, then one transaction for the batch (archive/store_batch.py).
Every page that does not become an article version is counted under a reason
(stats ``gonghui/drop/*`` and the run row), so nothing disappears silently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from archive import faults, ledger
from archive.config import load_settings
from archive.errors import GonghuiError
from archive.owed import Owed, append_journal
from archive.records import RunCounts
from archive.store import Archive, PageStored, PageWrite
from archive.urls import canonical_url
from archive.warc import WarcLocation
from crawler import outcome
from crawler.items import PageItem
from crawler.monitor import crawl_figures
from crawler.outcome import NORMAL_FINISH_REASONS
from crawler.pipelines.guard import SPLIT, STORAGE_ERROR, StorageGuard, backoff
from crawler.pipelines.page_plan import PagePlan, plan_page

__all__ = ["NORMAL_FINISH_REASONS", "ArchivePipeline"]

logger = logging.getLogger(__name__)
# Stats that are also fields of the run row's counts (archive.records.RunCounts).
_COUNTED = ("pages_fetched", "articles_archived", "new_versions", "removals")
BATCH_BYTES = 4 << 20  # a batch is stored once its pages hold this many bytes


@dataclass(slots=True)
class Pending:
    """A planned page waiting for its batch: the WARC records, then the transaction."""

    item: PageItem
    plan: PagePlan
    warc: WarcLocation | None = None  # where its records went, once written


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
        storage_patience: float = 60.0,
        batch_pages: int = 50,
        batch_seconds: float = 2.0,
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
        self.storage_patience = storage_patience
        self._lease: task.LoopingCall | None = None
        self.counts = RunCounts()
        self.guard: StorageGuard | None = None
        self._owed: set[str] = set()  # canonical URLs of pages earlier runs owe
        self.batch_pages = batch_pages
        self.batch_seconds = batch_seconds
        self._batch: list[Pending] = []
        self._batch_since = 0.0
        self._batch_bytes = 0
        self._batch_timer: task.LoopingCall | None = None
        self._flushing = asyncio.Lock()
        self._run_closed = asyncio.Event()  # set once spider_closed is done with the run

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
            storage_patience=env.storage_patience,
            batch_pages=env.batch_pages,
            batch_seconds=env.batch_seconds,
        )
        # The run is closed from spider_closed, the first place that knows why the crawl ended
        # (pipelines close before Scrapy records finish_reason).
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.engine_stopped, signal=signals.engine_stopped)
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
        # Pages earlier runs fetched but could not store: asked for before anything else.
        owed = self.archive.owed_pages(seed.id)
        self.spider.owed = owed  # type: ignore[attr-defined]
        self._owed = {page.canonical_url for page in owed}
        if owed:
            self.stats.set_value("gonghui/owed_asked", len(owed))
        self.guard = StorageGuard(self.crawler, self.storage_patience, self._record_owed)
        self._lease = task.LoopingCall(self._renew_lease)
        self._lease.start(ledger.LEASE_SECONDS / 3, now=False)
        self._batch_timer = task.LoopingCall(self._flush_if_old)
        self._batch_timer.start(max(self.batch_seconds / 2, 0.05), now=False)

    def _renew_lease(self) -> None:
        if self.archive is None or self.run_id is None:
            return
        try:
            renewed = self.archive.renew_lease(self.run_id)
        except GonghuiError as exc:  # the database is out of reach for now: try next time
            logger.warning("could not renew the site's lease: %s", exc)
            return
        if not renewed:
            reason = "stopped: another process took the site's lease (this crawl stalled)"
            self.stats.set_value("gonghui/stop_reason", reason)
            assert self.crawler.engine is not None
            self.crawler.engine.close_spider(self.spider, "lease_lost")

    async def engine_stopped(self) -> None:
        """Hold the engine's stop until the run is closed.

        A signal (SIGTERM, Ctrl-C) that comes while the spider is already closing (the site
        done, its last batch waiting for a locked database) stops the engine without waiting
        for that close: Scrapy's ``ExecutionEngine.stop_async`` returns as soon as the
        downloads are done, and the reactor stopped under ``spider_closed``. The run stayed
        open, the batch was neither stored nor owed, and the table said "finished" with exit
        0. The engine's stop awaits this handler, so the process now ends only once the run is
        closed (the signal makes the close quick: one more try at storing, then owed).
        The engine still holds its spider only while a close is under way."""
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None and self.run_id is not None:
            await self._run_closed.wait()

    async def spider_closed(self, reason: str) -> None:
        """Close the run: its status, counts and why it stopped, the pages it owes. The run row,
        the crawl table (stats ``gonghui/outcome``) and the exit code say the same."""
        try:
            await self._close_run(reason)
        finally:
            self._run_closed.set()
            self.crawler.signals.send_catch_log(signal=outcome.RUN_CLOSED)

    async def _close_run(self, reason: str) -> None:
        if self.archive is None or self.run_id is None:
            return
        if self._lease is not None and self._lease.running:
            self._lease.stop()
        if self._batch_timer is not None and self._batch_timer.running:
            self._batch_timer.stop()
        await self.flush()  # the pages still waiting for their batch
        if self.guard is not None and self.guard.stopped and reason in NORMAL_FINISH_REASONS:
            reason = STORAGE_ERROR  # the last batch failed as the crawl was ending
        guard, archive, site_id = self.guard, self.archive, self.spider.site_id  # type: ignore[union-attr]
        if guard is not None and guard.unrecorded:  # debts no record could take yet
            try:
                archive.owe(self.run_id, site_id, guard.unrecorded)
            except GonghuiError as exc:
                logger.error("%d owed pages could not be recorded: %s", len(guard.unrecorded), exc)
        if guard is not None and guard.owed:
            self.stats.set_value("gonghui/owed", len(guard.owed))
        stats = self.stats.get_stats()
        result = outcome.judge(reason, stats, self.spider)
        self.stats.set_value("gonghui/outcome", result.finish_reason)
        if result.stop_reason and not stats.get("gonghui/stop_reason"):
            self.stats.set_value("gonghui/stop_reason", result.stop_reason)
        self.counts.errors = sum(outcome.errors_of(stats).values())
        self.counts.drops = dict(outcome.drops_of(stats))
        # A stop by signal (SIGTERM, Ctrl-C), also one that came while the spider was closing,
        # does not wait for the database: one try, and the next crawl marks the run
        # interrupted if it fails.
        stopping = reason == "shutdown" or not self.crawler.crawling
        pauses = () if stopping else backoff(self.storage_patience)
        for wait in (*pauses, None):
            try:
                archive.finish_run(
                    self.run_id,
                    result.status,
                    self.counts,
                    result.stop_reason,
                    figures=crawl_figures(stats),  # for its coverage (archive.coverage)
                    monitor=self.spider.seed.monitor,  # type: ignore[union-attr]
                )
                break
            except GonghuiError as exc:
                if wait is None or faults.classify(exc) != faults.TRANSIENT:
                    # Said under the table (the log is quiet without -v), not as a second line.
                    unclosed = (
                        f"{result.stop_reason or 'finished'}; the run row could not be closed "
                        f"({exc}): the next crawl of {site_id} marks it interrupted"
                    )
                    self.stats.set_value("gonghui/stop_reason", unclosed)
                    logger.warning("%s", unclosed)
                    break
                await asyncio.sleep(wait)
        archive.close()
        self.archive = None

    def _record_owed(self, pages: list[Owed], database: bool) -> None:
        """Record debts at once: in the database (its journal if it fails), or straight in the
        journal when the database is what stopped the site (it would only make us wait)."""
        assert self.archive is not None and self.spider is not None
        site_id = self.spider.site_id  # type: ignore[attr-defined]
        if database:
            self.archive.owe(self.run_id, site_id, pages)
        else:
            append_journal(self.warc_dir, site_id, self.run_id, pages)

    async def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        """Plan the page now (extraction, outside any transaction); its WARC records and rows
        are written with the next batch."""
        if not isinstance(item, PageItem) or self.archive is None or self.guard is None:
            return item
        if self.guard.stopped is not None:
            self.guard.owe([item], f"not stored: {self.guard.stopped}")
            return item
        try:
            plan = plan_page(item, self.spider.seed.extract)  # type: ignore[union-attr]
        except Exception as exc:  # a bug costs this page, counted and owed, never the crawl
            self.guard.page_failed(item, exc)
            return item
        item.doc = None  # the tree is the page's largest object: not kept for the batch
        if not self._batch:
            self._batch_since, self._batch_bytes = time.monotonic(), 0
        self._batch.append(Pending(item, plan))
        # Bytes bound the batch too: a sitemap of tens of MB is not held for 2 s beside others.
        self._batch_bytes += len(item.fetch.body) + len(item.fetch.raw_response or b"")
        if len(self._batch) >= self.batch_pages or self._batch_bytes >= BATCH_BYTES:
            await self.flush()
        return item

    async def flush(self) -> None:
        """Store the waiting pages in one transaction; page by page if that fails on a fault
        that is not fatal. Returns once every page handed in before the call is stored or
        owed (a flush already under way is waited for: the run's close relies on it)."""
        async with self._flushing:
            batch, self._batch = self._batch, []
            if not batch or self.guard is None:
                return
            items = [p.item for p in batch]
            if await self.guard.store(items, lambda _: self._commit(batch)) == SPLIT:
                for one in batch:
                    await self.guard.store([one.item], lambda _, p=one: self._commit([p]))

    def _flush_if_old(self) -> None:
        if self._batch and time.monotonic() - self._batch_since >= self.batch_seconds:
            deferred_from_coro(self.flush())

    def _commit(self, batch: list[Pending]) -> None:
        """One transaction for the batch: captures, confirmations, removals, versions and the
        settling of earlier runs' debts. Counts move only once it is committed."""
        assert self.archive is not None and self.run_id is not None
        archive = self.archive
        # The WARC records first (a row never names bytes that are not there), written once
        # across the guard's retries; one statement finds the revisits of the whole batch.
        unwritten = [p for p in batch if p.warc is None]
        if unwritten:
            site_id = unwritten[0].item.site_id
            fetches = [p.item.fetch for p in unwritten]
            for p, where in zip(
                unwritten, archive.write_warcs(self.run_id, site_id, fetches), strict=True
            ):
                p.warc = where
        writes = [
            PageWrite(
                self.run_id,
                p.item.site_id,
                p.item.fetch,
                p.warc,  # type: ignore[arg-type]
                confirm=p.plan.confirm,
                removal=p.plan.removal,
                fields=p.plan.fields,
            )
            for p in batch
        ]
        # Only while earlier runs' debts are open: the store canonicalises the URL itself.
        canons = (
            [canonical_url(w.fetch.page_url or w.fetch.url) for w in writes] if self._owed else []
        )
        settled = [c for c in canons if c in self._owed]
        with archive.transaction():
            results = archive.store_pages(writes)
            if settled:
                archive.settle_owed(self.spider.site_id, settled)  # type: ignore[union-attr]
        self._owed.difference_update(settled)
        if settled:
            self.stats.inc_value("gonghui/owed_settled", len(settled))
        for pending, stored in zip(batch, results, strict=True):
            self._tally(pending.plan, stored)

    def _tally(self, plan: PagePlan, stored: PageStored) -> None:
        tally = ["pages_fetched"]
        if plan.confirm and stored.confirmed:
            tally.append("not_modified")
        else:
            if stored.removal is not None and stored.removal.is_new_version:
                tally.append("removals")
            if stored.article is not None:
                tally.append("articles_archived")
                if plan.fallback:
                    tally.append("extract/fallback")  # crawler.monitor.FALLBACK
                if stored.article.is_new_version:
                    tally.append("new_versions")
            if plan.drop is not None:
                tally.append(f"drop/{plan.drop}")
        for name in tally:
            self.stats.inc_value(f"gonghui/{name}")
            if name in _COUNTED:
                setattr(self.counts, name, getattr(self.counts, name) + 1)
