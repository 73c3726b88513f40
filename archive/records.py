"""Plain values that cross the boundary between the crawler and the archive.

The crawler builds these from a Scrapy response; the archive stores them. Neither side needs
the other's types: this module imports nothing from Scrapy, SQLAlchemy or the crawler.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class EncodingEvidence:
    """How the bytes of one response were turned into text, kept on its capture."""

    http_charset: str | None  # charset= of the Content-Type header, as sent
    meta_charset: str | None  # <meta charset> / http-equiv in the first bytes, as sent
    detected: str | None  # what charset-normalizer guessed (None when not asked)
    chosen: str  # the codec actually used, e.g. "gb18030", "utf-8"
    replacement_count: int  # U+FFFD characters in the decoded text


@dataclass(frozen=True, slots=True)
class Fetch:
    """One HTTP exchange as it came off the wire."""

    url: str  # the URL fetched (after redirects: the response URL)
    status: int
    headers: list[tuple[str, str]]  # response headers, in order, as sent
    body: bytes  # the response body, de-chunked and decompressed (what we parse)
    fetched_at: dt.datetime  # tz-aware UTC
    request_headers: list[tuple[str, str]] = field(default_factory=list)
    protocol: str = "HTTP/1.1"
    encoding: EncodingEvidence | None = None  # None for bodies that were never decoded
    # The URL that names the page in the archive when it differs from ``url``: a replica site
    # served on a throw-away port is archived under its seed's stable origin.
    page_url: str | None = None
    # The exchange byte for byte as it crossed the connection (crawler.rawcapture): the request
    # as sent, the response as received (status line, headers in their order and case, body
    # still chunked and content-coded). The WARC keeps these; ``body`` is what we decoded.
    # None where the fetch did not come off a socket we recorded (then the WARC is rebuilt
    # from ``status``, ``headers`` and ``body``).
    raw_request: bytes | None = None
    raw_response: bytes | None = None


@dataclass(frozen=True, slots=True)
class ArticleFields:
    """What the extractor found on an article page, cleaned and validated."""

    title: str
    body: str  # paragraphs separated by "\n"
    published: dt.date | None = None
    published_time: str | None = None  # "HH:MM" or "HH:MM:SS" when the page shows it
    subtitle: str | None = None
    kicker: str | None = None
    source: str | None = None  # 来源
    author: str | None = None  # 作者 / byline
    captions: tuple[str, ...] = ()
    # The zh-Hans reading (crawler.extract.hant): pinyin artefacts out, OpenCC t2s. None where
    # it equals title / body, so a zh-Hans site stores nothing twice; read it through
    # ``hans_title`` / ``hans_body``. Not part of the content hash: a version is a change in
    # what the page published, not in how we read it.
    title_hans: str | None = None
    body_hans: str | None = None
    artefacts_removed: int | None = None  # None: the text was never normalised
    lost_chars: int | None = None  # ?/？/U+FFFD standing for a lost character
    script: str | None = None  # "hant" when t2s changed something, "hans", None without CJK

    @property
    def hans_title(self) -> str:
        return self.title if self.title_hans is None else self.title_hans

    @property
    def hans_body(self) -> str:
        return self.body if self.body_hans is None else self.body_hans


# What a version holds of the article, read off the page (ArticleFields) or carried over from
# the version it follows (ArticleVersion: a removal keeps the last text): the same names.
_VERSION_COLUMNS = (
    "title",
    "subtitle",
    "kicker",
    "published",
    "published_time",
    "source",
    "author",
    "title_hans",
    "artefacts_removed",
    "lost_chars",
    "script",
)


def version_columns(source: ArticleFields | Any) -> dict[str, Any]:
    """The article's columns of a new version row, from ``source`` (see _VERSION_COLUMNS)."""
    columns = {name: getattr(source, name) for name in _VERSION_COLUMNS}
    columns["captions"] = list(source.captions)
    return columns


@dataclass(frozen=True, slots=True)
class VersionOutcome:
    """What storing an article did."""

    page_id: int
    version_id: int
    version_no: int
    is_new_version: bool  # False when the normalised content matched the current version
    change_class: str | None = None  # of the new version (archive.textdiff), None if none


@dataclass(slots=True)
class RunCounts:
    """Per-site totals of one crawl run, written on the run row when it ends."""

    pages_fetched: int = 0  # HTTP responses received (any status), robots.txt excluded
    articles_archived: int = 0  # article pages that passed validation and were stored
    new_versions: int = 0  # of those, how many created a new article version
    drops: dict[str, int] = field(default_factory=dict)  # reason -> count, e.g. "http_404": 1
    errors: int = 0  # network / parse / storage errors
    removals: int = 0  # archived articles seen gone (404, 410, redirect home, soft 404)
