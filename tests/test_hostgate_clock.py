"""The per-host gate's decisions (crawler/hostgate.py), without a network, on a clock of our
own: shared delays and concurrency, Retry-After, cancelled and refused requests, host keys.
Crawls through the gate are tests/test_hostgate.py."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from crawler.hostgate import TICK, HostGates, host_key, host_keys


class Clock:
    def __init__(self) -> None:
        self.now = 100.0
        self.timers: list[tuple[float, object]] = []

    def __call__(self) -> float:
        return self.now

    def call_later(self, delay: float, func):
        timer = SimpleNamespace(at=self.now + delay, func=func, cancelled=False)
        timer.cancel = lambda: setattr(timer, "cancelled", True)
        self.timers.append(timer)
        return timer

    def advance(self, seconds: float) -> None:
        """Move on, running the timers that come due on the way."""
        end = self.now + seconds
        while due := sorted(
            (t for t in self.timers if not t.cancelled and t.at <= end), key=lambda t: t.at
        ):
            timer = due[0]
            self.timers.remove(timer)
            self.now = max(self.now, timer.at)
            timer.func()
        self.now = end


class FakeCrawler:
    """What the gate reads of a Crawler: crawling, the engine's slot, the downloader's slots."""

    def __init__(self, slot: SimpleNamespace | None) -> None:
        slots = {"h": slot} if slot is not None else {}
        self.crawling = True
        self.engine = SimpleNamespace(
            _slot=SimpleNamespace(closing=None),
            downloader=SimpleNamespace(slots=slots, get_slot_key=lambda request: "h"),
        )


def fake_crawler(slot: SimpleNamespace | None = None) -> FakeCrawler:
    return FakeCrawler(slot)


def fake_slot(lastseen: float, delay: float, jitter: float = 0.5) -> SimpleNamespace:
    return SimpleNamespace(
        queue=[],
        latercall=None,
        lastseen=lastseen,
        delay=delay,
        jitter=jitter,
        free_transfer_slots=lambda: 1,
    )


def gate_of(clock: Clock):
    return HostGates(clock=clock, call_later=clock.call_later).gate("127.0.0.1:80")


def two_crawls(
    clock: Clock,
    delays: tuple[float, float],
    concurrency: tuple[int, int] = (1, 1),
    slot_a: SimpleNamespace | None = None,
):
    """The host's gate on ``clock`` with crawls a and b joined to it: (gate, a, b)."""
    gate, a, b = gate_of(clock), fake_crawler(slot_a), fake_crawler()
    gate.join(a, delay=delays[0], concurrency=concurrency[0])
    gate.join(b, delay=delays[1], concurrency=concurrency[1])
    return gate, a, b


def ask(gate, crawler, n: int = 1):
    request = Request(f"http://127.0.0.1/{n}.html")
    deferred = gate.ask(request, crawler)
    outcome: list[object] = []
    deferred.addCallbacks(lambda _: outcome.append("passed"), lambda f: outcome.append(f.value))
    return request, outcome


def test_a_crawl_alone_on_its_host_is_left_to_its_own_slot_but_counted():
    clock = Clock()
    gate, alone = gate_of(clock), fake_crawler()
    gate.join(alone, delay=5.0, concurrency=1)
    first, passed = ask(gate, alone, 1)
    assert passed == ["passed"]  # no wait: its slot keeps its delay
    _, second = ask(gate, alone, 2)
    clock.advance(10)
    assert second == []  # one in flight already
    gate.release(first)
    gate.release(first)  # a second release gives back nothing more
    assert second == ["passed"] and len(gate.in_flight) == 1


def test_two_crawls_share_the_largest_delay_and_the_smallest_concurrency():
    clock = Clock()
    gate, a, b = two_crawls(clock, (0.2, 0.5), (3, 1))
    assert (gate.delay, gate.concurrency) == (0.5, 1)
    first, passed_a = ask(gate, a, 1)
    _, passed_b = ask(gate, b, 2)
    assert passed_a == ["passed"] and passed_b == []
    gate.release(first)  # the place is free, the delay is not over
    clock.advance(0.49)
    assert passed_b == []
    clock.advance(0.02)
    assert passed_b == ["passed"]
    gate.note_crawl_delay(2.0)  # one crawl read the host's robots.txt
    gate.release(next(iter(gate.in_flight)))
    _, passed_a = ask(gate, a, 3)
    clock.advance(1.9)
    assert passed_a == []
    clock.advance(0.2)
    assert passed_a == ["passed"]


def test_a_request_is_let_through_only_when_its_own_slot_sends_it_at_once():
    clock = Clock()
    busy = fake_slot(lastseen=clock.now - 0.1, delay=1.0)  # sends again at +1.4 at the latest
    gate, a, b = two_crawls(clock, (0.2, 0.2), (2, 2), slot_a=busy)
    _, passed_a = ask(gate, a, 1)
    _, passed_b = ask(gate, b, 2)
    assert passed_a == [] and passed_b == ["passed"]  # b was ready, a waits for its slot
    clock.advance(1.3)
    assert passed_a == []
    clock.advance(0.11)
    assert passed_a == ["passed"]


def test_a_retry_after_holds_the_host_for_every_crawl():
    clock = Clock()
    gate, _, b = two_crawls(clock, (0.0, 0.0))
    gate.hold(3.0)
    _, passed = ask(gate, b)
    clock.advance(2.9)
    assert passed == []
    clock.advance(0.2)
    assert passed == ["passed"]


def test_a_cancelled_request_leaves_the_queue_and_takes_no_place():
    clock = Clock()
    gate, a, b = two_crawls(clock, (0.0, 0.0))
    first, _ = ask(gate, a, 1)
    request = Request("http://127.0.0.1/2.html")
    waiting = gate.ask(request, b)
    waiting.addErrback(lambda failure: None)
    waiting.cancel()
    assert not gate.waiters
    _, third = ask(gate, a, 3)
    gate.release(first)
    assert third == ["passed"] and request not in gate.in_flight


def test_requests_of_a_closing_crawl_are_refused_not_kept_waiting():
    clock = Clock()
    gate, a, b = two_crawls(clock, (60.0, 60.0))
    ask(gate, a, 1)
    _, waiting_b = ask(gate, b, 2)
    b.crawling = False  # SIGTERM: Crawler.stop_async
    clock.advance(TICK + 0.01)
    assert len(waiting_b) == 1 and isinstance(waiting_b[0], IgnoreRequest)
    _, waiting_a = ask(gate, a, 3)
    a.engine._slot.closing = object()  # close_spider_async (too many errors)
    clock.advance(TICK + 0.01)
    assert isinstance(waiting_a[0], IgnoreRequest) and not gate.waiters


def test_a_crawl_that_closes_leaves_the_gate_with_nothing_held():
    clock = Clock()
    gate, a, b = two_crawls(clock, (0.1, 9.0))
    ask(gate, b, 1)
    _, waiting_a = ask(gate, a, 2)
    gate.leave(b)
    assert gate.delay == 0.1 and not gate.in_flight and waiting_a == []
    clock.advance(0.11)  # alone again: its own delay after b's last request, not b's 9 s
    assert waiting_a == ["passed"] and set(gate.in_flight.values()) == {a}
    _, next_a = ask(gate, a, 3)
    gate.release(next(iter(gate.in_flight)))
    assert next_a == ["passed"]  # following its own request: left to its slot


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://WWW.Acftu.org/a.html", "www.acftu.org:80"),
        ("https://www.acftu.org/a.html", "www.acftu.org:443"),
        ("http://127.0.0.1:8601/robots.txt", "127.0.0.1:8601"),
    ],
)
def test_host_key_is_host_and_port(url, key):
    assert host_key(url) == key


def test_an_allowed_host_without_a_port_joins_both_default_ports():
    assert host_keys("www.acftu.org") == ["www.acftu.org:80", "www.acftu.org:443"]
    assert host_keys("127.0.0.1:8601") == ["127.0.0.1:8601"]


def test_a_timer_lost_with_its_loop_is_replaced():
    clock = Clock()
    gate, a, b = two_crawls(clock, (1.0, 1.0))
    first, _ = ask(gate, a, 1)
    gate.release(first)
    _, passed_b = ask(gate, b, 2)
    clock.timers.clear()  # the loop that held the gate's timer is gone (a crawl of the past)
    clock.now += 0.5
    ask(gate, a, 3)  # the gate sets a timer on the loop of now
    clock.advance(0.6)
    assert passed_b == ["passed"]
