"""Storing a page through faults: retried while the fault may pass, owed when it does not.

The archive pipeline hands each batch of pages to ``StorageGuard.store`` (and a page alone
when a batch fails on a fault that is not fatal):

- a **transient** fault (``archive.faults``: SQLite's lock held past the busy timeout, a
  PostgreSQL connection terminated) is retried after 1, 2, 4 ... s (``backoff``) for as long
  as GONGHUI_STORAGE_PATIENCE allows (60 s), each retry on a fresh connection from the pool;
  one page or batch is stored at a time, so while one waits the others queue behind it (and
  Scrapy stops downloading once its scraper queue is full);
- a **fatal** fault (read-only database, full disk, unwritable WARC folder), or a transient
  one that outlasts the retries, stops the site's crawl at once with one line naming it;
- a fault of the **page** alone (a bug, a value refused) costs that page only (a batch it
  was in is stored again page by page).

Every page not stored is *owed* (``archive.owed``): the next run of the site asks for it
first. Pages that arrive after the site was stopped are owed without a try. The debt is
recorded at once (a kill later must not lose it): in the database, or straight in the
journal beside the WARC files when the database is what failed. The log gets one line per
fault, never the page's bytes or the item's repr.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from archive import faults
from archive.errors import GonghuiError, StorageError
from archive.owed import Owed
from archive.urls import canonical_url
from crawler.items import PageItem

logger = logging.getLogger(__name__)

# The longest pause between two attempts at storing a page through a transient fault.
MAX_PAUSE_SECONDS = 30.0
STORAGE_ERROR = "storage_error"  # the finish reason of a site stopped by a storage fault
STORED, OWED, SPLIT = "stored", "owed", "split"  # what StorageGuard.store did


def backoff(patience: float) -> tuple[float, ...]:
    """Pauses of 1, 2, 4 ... s (at most MAX_PAUSE_SECONDS each) adding up to ``patience``."""
    pauses: list[float] = []
    while sum(pauses) < patience:
        pauses.append(min(2.0 ** len(pauses), MAX_PAUSE_SECONDS, patience - sum(pauses)))
    return tuple(pauses)


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:240]


def owed_of(item: PageItem, reason: str) -> Owed:
    url = item.fetch.page_url or item.fetch.url
    return Owed(url, canonical_url(url), item.kind, reason)


# Records debts: (pages, whether the database may be tried) -> None; raises GonghuiError
# when it could record them nowhere.
OwedSink = Callable[[list[Owed], bool], None]


class StorageGuard:
    def __init__(self, crawler: Any, patience: float, record: OwedSink):
        self.crawler = crawler
        self.stats = crawler.stats
        self.backoff = backoff(patience)
        self.record = record
        self.owed: list[Owed] = []  # every page owed by this run
        self.unrecorded: list[Owed] = []  # of those, the ones no record could take yet
        self.stopped: str | None = None  # why the site was stopped, once it was
        self.database_down = False  # stopped because the database failed
        self._lock = asyncio.Lock()

    async def store(self, items: list[PageItem], work: Callable[[dict[str, Any]], None]) -> str:
        """Run ``work(state)`` (the storage steps of ``items``, one page or a batch; ``state``
        keeps what a step already did across retries) through the fault policy.

        ``STORED``, ``OWED`` (every item owed), or ``SPLIT``: a batch failed on a fault that is
        not fatal and was rolled back whole; the caller stores its pages one by one, each
        through this policy, so a faulty page costs itself only and a connection that keeps
        dropping can still pass short transactions.
        """
        if self.stopped is not None:
            self.owe(items, f"not stored: {self.stopped}")
            return OWED
        async with self._lock:
            state: dict[str, Any] = {}
            for attempt in range(len(self.backoff) + 1):
                if self.stopped is not None:  # stopped while these pages waited their turn
                    self.owe(items, f"not stored: {self.stopped}")
                    return OWED
                try:
                    work(state)
                    return STORED
                except Exception as exc:  # classified: nothing here escapes to Scrapy's log
                    error = exc
                kind, reason = faults.classify(error), one_line(error)
                if len(items) > 1 and kind != faults.FATAL:
                    # A batch is all or nothing: stored page by page from here, a fault costs
                    # one page (PAGE) or is retried on a page's short transaction (TRANSIENT).
                    return SPLIT
                if kind == faults.PAGE:
                    self.page_failed(items[0], error)
                    return OWED
                if kind == faults.FATAL:
                    self.database_down = not isinstance(error, StorageError)
                    self.stop(reason)
                    self.owe(items, reason)
                    return OWED
                if attempt == len(self.backoff) or not self.crawler.crawling:
                    tried = f"still failing after {attempt + 1} attempts: {reason}"
                    self.database_down = True
                    self.stop(tried)
                    self.owe(items, tried)
                    return OWED
                wait = self.backoff[attempt]
                self.stats.inc_value("gonghui/storage/retries")
                logger.warning("storage failed (%s); retrying in %.0f s", reason, wait)
                await self._pause(wait)
        return OWED  # not reached

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake as soon as the crawl is stopping (SIGTERM): the next attempt is
        then the last, and the page is owed if it fails."""
        deadline = asyncio.get_running_loop().time() + seconds
        while self.crawler.crawling:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                return
            await asyncio.sleep(min(left, 0.25))

    def owe(self, items: list[PageItem], reason: str) -> None:
        pages = [owed_of(item, reason) for item in items]
        self.owed += pages
        self.stats.inc_value("gonghui/error/not_stored", len(pages))
        try:
            self.record(pages, not self.database_down)
        except GonghuiError as exc:  # tried again when the run closes
            self.unrecorded += pages
            logger.warning("could not record the debt of %d pages yet: %s", len(pages), exc)

    def stop(self, reason: str) -> None:
        """Stop the site's crawl at once: every further page would fail the same way."""
        if self.stopped is not None:
            return
        self.stopped = reason
        text = f"stopped: storage failed: {reason}"
        self.stats.set_value("gonghui/stop_reason", text)
        logger.warning("%s", text)  # the crawl table says it too, under the site
        engine = self.crawler.engine
        if engine is not None and self.crawler.crawling:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason=STORAGE_ERROR))

    def page_failed(self, item: PageItem, exc: BaseException) -> None:
        """A fault of this page alone: counted, owed, one line (the traceback only at DEBUG,
        for a developer; it never holds the page)."""
        reason = one_line(exc)
        self.owe([item], reason)
        logger.error("could not store %s: %s: %s", item.fetch.url, type(exc).__name__, reason)
        logger.debug("storage traceback for %s", item.fetch.url, exc_info=exc)
