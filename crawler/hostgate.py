"""One politeness per host for all the crawls of the process: the host gate.

Each seed has its own Crawler (crawler/runner.py) and Scrapy keeps delay and concurrency in
that crawler's download slots, so two seeds on one host (a federation serving its city sites
under paths, a test world on one port) would press on it twice as hard. A gate per
``host:port``, shared by every crawler of the process, applies to all their requests together:
the largest ``DOWNLOAD_DELAY`` among them or the robots.txt Crawl-delay once one has read it
(``note_crawl_delay``), the smallest ``CONCURRENT_REQUESTS_PER_DOMAIN``, and a 429/503
``Retry-After`` (up to ``GONGHUI_MAX_RETRY_AFTER``) holding the host for all of them.

A crawl alone on its host, following its own request, is left to its slot as before (the gate
only counts its requests in flight). Otherwise a request passes when the host's delay has run
since the last one passed and its own slot would send it at once (its delay with the largest
jitter run, nothing queued): passing is sending, so the gaps between passes are the gaps the
server sees.

The middleware sits next to the downloader: the last ``process_request`` before it, the first
``process_response``/``process_exception`` after it (and ``request_left_downloader``), so what
a request takes it gives back. It waits on a Deferred, never blocking the reactor; a request
cancelled while waiting leaves the queue, and a closing crawl (SIGTERM, too many errors) has its
waiting requests refused with IgnoreRequest within ``TICK`` seconds: no stop waits on the gate.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from scrapy import Request, signals
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

TICK = 0.2  # seconds between looks at a waiting request's crawl (closing?) and slot
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_port(url: str) -> tuple[str, int | None]:
    parts = urlsplit(url)
    try:
        return (parts.hostname or "").lower(), parts.port
    except ValueError:
        return (parts.hostname or "").lower(), None


def host_key(url: str) -> str:
    """``host:port`` of an http(s) URL, the default port of its scheme written out."""
    host, port = _host_port(url)
    return f"{host}:{port or _DEFAULT_PORTS.get(urlsplit(url).scheme, 0)}"


def host_keys(host: str) -> list[str]:
    """The gate keys of an allowed host (``host[:port]``): without a port, both defaults."""
    name, port = _host_port("//" + host)
    return [f"{name}:{port}"] if port else [f"{name}:80", f"{name}:443"]


@dataclass(slots=True, eq=False)
class _Waiter:
    request: Request
    crawler: Any
    deferred: Deferred[None]


def _closing(crawler: Any) -> bool:
    """Whether ``crawler`` is stopping (SIGTERM: crawling off) or closing its spider."""
    if not getattr(crawler, "crawling", True):
        return True
    try:
        engine = crawler.engine
    except RuntimeError:  # Crawler.engine before the crawl started
        return False
    slot = getattr(engine, "_slot", None)  # the engine's: its closing is set when close begins
    return slot is not None and slot.closing is not None


def _slot_times(waiter: _Waiter, now: float) -> tuple[float | None, float]:
    """When the waiter's own download slot would send it at once (None while that cannot be
    told: a request queued, every transfer busy), and the latest it may send it."""
    downloader = waiter.crawler.engine.downloader
    slot = downloader.slots.get(downloader.get_slot_key(waiter.request))
    if slot is None:
        return now, now
    longest = slot.delay * (1 + getattr(slot, "jitter", 0.5))
    latest = max(now, slot.lastseen + longest) + longest * len(slot.queue)
    if slot.queue or slot.latercall is not None or slot.free_transfer_slots() <= 0:
        return None, latest
    return slot.lastseen + longest, latest


class HostGate:
    """The shared politeness of one ``host:port`` (module docstring)."""

    def __init__(self, key: str, clock: Callable[[], float], call_later: Callable[..., Any]):
        self.key, self.clock, self.call_later = key, clock, call_later
        self.members: dict[Any, tuple[float, int]] = {}  # crawler -> (delay, concurrency)
        self.crawl_delay = 0.0
        self.in_flight: dict[Request, Any] = {}  # request -> its crawler
        self.busy_until = -math.inf  # the latest a passed request is (or may be) sent
        self.last_crawler: Any = None  # whose request passed last
        self.held_until = -math.inf  # Retry-After
        self.waiters: deque[_Waiter] = deque()
        self._timer: Any = None  # the pending call_later, due at _timer_at
        self._timer_at = math.inf
        self._pumping = self._again = False

    @property
    def shared(self) -> bool:
        return len(self.members) > 1

    @property
    def delay(self) -> float:
        return max([d for d, _ in self.members.values()] + [self.crawl_delay])

    @property
    def concurrency(self) -> int:
        return min((c for _, c in self.members.values()), default=1)

    def join(self, crawler: Any, delay: float, concurrency: int) -> None:
        self.members[crawler] = (max(delay, 0.0), max(concurrency, 1))
        if self.shared:
            logger.info(
                "host %s shared by %d crawls: %.2f s apart, %d at a time",
                *(self.key, len(self.members), self.delay, self.concurrency),
            )

    def leave(self, crawler: Any) -> None:
        """A crawl closed: its policy no longer counts, nothing of it holds or waits."""
        self.members.pop(crawler, None)
        for request in [r for r, c in self.in_flight.items() if c is crawler]:
            del self.in_flight[request]
        for waiter in [w for w in self.waiters if w.crawler is crawler]:
            self._refuse(waiter, "its crawl closed")
        self.pump()

    def note_crawl_delay(self, delay: float) -> None:
        self.crawl_delay = max(self.crawl_delay, delay)

    def hold(self, seconds: float) -> None:
        """Send the host nothing for ``seconds`` (a Retry-After it sent)."""
        self.held_until = max(self.held_until, self.clock() + seconds)

    def ask(self, request: Request, crawler: Any) -> Deferred[None]:
        """A Deferred fired when ``request`` may go (failed with IgnoreRequest if its crawl
        closes first); its place is given back by ``release``. Cancelling it leaves the queue."""
        waiter = _Waiter(request, crawler, Deferred(lambda _: self._forget(waiter)))
        self.waiters.append(waiter)
        self.pump()
        return waiter.deferred

    def sent(self) -> None:
        self.busy_until = max(self.busy_until, self.clock())

    def release(self, request: Request) -> None:
        if self.in_flight.pop(request, None) is not None:
            self.pump()

    def _forget(self, waiter: _Waiter) -> None:
        if waiter in self.waiters:
            self.waiters.remove(waiter)

    def _refuse(self, waiter: _Waiter, why: str) -> None:
        self._forget(waiter)
        if not waiter.deferred.called:
            waiter.deferred.errback(IgnoreRequest(f"host gate {self.key}: {why}"))

    def pump(self) -> None:
        """Let through every waiter that may go now; set a timer for the rest."""
        if self._pumping:  # a waiter's callback came back here
            self._again = True
            return
        self._pumping = True
        try:
            self._again = True
            while self._again:
                self._again = False
                self._pump_once()
        finally:
            self._pumping = False

    def _ready_at(self, waiter: _Waiter, now: float) -> float | None:
        """When ``waiter`` may go (None: not known yet). A crawl alone on the host, following
        its own last request, is left to its slot; otherwise the host's delay must have run
        since the last request passed, and the waiter's own slot must send it at once."""
        if not self.shared and self.last_crawler is waiter.crawler:
            return self.held_until
        slot_at, _ = _slot_times(waiter, now)
        if slot_at is None:
            return None
        return max(self.held_until, self.busy_until + self.delay, slot_at)

    def _pump_once(self) -> None:
        now = self.clock()
        for waiter in [w for w in self.waiters if _closing(w.crawler) or w.deferred.called]:
            self._refuse(waiter, "its crawl is closing")
        wake = math.inf
        while self.waiters and len(self.in_flight) < self.concurrency:
            chosen = None
            for waiter in self.waiters:  # first come first served, among those ready
                at = self._ready_at(waiter, now)
                if at is not None and at <= now:
                    chosen = waiter
                    break
                wake = min(wake, math.inf if at is None else at)
            if chosen is None:
                break
            alone = not self.shared and self.last_crawler is chosen.crawler
            self.waiters.remove(chosen)
            self.in_flight[chosen.request] = chosen.crawler
            self.busy_until = max(self.busy_until, _slot_times(chosen, now)[1] if alone else now)
            self.last_crawler = chosen.crawler
            chosen.deferred.callback(None)
        self._wake_at(min(wake, now + TICK) if self.waiters else None)

    def _wake_at(self, at: float | None) -> None:
        """Pump again at ``at`` (None: no need); a timer overdue (its loop gone) is replaced."""
        now = self.clock()
        if at is not None and self._timer is not None and now <= self._timer_at <= at:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer, self._timer_at = None, math.inf
        if at is not None:
            self._timer_at = at
            self._timer = self.call_later(max(0.0, at - now), self._woken)

    def _woken(self) -> None:
        self._timer, self._timer_at = None, math.inf
        self.pump()


class HostGates:
    """Every gate of the process, by ``host:port``; timers on the running loop or reactor."""

    def __init__(self, clock: Callable[[], float] = monotonic, call_later: Any = call_later):
        self.clock, self.call_later = clock, call_later
        self.gates: dict[str, HostGate] = {}

    def gate(self, key: str) -> HostGate:
        if key not in self.gates:
            self.gates[key] = HostGate(key, self.clock, self.call_later)
        return self.gates[key]


GATES = HostGates()


def note_crawl_delay(url: str, delay: float) -> None:
    """A robots.txt of the host of ``url`` asks ``delay`` seconds between requests (capped by
    the seed that read it): every crawl of the host keeps it."""
    GATES.gate(host_key(url)).note_crawl_delay(delay)


class HostGateMiddleware:
    """The downloader middleware in front of the gates (module docstring). Installed next to the
    downloader (crawler/settings.py), after every other middleware's process_request."""

    def __init__(self, crawler: Crawler, gates: HostGates | None = None):
        from crawler.middlewares import parse_retry_after  # it imports note_crawl_delay

        self.crawler = crawler
        self.gates = gates or GATES
        s = crawler.settings
        self.delay = s.getfloat("DOWNLOAD_DELAY")
        self.concurrency = s.getint("CONCURRENT_REQUESTS_PER_IP") or s.getint(
            "CONCURRENT_REQUESTS_PER_DOMAIN"
        )
        self.backoff_codes = {int(c) for c in s.getlist("GONGHUI_BACKOFF_HTTP_CODES")}
        self.max_retry_after = s.getfloat("GONGHUI_MAX_RETRY_AFTER", 300.0)
        self.parse_retry_after = parse_retry_after
        self.joined: set[str] = set()
        self.passed: dict[Request, HostGate] = {}
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(self.request_left, signal=signals.request_left_downloader)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostGateMiddleware:
        return cls(crawler)

    def join(self, keys: Iterable[str]) -> None:
        for key in keys:
            if key not in self.joined:
                self.joined.add(key)
                self.gates.gate(key).join(self.crawler, self.delay, self.concurrency)

    def spider_opened(self, spider: Any) -> None:
        # Every host the seed may crawl joins now, so the strictest policy holds from the
        # first request of any crawl, not from this crawl's first request to the host.
        served = getattr(spider, "served", None)
        self.join(k for host in getattr(served, "allowed_hosts", ()) for k in host_keys(host))

    async def process_request(self, request: Request) -> None:
        key = host_key(request.url)
        self.join([key])
        gate = self.gates.gate(key)
        try:
            await maybe_deferred_to_future(gate.ask(request, self.crawler))
        except BaseException:  # cancelled, or refused: a place taken meanwhile goes back
            gate.release(request)
            raise
        gate.sent()  # a loop turn after it passed: the next is timed from now
        self.passed[request] = gate

    def process_response(self, request: Request, response: Response) -> Response:
        gate = self.release(request)
        if gate is not None and response.status in self.backoff_codes:
            asked = self.parse_retry_after(response.headers.get(b"Retry-After"))
            if asked is not None and asked <= self.max_retry_after:
                gate.hold(asked)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self.release(request)

    def request_left(self, request: Request, spider: Any) -> None:
        self.release(request)

    def release(self, request: Request) -> HostGate | None:
        """Give back the place ``request`` took (once; a request never let through has none)."""
        gate = self.passed.pop(request, None)
        if gate is not None:
            gate.release(request)
        return gate

    def spider_closed(self, spider: Any) -> None:
        self.passed.clear()
        for key in self.joined:
            self.gates.gate(key).leave(self.crawler)
