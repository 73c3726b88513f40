"""Politeness Scrapy does not give us: Crawl-delay, Retry-After, a failing site stopped, and
allowed hosts compared with their port.

Scrapy (2.19) obeys robots.txt Disallow and retries 5xx, but it

- parses ``Crawl-delay`` (``RobotParser.crawl_delay``, since 2.18) without ever applying it
  (scrapy/scrapy#892 is still open), and AutoThrottle only knows the crawler-wide
  DOWNLOAD_DELAY as its floor;
- retries 429 and 503 like any 500, without waiting for what ``Retry-After`` asks;
- crawls on against a site that fails every request until the last URL is tried;
- filters offsite requests by host name only, so ``127.0.0.1:8601`` lets ``127.0.0.1:8602``
  through, and waves through any request with ``dont_filter`` (a retried request's redirect).

Each component below closes one gap; settings.py installs them and runner.crawl_settings fills
their GONGHUI_* settings from the seed's ``[politeness]`` table. The parsers are pure functions.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import TYPE_CHECKING, Any

from scrapy import Request, Spider, signals
from scrapy.downloadermiddlewares.offsite import OffsiteMiddleware
from scrapy.downloadermiddlewares.retry import get_retry_request
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from crawler.hostgate import note_crawl_delay

if TYPE_CHECKING:
    from scrapy.core.downloader import Downloader
    from scrapy.crawler import Crawler
    from scrapy.robotstxt import RobotParser

logger = logging.getLogger(__name__)

STOP_REASON_STAT = "gonghui/stop_reason"
TOO_MANY_ERRORS = "too_many_errors"  # the finish reason of a site stopped for failing
_DELAY_SECONDS = re.compile(r"\d+", re.ASCII)


# -- pure parts --------------------------------------------------------------------------------


def parse_retry_after(value: str | bytes | None, now: dt.datetime | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait; None when absent or unreadable.

    The two forms of RFC 9110 §10.2.3:
      ``Retry-After: 120``                            delay-seconds (digits only)
      ``Retry-After: Wed, 01 May 2024 08:00:00 GMT``  an HTTP-date; one in the past means 0
    """
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if _DELAY_SECONDS.fullmatch(text):
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; HTTP dates are GMT
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(retries: int, base: float, cap: float) -> float:
    """The wait before retry number ``retries + 1`` when the site gave no Retry-After:
    base, 2 base, 4 base ... never above cap."""
    return min(cap, base * 2 ** min(max(retries, 0), 32))


def crawl_delay_floor(download_delay: float, crawl_delay: float, cap: float) -> tuple[float, bool]:
    """The delay between requests to a site whose robots.txt asks ``crawl_delay``: the larger
    of the seed's delay and the one asked, an absurd request capped. Returns (delay, capped)."""
    capped = crawl_delay > cap
    return max(download_delay, min(crawl_delay, cap)), capped


# -- Crawl-delay -------------------------------------------------------------------------------


class CrawlDelayRobotsTxtMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware that also honours ``Crawl-delay`` for our user agent (or
    ``*``): once a host's robots.txt is parsed, its download slot waits max(DOWNLOAD_DELAY,
    Crawl-delay) between requests, without jitter (the delay is a minimum), capped at
    GONGHUI_MAX_CRAWL_DELAY. The delay is also written into the downloader's per-slot settings
    (Scrapy's DOWNLOAD_SLOTS), so a slot recreated later keeps it and PoliteAutoThrottle never
    goes below it. With ROBOTSTXT_OBEY off, neither rule nor delay is read."""

    def __init__(self, crawler: Crawler):
        super().__init__(crawler)
        self.max_crawl_delay = crawler.settings.getfloat("GONGHUI_MAX_CRAWL_DELAY")
        self.download_delay = crawler.settings.getfloat("DOWNLOAD_DELAY")
        crawler.signals.connect(self.robots_parsed, signal=signals.robots_parsed)

    def robots_parsed(self, robotparser: RobotParser, request: Request) -> None:
        # The same user agent RobotsTxtMiddleware matches Disallow rules with.
        useragent = self._robotstxt_useragent or request.headers.get(
            b"User-Agent", self._default_useragent
        )
        asked = robotparser.crawl_delay(useragent or "")
        if not asked or asked <= 0:
            return
        delay, capped = crawl_delay_floor(self.download_delay, float(asked), self.max_crawl_delay)
        key = set_slot_floor(self.crawler.engine.downloader, request, delay)
        note_crawl_delay(request.url, delay)  # every crawl of the host keeps it (hostgate.py)
        stats = self.crawler.stats
        stats.max_value("gonghui/robots/crawl_delay", delay)
        if capped:
            stats.inc_value("gonghui/robots/crawl_delay_capped")
            logger.warning(
                "robots.txt of %s asks Crawl-delay %s s, capped at %s s (max_crawl_delay)",
                key,
                asked,
                self.max_crawl_delay,
            )
        else:
            logger.info("robots.txt of %s asks Crawl-delay %s s: delay now %s s", key, asked, delay)


def set_slot_floor(downloader: Downloader, request: Request, delay: float) -> str:
    """Make ``delay`` the least delay of the download slot of ``request``; returns its key."""
    key = downloader.get_slot_key(request)
    own = downloader.per_slot_settings.get(key, {})
    downloader.per_slot_settings[key] = {**own, "delay": delay, "jitter": 0.0}
    slot = downloader.slots.get(key)
    if slot is not None:
        slot.delay = max(slot.delay, delay)
        slot.jitter = 0.0
    return key


class PoliteAutoThrottle(AutoThrottle):
    """AutoThrottle that never takes a slot below the delay set for it in the per-slot settings
    (where the Crawl-delay goes); Scrapy's only floors every slot at DOWNLOAD_DELAY."""

    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        super()._response_downloaded(response, request, spider)
        key, slot = self._get_slot(request, spider)
        if key is None or slot is None:
            return
        floor = self.crawler.engine.downloader.per_slot_settings.get(key, {}).get("delay")
        if floor is not None and slot.delay < floor:
            slot.delay = floor


# -- 429 and 503 -------------------------------------------------------------------------------


class RetryAfterMiddleware:
    """429 and 503 (GONGHUI_BACKOFF_HTTP_CODES) retried after the wait the site asks for in
    ``Retry-After``, or after an exponential backoff (GONGHUI_BACKOFF_BASE doubling, at most
    GONGHUI_BACKOFF_MAX) when it names none. A wait longer than GONGHUI_MAX_RETRY_AFTER gives
    the request up at once (stat ``gonghui/retry_after_too_long``). Retries count under
    Scrapy's ``retry/*`` stats and RETRY_TIMES; a request given up reaches the spider's errback
    as an HTTP error. RETRY_HTTP_CODES leaves these codes to this middleware.

    The wait holds the site's download slot, not the reactor: the site is sent nothing (the
    retry included) until it is over, while other sites crawl on."""

    def __init__(self, crawler: Crawler):
        s = crawler.settings
        if not s.getbool("RETRY_ENABLED"):
            raise NotConfigured
        self.crawler = crawler
        self.codes = {int(c) for c in s.getlist("GONGHUI_BACKOFF_HTTP_CODES")}
        self.base = s.getfloat("GONGHUI_BACKOFF_BASE")
        self.cap = s.getfloat("GONGHUI_BACKOFF_MAX")
        self.max_retry_after = s.getfloat("GONGHUI_MAX_RETRY_AFTER")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.codes or request.meta.get("dont_retry", False):
            return response
        asked = parse_retry_after(response.headers.get(b"Retry-After"))
        if asked is not None and asked > self.max_retry_after:
            self.crawler.stats.inc_value("gonghui/retry_after_too_long")
            logger.warning(
                "gave up %s: HTTP %s asks to come back in %.0f s (max_retry_after %.0f s)",
                request.url,
                response.status,
                asked,
                self.max_retry_after,
            )
            return response
        assert self.crawler.spider is not None
        retry = get_retry_request(
            request, spider=self.crawler.spider, reason=response_status_message(response.status)
        )
        if retry is None:
            return response
        retries = request.meta.get("retry_times", 0)
        wait = asked if asked is not None else backoff_delay(retries, self.base, self.cap)
        self.hold_slot(request, wait)
        logger.info("HTTP %s on %s: retrying in %.1f s", response.status, request.url, wait)
        return retry

    def hold_slot(self, request: Request, seconds: float) -> None:
        """Send nothing to the slot of ``request`` for ``seconds``.

        Scrapy's downloader sends a slot's next request ``delay`` seconds after ``lastseen``,
        the time it sent the last one (Downloader._process_queue); moving lastseen into the
        future holds every request to the site. A slot without any delay ignores lastseen, so
        it is given a millisecond."""
        downloader = self.crawler.engine.downloader
        slot = downloader.slots.get(request.meta.get(downloader.DOWNLOAD_SLOT, ""))
        if slot is None:  # cannot happen: the slot has just served this response
            return
        slot.delay = max(slot.delay, 0.001)
        slot.lastseen = max(slot.lastseen, monotonic() + seconds)


# -- a site that keeps failing -----------------------------------------------------------------


class ErrorBudgetMiddleware:
    """Stop a site after GONGHUI_MAX_ERRORS consecutive failed requests; a success resets the
    count. Failed: a 5xx or 429 response, or a download error (timeout, refused connection,
    DNS). The spider is closed with finish reason ``too_many_errors`` and the stat
    ``gonghui/stop_reason`` says why in one line. Each site has its own crawler, so the other
    sites of the process crawl on.

    Every request sent counts, a retry too: installed next to the downloader, this sees each
    answer before the retry middlewares turn it into a retry. Counting only requests whose
    retries are over would not stop a site failing everywhere in time: Scrapy schedules a
    retry behind every request already queued (start requests first, RETRY_PRIORITY_ADJUST),
    so the first request is given up only once every queued page has been tried."""

    def __init__(self, crawler: Crawler):
        self.max_errors = crawler.settings.getint("GONGHUI_MAX_ERRORS")
        if self.max_errors <= 0:
            raise NotConfigured
        self.crawler = crawler
        self.streak = 0
        self.stopping = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ErrorBudgetMiddleware:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status >= 500 or response.status == 429:
            self.failed(f"http_{response.status}")
        else:
            self.streak = 0
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        # IgnoreRequest is our own doing (robots.txt, offsite), not the site's failure.
        if not isinstance(exception, IgnoreRequest):
            self.failed(type(exception).__name__)  # the name the spider's errback counts

    def failed(self, reason: str) -> None:
        self.streak += 1
        if self.streak < self.max_errors or self.stopping:
            return
        self.stopping = True
        text = f"stopped after {self.streak} consecutive failed requests (last: {reason})"
        self.crawler.stats.set_value(STOP_REASON_STAT, text)
        logger.error("%s", text)
        # Not awaited: closing waits for the downloads in flight, this one among them.
        deferred_from_coro(self.crawler.engine.close_spider_async(reason=TOO_MANY_ERRORS))


# -- allowed hosts -----------------------------------------------------------------------------


class AllowedHostsMiddleware(OffsiteMiddleware):
    """Every request, redirects and retries included, stays on the seed's allowed hosts
    (``host[:port]``, compared whole). Spiders without a seed get Scrapy's host-name rule."""

    def process_request(self, request: Request) -> None:  # type: ignore[override]
        seed: Any = getattr(self.crawler.spider, "served", None)
        if seed is None:
            return super().process_request(request)
        if seed.is_allowed(request.url):
            return None
        netloc = urlparse_cached(request).netloc
        if netloc not in self.domains_seen:
            self.domains_seen.add(netloc)
            logger.info("Filtered request off the allowed hosts to %r: %s", netloc, request)
            self.stats.inc_value("offsite/domains")
        self.stats.inc_value("offsite/filtered")
        # Counted here: a redirect filtered when it is scheduled never reaches an errback.
        self.stats.inc_value("gonghui/drop/offsite")
        raise IgnoreRequest(f"Filtered request off the allowed hosts to {netloc!r}")
