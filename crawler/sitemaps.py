"""Sitemaps: what a site itself says changed, so a nightly crawl need not ask every page.

A list page shows what is new; nothing on it says that a year-old article was edited or taken
down, and asking every archived page every night (even with 304s) is what incremental crawling
is meant to avoid. Many CMSs publish a sitemap (sitemaps.org) whose ``<lastmod>`` moves when a
page changes and from which a deleted page disappears. A seed names its sitemaps (or its
robots.txt, whose ``Sitemap:`` lines name them) in ``[revisit] sitemaps``; the spider then asks

- every article the sitemap lists that the archive does not hold (new, or never linked from a
  list the crawl walked);
- every archived article whose ``<lastmod>`` is newer than our last look at it;
- every archived, live article the sitemap no longer lists, but only when the sitemap is
  complete enough to say so (``absent``): a sitemap of the latest N articles says nothing about
  the others.

The sitemap is a hint, never the verdict: each of these is an ordinary (conditional) request,
and only the page's own answer (a new text, a 304, a 404/410) changes the archive.

Parsing is Scrapy's (``scrapy.utils.sitemap``: lxml with entities off, sitemap index and
urlset alike); what is ours is reading ``<lastmod>`` and deciding what to ask for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import lxml.etree
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

# China Standard Time: a <lastmod> with a time but no offset (invalid W3C, yet seen) is read
# as the sites' local time.
SITE_TZ = dt.timezone(dt.timedelta(hours=8))
# A sitemap index may name sitemap indexes; deeper than this is a loop or a trap.
MAX_DEPTH = 2
# Absence is worth a request when the sitemap lists at least this share of the archived, live
# articles: a partial sitemap (the newest N, one section) leaves the rest alone ...
COMPLETE_SHARE = 0.9
# ... or when so few are missing that asking costs nothing (a small site's one removal).
FEW_MISSING = 5
_MAX_SIZE = 50 * 1024 * 1024  # sitemaps.org: at most 50 MB uncompressed


class SitemapError(ValueError):
    """A sitemap that cannot be read (not XML, not a sitemap, a broken gzip file)."""


@dataclass(frozen=True)
class Entry:
    loc: str
    lastmod: LastMod | None


@dataclass(frozen=True)
class LastMod:
    """A ``<lastmod>``: an instant, or (a date without a time) a whole day in site time."""

    at: dt.datetime  # aware; for a date, its start in site time
    date_only: bool

    def after(self, checked_at: dt.datetime) -> bool:
        """Whether the page may have changed since ``checked_at`` (aware). A date alone cannot
        be ordered within its day: a page changed on the day of our last look is asked again."""
        if self.date_only:
            return self.at.date() >= checked_at.astimezone(SITE_TZ).date()
        return self.at > checked_at


@dataclass(frozen=True)
class Document:
    kind: str  # "urlset" or "sitemapindex"
    entries: tuple[Entry, ...]


def parse_lastmod(text: str | None) -> LastMod | None:
    """A W3C datetime (``2025-06-30``, ``2025-06-30T08:00:00+08:00``, ``...Z``); None when
    absent or unreadable (the entry still counts as listed, with no date to compare)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return LastMod(dt.datetime.combine(day, dt.time(), SITE_TZ), True)
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return LastMod(at if at.tzinfo else at.replace(tzinfo=SITE_TZ), False)


def parse_sitemap(body: bytes) -> Document:
    """A sitemap or sitemap index, gzipped or not."""
    if body[:2] == b"\x1f\x8b":
        try:
            body = gunzip(body, max_size=_MAX_SIZE)
        except (OSError, EOFError, ValueError) as exc:
            raise SitemapError(f"broken gzip file: {exc}") from None
    try:
        document = Sitemap(body)
        kind = document.type
        entries = tuple(
            Entry(item["loc"], parse_lastmod(item.get("lastmod")))
            for item in document
            if item.get("loc")
        )
    except (lxml.etree.LxmlError, StopIteration) as exc:
        raise SitemapError(f"not XML: {str(exc) or 'no root element'}") from None
    if kind not in ("urlset", "sitemapindex"):
        raise SitemapError(f"not a sitemap: the root element is <{kind}>")
    return Document(kind, entries)


def robots_sitemaps(body: bytes, base_url: str) -> list[str]:
    """The sitemaps a robots.txt names (``Sitemap:`` lines), absolute."""
    return list(dict.fromkeys(sitemap_urls_from_robots(body, base_url=base_url)))


def absent(live: Iterable[str], listed: set[str]) -> list[str]:
    """The archived, live articles the sitemap no longer lists, when it is complete enough to
    say so (``COMPLETE_SHARE``, ``FEW_MISSING``); none when it lists too few to be the whole site."""
    live = list(live)
    missing = [url for url in live if url not in listed]
    if len(missing) <= FEW_MISSING or len(live) - len(missing) >= COMPLETE_SHARE * len(live):
        return missing
    return []
