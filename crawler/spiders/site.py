"""The one generic spider: a seed file says where to start and which links to follow.

    scrapy crawl gonghui -a site=qhzgh                      # seed from seeds/qhzgh.toml
    scrapy crawl gonghui -a site=qhzgh -a origin=http://127.0.0.1:45123   # replica elsewhere

Every response becomes a PageItem (bytes, headers, decoded text, encoding evidence); the
archive pipeline stores it. Links are read from the text we decoded ourselves, and only links
on the seed's allowed hosts that match a list or article pattern are followed.

Besides the start URLs, articles the archive already holds are requested again: a list page
no longer links an article that was taken down, and an edit shows only on the article itself.
How many depends on the run's mode (``archive.ledger``, the seed's ``[revisit]`` table):

- **full** (a site's first crawl, then every ``deep_every_days``, or ``--deep``): every list
  page is walked and every known article (removed ones too) is re-checked;
- **incremental** (the nights between): walking on stops at a list page (other than a start
  page) that links an archived article (stop-when-seen: lists run newest first); a known
  article is fetched only when due (it is removed, is recent, or its turn in the rotation
  came) or when a list shows it under another title (crawler/spiders/revisit_mixin.py).

On any run but a backfill the seed's sitemaps (crawler/sitemaps.py) add the articles they list
that the archive lacks, those whose ``<lastmod>`` is later than our last look, and (when the
sitemap is complete) archived ones it no longer lists; read as streams, at most ``max_pages``
of them a run (crawler/spiders/sitemap_mixin.py). An e-paper's editions by date (a backfill, the
nightly edition filter) are crawler/spiders/epaper_mixin.py.

A request for a known article carries If-None-Match / If-Modified-Since from its last capture,
so a server that supports them answers 304 and no page is downloaded. Article requests do not
follow redirects by themselves: an article sent to the home page (or a list) has been removed,
which the spider says on the item; a redirect to another article is followed. A run carrying on
an interrupted one skips what that one archived (``resume_skip``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.config import load_settings
from archive.known import KnownArticle
from archive.owed import Owed
from archive.records import Fetch
from archive.urls import canonical_url, strip_params
from crawler import drops, monitor
from crawler.addon import apply_seed
from crawler.decode import decode_body
from crawler.epaper import Backfill, parse_backfill
from crawler.extract.article import parse_page
from crawler.items import PageItem
from crawler.rawcapture import RAW_META_KEY
from crawler.seeds import Seed, select_seeds
from crawler.spiders.epaper_mixin import EPaperMixin
from crawler.spiders.revisit_mixin import RevisitMixin, listing_changed
from crawler.spiders.sitemap_mixin import SitemapMixin

_HTML_TYPES = ("text/html", "application/xhtml")
_REDIRECTS = (301, 302, 303, 307, 308)
# Article requests see redirects and gone statuses themselves (removal detection).
# 304 answers a conditional re-check of a known article: unchanged.
_ARTICLE_META = {"dont_redirect": True, "handle_httpstatus_list": [*_REDIRECTS, 304, 404, 410]}


class SiteSpider(RevisitMixin, SitemapMixin, EPaperMixin, Spider):
    name = "gonghui"

    def __init__(
        self,
        site: str | Seed | None = None,
        origin: str | None = None,
        backfill: Backfill | str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if site is None:
            raise ValueError("give the site id: scrapy crawl gonghui -a site=ID")
        seed = (
            site if isinstance(site, Seed) else select_seeds(load_settings().seeds_dir, [site])[0]
        )
        self.seed: Seed = seed  # as written: its origin names pages in the archive
        self.served: Seed = seed.served_at(origin) if origin else seed  # where requests go
        self.site_id = seed.id
        # A backfill (`gonghui crawl --from D1 --to D2`, `-a backfill=D1..D2`) crawls the
        # e-paper editions of a date range instead of starting from the start URLs.
        self.backfill = parse_backfill(backfill) if isinstance(backfill, str) else backfill
        if self.backfill is not None and seed.epaper is None:
            raise ValueError(f"site {seed.id} has no [epaper] table: no backfill by date")
        # Canonical URLs of articles the interrupted run this one carries on already archived;
        # set by the archive pipeline when it opens the run.
        self.resume_skip: set[str] = set()
        self._requested: set[str] = set()  # links this run followed (see parse)
        # "full", "incremental" or "backfill" (module docstring); set by the pipeline from the run.
        self.crawl_mode = "full"
        self.known: dict[str, KnownArticle] = {}  # canonical URL -> what the archive holds
        # Pages earlier runs fetched but could not store (archive.owed); set by the pipeline.
        self.owed: list[Owed] = []
        # Start requests sent and answered, and why the failed ones failed: a run that reached
        # no start page failed (crawler.outcome), whatever else it fetched.
        self.starts_requested = 0
        self.starts_answered = 0
        self.start_failures: list[str] = []

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        # The seed's politeness, at "spider" priority: Scrapy freezes a crawler's settings only
        # after creating its spider, so plain `scrapy crawl gonghui -a site=ID` gets it too (the
        # `gonghui` runner wrote the same already; crawler/addon.py has the one mapping). A
        # crawler whose settings are frozen already (scrapy.utils.test.get_crawler) keeps them.
        if not crawler.settings.frozen:
            apply_seed(crawler.settings, spider.seed)
        spider.allowed_domains = sorted(
            {urlsplit("//" + h).hostname or h for h in spider.served.allowed_hosts}
        )
        return spider

    async def start(self) -> AsyncIterator[Request]:
        # Read before the first response is parsed: stop-when-seen and the edition filter use it.
        self.known = {k.canonical_url: k for k in self._known_articles()}
        starts = {request.url: request for request in self._start_requests()}
        for page in self.owed:  # first: the debts of earlier runs
            self.crawler.stats.inc_value("gonghui/owed_requested")
            request = self._request(self._served_url(page.url), recheck=True, owed=True)
            # An owed start page is asked for once, as both: Scrapy's duplicate filter would
            # drop the start request, and the run would say no start page was answered.
            if request is not None and (start := starts.pop(request.url, None)) is not None:
                request.meta.update(start.meta)
                yield self._as_start(request)
            elif request is not None:
                yield request
        for request in starts.values():
            yield self._as_start(request)
        if self.backfill is None:
            for url in self.seed.revisit.sitemaps:
                url = self._served_url(self.seed.absolute(url))
                if (request := self._sitemap_request(url, depth=0)) is not None:
                    yield request
        for known in self._due(self._of_backfill(list(self.known.values()))):
            if (request := self._request(self._served_url(known.url), recheck=True)) is not None:
                yield request

    def _as_start(self, request: Request) -> Request:
        self.starts_requested += 1
        request.meta["gonghui_start"] = True
        return request

    def parse(self, response: Response, **kwargs: Any) -> Iterator[PageItem | Request]:
        content_type = response.headers.get("Content-Type", b"").decode("latin-1")
        is_html = not content_type or content_type.lower().startswith(_HTML_TYPES)
        decoded = decode_body(response.body, content_type) if is_html else None
        url = response.url
        kind = (
            "article"
            if self.seed.is_article(url)
            else "list"
            if self.seed.is_list(url)
            else "other"
        )
        if response.meta.get("gonghui_start") and (
            response.status < 400 or (self.backfill is not None and response.status < 500)
        ):
            self.starts_answered += 1
        if (day := response.meta.get("gonghui_edition")) is not None:
            yield from self._edition_answered(response, day)
        gone = None
        if response.status in _REDIRECTS and kind == "article":
            target = self._redirect_target(response)
            # A server that insists on a session id redirects to the article with one: it is
            # still the article (its page identity drops the id, archive.urls).
            clean = strip_params(target, self.seed.session_params) if target else None
            if target is not None and clean is not None and self.seed.is_article(clean):
                if (request := self._request(target)) is not None:
                    yield request
            elif target is not None and self._is_home(target):
                gone = "redirect_home"
        # Parsed once: the links are read here, then the pipeline extracts from the same tree.
        doc = parse_page(decoded.text)[0] if decoded and response.status < 300 else None
        links = list(self._links(doc, url)) if doc is not None else []
        item = self._page_item(response, kind, decoded, gone)
        item.doc = doc if kind == "article" else None
        yield item
        if decoded is None or response.status >= 300:
            return
        if kind == "list" and self.crawler.stats is not None:  # the run's coverage
            articles = sum(1 for link, _ in links if self.seed.is_article(link))
            self.crawler.stats.inc_value(monitor.LIST_PAGES)
            self.crawler.stats.inc_value(monitor.LIST_LINKS, articles)
        follow_lists = not (kind == "list" and self._walk_stops_here(response, links))
        for link, text in links:
            # Asked for once already: Scrapy's duplicate filter would drop the request, after
            # the request, its middlewares and a fingerprint had been made for nothing (most
            # links of a page are to pages the crawl has seen: lists, neighbours, related).
            if link in self._requested:
                continue
            if not self.seed.is_article(link) and not (follow_lists and self._new_edition(link)):
                continue
            if (request := self._request(link, text)) is not None:
                self._requested.add(link)
                yield request

    def _page_item(
        self, response: Response, kind: str, decoded: Any, gone: str | None = None
    ) -> PageItem:
        """What the archive pipeline stores of a response: its capture, always."""
        raw = response.meta.get(RAW_META_KEY)  # the bytes on the wire (crawler.rawcapture)
        return PageItem(
            site_id=self.site_id,
            kind=kind,
            gone=gone,
            fetch=Fetch(
                url=response.url,
                status=response.status,
                headers=_header_pairs(response.headers),
                body=response.body,
                fetched_at=dt.datetime.now(dt.UTC),
                request_headers=_header_pairs(response.request.headers) if response.request else [],
                protocol=str(response.protocol or "HTTP/1.1").upper(),
                encoding=decoded.evidence if decoded else None,
                page_url=self._page_url(response.url),
                raw_request=raw.request if raw else None,
                raw_response=raw.response if raw else None,
            ),
            text=decoded.text if decoded else "",
        )

    def failed(self, failure: Failure) -> None:
        """Network errors, HTTP errors after retries and requests Scrapy dropped: each counted
        under its reason (``crawler.drops``), said in one line, never silent."""
        assert self.crawler.stats is not None
        request = getattr(failure, "request", None)
        kind, reason = drops.classify(failure)
        if kind == drops.DROP:
            if reason not in drops.COUNTED_ELSEWHERE:
                self.crawler.stats.inc_value(f"gonghui/drop/{reason}")
            self.logger.info("dropped (%s): %s", reason, request.url if request else "")
        else:
            self.crawler.stats.inc_value(f"gonghui/error/{reason}")
            self.logger.warning("%s: %s", reason, request.url if request else "")
        if request is not None and request.meta.get("gonghui_start"):
            url = request.meta.get("redirect_urls", [request.url])[0]
            self.start_failures.append(f"{reason} on {url}")

    # -- helpers ------------------------------------------------------------------------------

    def _request(
        self, url: str, text: str = "", *, recheck: bool = False, owed: bool = False
    ) -> Request | None:
        """A request for a list or article URL, or None for an article not to fetch now: one a
        resumed run skips, or (incremental) a known one that is not due and whose listing did
        not change. A known article is asked for conditionally when its validators are known.
        An owed page is always asked for, first (``priority``)."""
        if not self.seed.is_article(url):
            return Request(url, callback=self.parse, errback=self.failed, priority=20 * owed)
        canon = canonical_url(self._page_url(url) or url)
        assert self.crawler.stats is not None
        if canon in self.resume_skip and not owed:
            self.crawler.stats.inc_value("gonghui/resume/skipped")
            return None
        known = self.known.get(canon)
        if known is not None and not recheck and self.crawl_mode == "incremental":
            if not listing_changed(text, known.title):
                self.crawler.stats.inc_value("gonghui/revisit/known_skipped")
                return None
            self.crawler.stats.inc_value("gonghui/revisit/listing_changed")
        headers = {}
        if known is not None and known.etag:
            headers["If-None-Match"] = known.etag
        if known is not None and known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
        return Request(
            url,
            callback=self.parse,
            errback=self.failed,
            headers=headers,
            meta=dict(_ARTICLE_META),
            priority=20 * owed,
        )

    def _served_url(self, url: str) -> str:
        own, served = self.seed.origin, self.served.origin
        return served + url[len(own) :] if own != served and url.startswith(own) else url

    def _redirect_target(self, response: Response) -> str | None:
        location = response.headers.get("Location")
        if not location:
            return None
        target = urldefrag(urljoin(response.url, location.decode("latin-1").strip())).url
        return target if self.served.is_allowed(target) else None

    def _is_home(self, url: str) -> bool:
        """The site's front door: its root, an index page, a start URL or a list page."""
        path = urlsplit(url).path
        starts = {urlsplit(self.served.absolute(u)).path for u in self.served.start_urls}
        return (
            path in ("", "/")
            or path.rsplit("/", 1)[-1].startswith(("index.", "default."))
            or path in starts
            or self.seed.is_list(url)
        )

    def _page_url(self, url: str) -> str | None:
        served, own = self.served.origin, self.seed.origin
        if served != own and url.startswith(served):
            return own + url[len(served) :]
        return None

    def _links(self, doc: Any, base_url: str) -> Iterator[tuple[str, str]]:
        """(URL, link text) of every list or article link on the page (its tree, parsed as
        the extractor parses it: a stray </html> hides no links), on allowed hosts."""
        base = doc.find(".//base[@href]")
        base_url = urljoin(base_url, base.get("href")) if base is not None else base_url
        for element in doc.iter("a", "area"):
            href = (element.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "mailto:", "#")):
                continue
            # Session ids (archive.urls.SESSION_PARAMS and the seed's session_params) dropped:
            # a CMS that puts a fresh one in every link would make each visit a new page.
            link = strip_params(urldefrag(urljoin(base_url, href)).url, self.seed.session_params)
            if not self.served.is_allowed(link):
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("gonghui/links/offsite")
                continue
            if (self.seed.is_article(link) or self.seed.is_list(link)) and self._in_backfill(link):
                yield link, " ".join((element.text_content() or element.get("alt") or "").split())


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs
