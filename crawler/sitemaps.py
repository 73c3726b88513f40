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

A sitemap comes from a server we do not control: up to 50 MB (sitemaps.org), far more
gzipped, and an index may name 50,000 of them. So it is read as a stream (``SitemapReader``:
lxml's iterparse over the body, gunzipped on the fly and cut at 50 MB, each entry cleared once
read; entities, DTDs and the network off, libxml2's size limits on), never as a tree, and the
spider keeps of each entry only what it decides (crawler/spiders/sitemap_mixin.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import lxml.etree
from scrapy.utils.sitemap import sitemap_urls_from_robots

from archive.urls import canonical_url

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
MAX_SIZE = 50 * 1024 * 1024  # sitemaps.org: at most 50 MB uncompressed
# Sitemap documents (urlsets and indexes, robots.txt aside) read in one run; the rest of what
# indexes name is counted, not fetched (an index may name 50,000).
MAX_DOCUMENTS = 50
MAX_URL_LENGTH = 2048  # a longer <loc> is no page of ours (Scrapy drops such requests too)
_CHUNK = 64 * 1024
_KINDS = {"urlset": "url", "sitemapindex": "sitemap"}  # root element -> its entries
_PARSER = dict(
    events=("end",),
    resolve_entities=False,
    load_dtd=False,
    no_network=True,
    huge_tree=False,  # libxml2's default limits on text size and nesting depth
    recover=True,  # a stray & is read past, as browsers and search engines do; see ``whole``
    remove_comments=True,
    remove_pis=True,
)


class SitemapError(ValueError):
    """A sitemap that cannot be read (not XML, not a sitemap, a broken gzip file, too large)."""


@dataclass(frozen=True, slots=True)
class Entry:
    loc: str
    lastmod_text: str | None = None

    @property
    def lastmod(self) -> LastMod | None:
        return parse_lastmod(self.lastmod_text)


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


class _Body:
    """A response body as a file for iterparse: gunzipped as it is read when it is gzipped
    (member after member), and never more than ``max_size`` bytes of XML (a gzip bomb stops
    there, having cost one chunk)."""

    def __init__(self, body: bytes, max_size: int):
        self._body = memoryview(body)
        self._pos = 0
        self._max = max_size
        self._out = 0
        self._gzip = zlib.decompressobj(wbits=31) if body[:2] == b"\x1f\x8b" else None

    def read(self, size: int = _CHUNK) -> bytes:
        size = size if 0 < size <= _CHUNK else _CHUNK
        data = self._gunzip(size) if self._gzip is not None else self._take(size)
        self._out += len(data)
        if self._out > self._max:
            raise SitemapError(f"larger than {self._max // 2**20} MB uncompressed")
        return data

    def _take(self, size: int) -> bytes:
        data = bytes(self._body[self._pos : self._pos + size])
        self._pos += len(data)
        return data

    def _gunzip(self, size: int) -> bytes:
        try:
            while True:
                gz = self._gzip
                assert gz is not None
                if gz.unconsumed_tail:
                    data = gz.decompress(gz.unconsumed_tail, size)
                elif gz.eof:
                    if not gz.unused_data.startswith(b"\x1f\x8b"):
                        return b""  # the last member (trailing bytes ignored, as gunzip does)
                    self._gzip = zlib.decompressobj(wbits=31)
                    data = self._gzip.decompress(gz.unused_data, size)
                elif self._pos < len(self._body):
                    data = gz.decompress(self._take(_CHUNK), size)
                else:
                    raise SitemapError("broken gzip file: it ends before its data does")
                if data:
                    return data
        except zlib.error as exc:
            raise SitemapError(f"broken gzip file: {exc}") from None


class SitemapReader:
    """A sitemap or sitemap index (gzipped or not), read as a stream.

    ``kind`` is known on creation (the root element is read then: SitemapError if it is not a
    sitemap); iterating gives the entries (``loc`` and ``<lastmod>`` text) one at a time as the
    body is parsed, each element cleared once read, so memory does not grow with the entries.
    An error met on the way raises SitemapError after the entries before it were given.
    ``whole`` is true once every entry was read with no XML error: a sitemap read only in
    part (cut short, truncated, recovered past an error) cannot say that a page left it.
    """

    def __init__(self, body: bytes, *, max_size: int = MAX_SIZE):
        # End events only, each element's role looked up by its tag: a start event and a
        # namespace split per element would double the cost of reading.
        self._events = lxml.etree.iterparse(_Body(body, max_size), **_PARSER)
        self._roles = _Roles()
        self.whole = False
        self.first_error: str | None = None
        try:
            self._first = next(self._events)[1]
        except StopIteration:
            raise SitemapError("not XML: no root element") from None
        except lxml.etree.LxmlError as exc:
            raise SitemapError(f"not XML: {exc}") from None
        self._root = self._first.getroottree().getroot()
        self.kind = _local(self._root.tag)
        if self.kind not in _KINDS:
            raise SitemapError(f"not a sitemap: the root element is <{self.kind}>")

    def __iter__(self) -> Iterator[Entry]:
        entry_role, root, roles = _KINDS[self.kind], self._root, self._roles
        loc = lastmod = None
        try:
            for _, element in itertools.chain(((None, self._first),), self._events):
                role = roles[element.tag]
                if role == "loc" or role == "lastmod":
                    parent = element.getparent()  # not <image:loc> inside <image:image>
                    if parent is not None and roles[parent.tag] == entry_role:
                        if role == "loc":
                            loc = element.text
                        else:
                            lastmod = element.text
                elif role == entry_role and element.getparent() is root:
                    if loc and 0 < len(loc := loc.strip()) <= MAX_URL_LENGTH:
                        yield Entry(loc, lastmod.strip() if lastmod else None)
                    loc = lastmod = None
                element.clear()  # and what was read before it goes, at every level
                if element.getprevious() is not None:
                    parent = element.getparent()
                    while element.getprevious() is not None:
                        del parent[0]
        except lxml.etree.LxmlError as exc:
            raise SitemapError(f"not XML: {exc}") from None
        errors = [e for e in self._events.error_log if e.level >= lxml.etree.ErrorLevels.ERROR]
        self.whole = not errors
        self.first_error = errors[0].message if errors else None


class _Roles(dict[object, str]):
    """Element tag -> local name (``{ns}loc`` -> ``loc``), each worked out once."""

    def __missing__(self, tag: object) -> str:
        self[tag] = role = _local(tag)
        return role


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def parse_sitemap(body: bytes) -> Document:
    """A whole (small) sitemap or index at once; the spider streams with SitemapReader."""
    reader = SitemapReader(body)
    return Document(reader.kind, tuple(reader))


def robots_sitemaps(body: bytes, base_url: str) -> list[str]:
    """The sitemaps a robots.txt names (``Sitemap:`` lines), absolute."""
    return list(dict.fromkeys(sitemap_urls_from_robots(body, base_url=base_url)))


# A URL that canonical_url gives back unchanged: lower-case host, no default port, a path of
# unreserved characters without dot segments, no query, no fragment. Sitemaps are made of
# such URLs, and w3lib's canonicalisation costs ten times the rest of an entry's reading.
_PLAIN_URL = re.compile(
    r"(?:http://[a-z0-9.-]+(?::(?!80/)[1-9][0-9]{0,4})?|https://[a-z0-9.-]+(?::(?!443/)[1-9][0-9]{0,4})?)"
    r"(?:/(?!\.)[A-Za-z0-9_.~-]*)+"
)


def canonical(url: str) -> str:
    """``canonical_url``, cheaply for the URLs it would not change. Raises ValueError as it."""
    return url if _PLAIN_URL.fullmatch(url) else canonical_url(url)


def absent(live: Iterable[str], listed: set[str]) -> list[str]:
    """The archived, live articles the sitemap no longer lists, when it is complete enough to
    say so (``COMPLETE_SHARE``, ``FEW_MISSING``); none when it lists too few to be the whole site.
    ``listed`` needs to hold only the archived articles the sitemap lists."""
    live = list(live)
    missing = [url for url in live if url not in listed]
    if len(missing) <= FEW_MISSING or len(live) - len(missing) >= COMPLETE_SHARE * len(live):
        return missing
    return []
