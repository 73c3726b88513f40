"""A crawl's verdict, read off its stats: the one place that says whether a run finished.

The run row (``archive.store.Archive.finish_run``), the crawl table (``runner.SiteResult``)
and the exit code (``cli.crawl.check_finished``) all take it from here, so they agree:

- Scrapy ended the crawl early (SIGTERM, too many errors, a storage fault, a lost lease):
  ``failed`` with why;
- no start page was answered (the site is unreachable, every start URL failed, redirected
  forever or was dropped by Scrapy as too long): ``failed``, ``no_page_reached``, and the run
  never counts as the site's full crawl;
- pages were fetched but not stored and are owed to the next run: ``failed``, ``pages_owed``;
- otherwise ``finished``.

Drops: every request Scrapy dropped is counted under its reason. The spider's errback counts
what reaches it (``gonghui/drop/*``: offsite, redirect_loop, refresh, too_large,
decompression_limit); robots.txt refusals and over-long URLs are counted by Scrapy's own
components and read here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Scrapy finish reasons of a crawl that ended normally.
NORMAL_FINISH_REASONS = ("finished", "closespider_pagecount")
# Scrapy's own counters of requests it dropped before any errback could see them.
SCRAPY_DROP_STATS = {
    "robotstxt/forbidden": "robots_disallowed",
    "urllength/request_ignored_count": "url_too_long",
}
# Sent (a Scrapy signal) once the archive pipeline has closed the run: its verdict is then in
# the stats (``gonghui/outcome``), pages owed included.
RUN_CLOSED = object()
_SHUTDOWN = "stopped by a signal (SIGTERM or Ctrl-C) before the crawl was done"


@dataclass(frozen=True, slots=True)
class Outcome:
    status: str  # the run row's: "finished" or "failed"
    finish_reason: str  # the table's status column: "finished", "no_page_reached", ...
    stop_reason: str | None  # one line, None for a run that finished


def drops_of(stats: Mapping[str, Any]) -> dict[str, int]:
    """Pages and requests that did not become articles, by reason."""
    drops = {
        key.removeprefix("gonghui/drop/"): value
        for key, value in stats.items()
        if key.startswith("gonghui/drop/") and value
    }
    for key, reason in SCRAPY_DROP_STATS.items():
        if stats.get(key):
            drops[reason] = drops.get(reason, 0) + stats[key]
    return dict(sorted(drops.items()))


def errors_of(stats: Mapping[str, Any]) -> dict[str, int]:
    """Failed requests and pages not stored, by reason; a robots.txt that could not be read
    (Scrapy then crawls as if it allowed everything) counts as ``robots_txt_unreadable``."""
    errors = {
        key.removeprefix("gonghui/error/"): value
        for key, value in stats.items()
        if key.startswith("gonghui/error/") and value
    }
    robots = sum(v for k, v in stats.items() if k.startswith("robotstxt/exception_count/"))
    if robots:
        errors["robots_txt_unreadable"] = robots
    return dict(sorted(errors.items()))


def judge(reason: str, stats: Mapping[str, Any], spider: Any = None) -> Outcome:
    """The verdict on a crawl Scrapy closed with ``reason``."""
    owed = stats.get("gonghui/owed", 0)
    owed_text = f"; {owed} pages fetched but not stored are owed to the next run" if owed else ""
    stopped = stats.get("gonghui/stop_reason")
    if reason not in NORMAL_FINISH_REASONS:
        why = stopped or (_SHUTDOWN if reason == "shutdown" else f"crawl ended: {reason}")
        return Outcome("failed", reason, why + owed_text)
    if spider is not None and getattr(spider, "starts_requested", 0) and not spider.starts_answered:
        failures = getattr(spider, "start_failures", [])
        dropped = {
            r: n for r, n in drops_of(stats).items() if r in ("url_too_long", "robots_disallowed")
        }
        cause = (
            failures[0]
            if failures
            else "dropped before sending: " + ", ".join(dropped)
            if dropped
            else "no answer"
        )
        return Outcome("failed", "no_page_reached", f"no start page was answered ({cause})")
    if owed:
        return Outcome("failed", "pages_owed", owed_text.removeprefix("; "))
    return Outcome("finished", "finished", None)
