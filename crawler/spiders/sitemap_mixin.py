"""The spider's side of sitemaps (crawler/sitemaps.py): bounded whatever a server sends.

A sitemap may list 50,000 URLs, an index name 50,000 sitemaps, and nothing stops a server
sending more. So the spider

- reads each document as a stream (``sitemaps.SitemapReader``) and keeps of each entry only
  what it decides: a request when the article is on an allowed host and new or changed, its
  canonical URL when the archive holds it (all ``absent`` needs), a count otherwise;
- asks for at most the run's page limit (``max_pages``) of articles from sitemaps, because a
  run cannot fetch more: the rest are counted (``gonghui/sitemap/over_cap``) and, the sitemap
  having said more than the run could take up, no absence is inferred;
- reads at most ``sitemaps.MAX_DOCUMENTS`` documents a run, counting what indexes name beyond
  (``gonghui/sitemap/documents_skipped``);
- gives the reactor a turn every few milliseconds while it reads (Scrapy drives a callback's
  generator only between its outputs, and most entries give none) and stops reading when the
  crawl stops (a SIGTERM, the page limit, too many errors): a graceful close waits for the
  callbacks in progress, so a sitemap read to its end would hold the process for its length.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.task import deferLater
from twisted.python.failure import Failure

from crawler import sitemaps

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

    from archive.known import KnownArticle
    from crawler.items import PageItem
    from crawler.seeds import Seed

PAUSE = object()  # from ``_sitemap``: the reactor is due a turn (``_sitemap_paced`` awaits one)
_SLICE = 0.02  # seconds of reading between two turns of the reactor
_CLOCK_EVERY = 256  # entries between two looks at the clock and at the crawl's state


@dataclass
class SitemapRun:
    """What the run's sitemaps asked for and listed."""

    asked: set[str] = field(default_factory=set)  # documents asked for, each once a run
    documents: int = 0  # of them sitemaps (robots.txt aside), at most MAX_DOCUMENTS
    pending: int = 0  # asked for, not answered yet
    whole: bool = True  # every document asked for was read to its end, nothing over the cap
    read: int = 0  # urlsets read whole: absence means something only after one
    listed: set[str] = field(default_factory=set)  # canonical URLs of archived articles listed
    requests: int = 0  # article requests the sitemaps added


class SitemapMixin:
    """Sitemap handling of SiteSpider (crawler/spiders/site.py)."""

    if TYPE_CHECKING:
        crawler: Crawler
        seed: Seed
        served: Seed
        known: dict[str, KnownArticle]
        crawl_mode: str
        logger: Any

        _served_url: Callable[[str], str]
        _request: Callable[..., Request | None]
        _page_item: Callable[[Response, str, Any], PageItem]
        failed: Callable[[Failure], None]

    @functools.cached_property
    def _sitemaps(self) -> SitemapRun:
        return SitemapRun()

    @functools.cached_property
    def _sitemap_cap(self) -> int:
        """Article requests the sitemaps may add in a run: what the run may fetch at all."""
        pagecount = self.crawler.settings.getint("CLOSESPIDER_PAGECOUNT")
        return pagecount or self.seed.politeness.max_pages

    @property
    def _stats(self) -> StatsCollector:
        assert self.crawler.stats is not None
        return self.crawler.stats

    def _sitemap_request(self, url: str, depth: int) -> Request | None:
        """A request for a sitemap, an index or a robots.txt naming them; each once a run, and
        at most MAX_DOCUMENTS sitemaps."""
        run = self._sitemaps
        if url in run.asked or not self.served.is_allowed(url):
            return None
        robots = _is_robots(url)
        if not robots and run.documents >= sitemaps.MAX_DOCUMENTS:
            run.whole = False
            self._stats.inc_value("gonghui/sitemap/documents_skipped")
            return None
        run.asked.add(url)
        run.documents += not robots
        run.pending += 1
        return Request(
            url,
            callback=self._sitemap_paced,
            errback=self._sitemap_failed,
            # 50 MB, not DOWNLOAD_MAXSIZE (pages); a gzipped one is cut at 50 MB as it is read.
            meta={
                "gonghui_sitemap_depth": depth,
                "download_maxsize": sitemaps.MAX_SIZE,
                "download_warnsize": sitemaps.MAX_SIZE,
            },
            priority=10,  # before the lists: what it asks for is planned early
        )

    async def _sitemap_paced(self, response: Response) -> AsyncIterator[PageItem | Request]:
        """The callback: ``_sitemap``, giving the reactor its turns."""
        for output in self._sitemap(response):
            if output is PAUSE:
                await _reactor_turn()
            else:
                yield output

    def _sitemap(self, response: Response) -> Iterator[Any]:
        """A sitemap answered: its capture, then the requests it leads to, with PAUSE between
        them now and then."""
        yield self._page_item(response, "other", None)
        depth = response.meta.get("gonghui_sitemap_depth", 0)
        if _is_robots(response.url):
            for url in sitemaps.robots_sitemaps(response.body, response.url):
                if (request := self._sitemap_request(self._served_url(url), depth)) is not None:
                    yield request
            yield from self._sitemap_done()
            return
        try:
            reader = sitemaps.SitemapReader(response.body)
            if reader.kind == "sitemapindex":
                yield from self._sitemap_index(response, reader, depth)
            else:
                yield from self._sitemap_urlset(response, reader)
        except sitemaps.SitemapError as exc:
            self._sitemaps.whole = False
            self._stats.inc_value("gonghui/error/sitemap_unreadable")
            self.logger.warning("sitemap %s unreadable: %s", response.url, exc)
        else:
            if reader.first_error:
                self._stats.inc_value("gonghui/sitemap/malformed")
                self.logger.warning(
                    "sitemap %s read past an XML error (%s): not used to find removals",
                    response.url,
                    reader.first_error,
                )
        yield from self._sitemap_done()

    def _sitemap_index(
        self, response: Response, reader: sitemaps.SitemapReader, depth: int
    ) -> Iterator[Any]:
        for entry in self._entries(reader):
            if entry is PAUSE:
                yield entry
            elif depth < sitemaps.MAX_DEPTH:
                url = self._served_url(_absolute(response.url, entry.loc))
                if (request := self._sitemap_request(url, depth + 1)) is not None:
                    yield request
        if not reader.whole:
            self._sitemaps.whole = False

    def _sitemap_urlset(self, response: Response, reader: sitemaps.SitemapReader) -> Iterator[Any]:
        """Each entry: an article on an allowed host, new or changed since our last look, is
        asked for while the run's cap allows, and counted over it; an archived one is noted.
        Counts reach the stats at each pause (stats calls cost more than an entry's reading)."""
        run, known_articles, cap = self._sitemaps, self.known, self._sitemap_cap
        # _served_url and _page_url inlined, the allowed hosts tried by prefix first: as
        # methods they would double the cost of an entry.
        own, served = self.seed.origin, self.served.origin
        swap = own != served
        hosts = tuple(f"{s}://{h}/" for h in self.served.allowed_hosts for s in ("http", "https"))
        counts = {"listed": 0, "over_cap": 0}
        try:
            for entry in self._entries(reader):
                if entry is PAUSE:
                    self._sitemap_count(counts)
                    yield entry
                    continue
                url = _absolute(response.url, entry.loc)
                if swap and url.startswith(own):
                    url = served + url[len(own) :]
                if not (url.startswith(hosts) or self.served.is_allowed(url)):
                    continue
                if not self.seed.is_article(url):
                    continue
                counts["listed"] += 1
                try:
                    page = own + url[len(served) :] if swap and url.startswith(served) else url
                    canon = sitemaps.canonical(page)
                except ValueError:
                    continue
                known = known_articles.get(canon)
                if known is None:
                    what = "new"
                else:
                    run.listed.add(canon)
                    lastmod = entry.lastmod
                    if lastmod is None or not lastmod.after(known.last_seen_at):
                        continue
                    what = "changed"
                if run.requests >= cap:
                    counts["over_cap"] += 1
                elif (request := self._sitemap_asks(url, what)) is not None:
                    yield request
        finally:
            self._sitemap_count(counts)
        run.read += reader.whole
        if not reader.whole:
            run.whole = False

    def _sitemap_asks(self, url: str, what: str) -> Request | None:
        """The request for an article the sitemaps flag (``what``: new, changed, absent) while
        the run's cap allows; over it None, counted."""
        run = self._sitemaps
        if run.requests >= self._sitemap_cap:
            self._sitemap_over_cap(1)
            return None
        self._stats.inc_value(f"gonghui/sitemap/{what}")
        request = self._request(url, recheck=True)
        run.requests += request is not None
        return request

    def _sitemap_over_cap(self, count: int) -> None:
        """Flagged articles the run cannot fetch: counted, and the sitemaps no longer whole
        (having said more than was taken up, they cannot say that a page vanished)."""
        if not self._stats.get_value("gonghui/sitemap/over_cap"):
            self.logger.warning(
                "sitemaps flag more articles than the run may fetch (max_pages %d): "
                "the rest are counted (over_cap), not asked for",
                self._sitemap_cap,
            )
        self._sitemaps.whole = False
        self._stats.inc_value("gonghui/sitemap/over_cap", count)

    def _sitemap_count(self, counts: dict[str, int]) -> None:
        if counts["over_cap"]:
            self._sitemap_over_cap(counts["over_cap"])
        if counts["listed"]:
            self._stats.inc_value("gonghui/sitemap/listed", counts["listed"])
        counts.update(listed=0, over_cap=0)

    def _entries(self, reader: sitemaps.SitemapReader) -> Iterator[Any]:
        """The reader's entries, with PAUSE every ``_SLICE`` seconds; none more once the crawl
        is stopping (the reading is then not whole)."""
        turn = time.monotonic() + _SLICE
        for n, entry in enumerate(reader):
            if not n % _CLOCK_EVERY:
                if self._sitemap_stopping():
                    self._stats.inc_value("gonghui/sitemap/stopped")
                    return
                if time.monotonic() >= turn:
                    yield PAUSE
                    turn = time.monotonic() + _SLICE
            yield entry

    def _sitemap_stopping(self) -> bool:
        """Whether the crawl is closing: stopped (SIGTERM), or its spider closing (page limit,
        too many errors, a lost lease). False when no engine runs (the callback driven by hand)."""
        engine = self.crawler._engine  # None before the crawl starts (Scrapy's documented way)
        if engine is None:
            return False
        slot = getattr(engine, "_slot", None)
        closing = slot is not None and slot.closing is not None
        return closing or not engine.running or not self.crawler.crawling

    def _sitemap_failed(self, failure: Failure) -> Iterator[Request]:
        """A sitemap not read: an error or a drop (counted by ``failed``), except a robots.txt
        that is not there, which only means the site names no sitemap."""
        self._sitemaps.whole = False
        response = getattr(failure.value, "response", None)
        url = failure.request.url if hasattr(failure, "request") else ""
        if not (_is_robots(url) and response is not None and response.status in (404, 410)):
            self.failed(failure)
        yield from self._sitemap_done()

    def _sitemap_done(self) -> Iterator[Request]:
        """One sitemap answered; after the last one, the archived, live articles a whole
        sitemap no longer lists are asked for (incremental runs: a full run asks for all)."""
        run = self._sitemaps
        run.pending -= 1
        if (
            run.pending
            or not run.whole
            or not run.read
            or self.crawl_mode != "incremental"
            or self._sitemap_stopping()
        ):
            return
        live = [canon for canon, known in self.known.items() if not known.removed]
        for canon in sitemaps.absent(live, run.listed):
            url = self._served_url(self.known[canon].url)
            if (request := self._sitemap_asks(url, "absent")) is not None:
                yield request


async def _reactor_turn() -> None:
    """Let the reactor run once (network, timers, signals) before reading on."""
    from twisted.internet import reactor

    await maybe_deferred_to_future(deferLater(reactor, 0, lambda: None))


def _is_robots(url: str) -> bool:
    return urlsplit(url).path.endswith("/robots.txt")


def _absolute(base: str, loc: str) -> str:
    return loc if loc.startswith(("http://", "https://")) else urljoin(base, loc)
