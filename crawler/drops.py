"""Why a request never became a page: a drop (Scrapy refused or gave it up by rule) or an
error (the site or the network failed), named so the crawl table can count it.

Scrapy says most of this only in the exception's type and message: ``IgnoreRequest`` covers
a robots.txt refusal, an offsite redirect, a redirect loop and a decompression bomb alike.

==========================  ============================================================
reason                      what Scrapy did
==========================  ============================================================
robots_disallowed           RobotsTxtMiddleware refused it (Scrapy counts it itself)
offsite                     a redirect led off the seed's allowed hosts (counted by
                            AllowedHostsMiddleware: one filtered when scheduled never
                            reaches an errback)
redirect_loop               more than REDIRECT_MAX_TIMES redirects
refresh                     a ``<meta http-equiv="refresh">`` page, replaced by its target
                            (``MetaRefreshCounted``; a refresh to itself is then dropped
                            as a duplicate, silently in Scrapy)
too_large                   the body passed DOWNLOAD_MAXSIZE and the download was cancelled
decompression_limit         the body inflated past DOWNLOAD_MAXSIZE (a decompression bomb)
url_too_long                longer than URLLENGTH_LIMIT (Scrapy counts it; never sent)
ignored                     any other IgnoreRequest
==========================  ============================================================
"""

from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.exceptions import DownloadCancelledError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.defer import CancelledError
from twisted.python.failure import Failure

DROP, ERROR = "drop", "error"
# Counted where they happen (robotstxt/forbidden, gonghui/drop/offsite), not by the errback.
COUNTED_ELSEWHERE = ("robots_disallowed", "offsite")

_IGNORED = (
    ("forbidden by robots.txt", "robots_disallowed"),
    ("off the allowed hosts", "offsite"),
    ("filtered offsite", "offsite"),
    ("during decompression", "decompression_limit"),
)


def classify(failure: Failure) -> tuple[str, str]:
    """(DROP or ERROR, reason) for a failure that reached a spider's errback."""
    value: Any = failure.value
    if failure.check(HttpError):
        return ERROR, f"http_{value.response.status}"
    if failure.check(IgnoreRequest):
        message = str(value).lower()
        if "max redirections" in message:
            return DROP, "redirect_loop"
        for text, reason in _IGNORED:
            if text in message:
                return DROP, reason
        return DROP, "ignored"
    if failure.check(DownloadCancelledError, CancelledError) and "max size" in str(value):
        return DROP, "too_large"
    return ERROR, failure.type.__name__ if failure.type else "error"


class MetaRefreshCounted(MetaRefreshMiddleware):
    """Scrapy's MetaRefreshMiddleware, counting each page it replaces by its target (the
    first of a chain): the page itself is never stored, and a refresh to the page itself is
    then dropped by the duplicate filter without a word."""

    def process_response(  # type: ignore[override]
        self, request: Request, response: Response, spider: Any = None
    ) -> Request | Response:
        result = super().process_response(request, response)
        if isinstance(result, Request) and "meta refresh" not in request.meta.get(
            "redirect_reasons", []
        ):
            self.crawler.stats.inc_value("gonghui/drop/refresh")
        return result
