"""One line per failure in the log: Scrapy's tracebacks for things that are the site's doing.

The crawl table counts every failed request under its reason, and says why a site stopped;
the log adds what it adds in one line each. Scrapy logs two things with a traceback that
say nothing a user can act on beyond their first line:

- ``Error downloading <GET …>`` when a host's robots.txt cannot be fetched (an unreachable
  site): Scrapy then crawls as if robots.txt allowed everything, which the line now says;
- ``Gave up retrying`` at ERROR for a request the spider's errback counts (it stays, as a
  WARNING: the table carries the count and the run's verdict).

``QuietFailures`` is a Scrapy extension (settings.EXTENSIONS) that installs the filter once
per process on those two loggers, and holds chatty libraries' loggers at WARNING
(``QUIET_LEVELS``).
"""

from __future__ import annotations

import logging
from typing import Any

_ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"
_RETRY_LOGGER = "scrapy.downloadermiddlewares.retry"


class _OneLine(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == _ROBOTS_LOGGER and str(record.msg).startswith("Error downloading"):
            args = record.args if isinstance(record.args, dict) else {}
            request = args.get("request")
            host = getattr(request, "url", "the site")
            record.msg = "robots.txt for %s not read (%s): crawling as if it allowed everything"
            record.args = (host, args.get("f_exception"))
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.exc_info = record.exc_text = None
        elif record.name == _RETRY_LOGGER and record.levelno >= logging.ERROR:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


_FILTER = _OneLine()


# Loggers held at a level: charset_normalizer makes about 114 DEBUG records per detection,
# which Scrapy's root handler (at LOG_LEVEL) then throws away; at WARNING none are made.
QUIET_LEVELS = {"charset_normalizer": logging.WARNING}


class QuietFailures:
    def __init__(self) -> None:
        for name in (_ROBOTS_LOGGER, _RETRY_LOGGER):
            logger = logging.getLogger(name)
            if _FILTER not in logger.filters:
                logger.addFilter(_FILTER)
        for name, level in QUIET_LEVELS.items():
            logging.getLogger(name).setLevel(level)

    @classmethod
    def from_crawler(cls, crawler: Any) -> QuietFailures:
        return cls()
