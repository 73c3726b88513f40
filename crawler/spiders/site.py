"""The one generic spider: a seed file says where to start and which links to follow.

    scrapy crawl gonghui -a site=qhzgh                      # seed from seeds/qhzgh.toml
    scrapy crawl gonghui -a site=qhzgh -a origin=http://127.0.0.1:45123   # replica elsewhere

Every response becomes a PageItem (bytes, headers, decoded text, encoding evidence); the
archive pipeline stores it. Links are read from the text we decoded ourselves, and only links
on the seed's allowed hosts that match a list or article pattern are followed.

Besides the start URLs, every article the archive already holds for the site is requested
again (removed ones too): a list page no longer links an article that was taken down, and an
edit shows only on the article itself. Article requests do not follow redirects by themselves:
an article sent to the home page (or a list) has been removed, which the spider says on the
item; a redirect to another article is followed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html
from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from twisted.python.failure import Failure

from archive.config import load_settings
from archive.db import make_engine
from archive.errors import DatabaseError
from archive.queries import article_urls
from archive.records import Fetch
from crawler.decode import decode_body
from crawler.items import PageItem
from crawler.seeds import Seed, select_seeds

_HTML_TYPES = ("text/html", "application/xhtml")
_REDIRECTS = (301, 302, 303, 307, 308)
# Article requests see redirects and gone statuses themselves (removal detection).
_ARTICLE_META = {"dont_redirect": True, "handle_httpstatus_list": [*_REDIRECTS, 404, 410]}


class SiteSpider(Spider):
    name = "gonghui"

    def __init__(self, site: str | Seed | None = None, origin: str | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        if site is None:
            raise ValueError("give the site id: scrapy crawl gonghui -a site=ID")
        seed = (
            site if isinstance(site, Seed) else select_seeds(load_settings().seeds_dir, [site])[0]
        )
        self.seed: Seed = seed  # as written: its origin names pages in the archive
        self.served: Seed = seed.served_at(origin) if origin else seed  # where requests go
        self.site_id = seed.id

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> SiteSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.allowed_domains = sorted(
            {urlsplit("//" + h).hostname or h for h in spider.served.allowed_hosts}
        )
        return spider

    async def start(self) -> AsyncIterator[Request]:
        for url in self.served.start_urls:
            yield Request(self.served.absolute(url), callback=self.parse, errback=self.failed)
        for url in self._known_articles():
            yield self._request(self._served_url(url))

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
        gone = None
        if response.status in _REDIRECTS and kind == "article":
            target = self._redirect_target(response)
            if target is not None and self.seed.is_article(target):
                yield self._request(target)
            elif target is not None and self._is_home(target):
                gone = "redirect_home"
        yield PageItem(
            site_id=self.site_id,
            kind=kind,
            gone=gone,
            fetch=Fetch(
                url=url,
                status=response.status,
                headers=_header_pairs(response.headers),
                body=response.body,
                fetched_at=dt.datetime.now(dt.UTC),
                request_headers=_header_pairs(response.request.headers) if response.request else [],
                protocol=str(response.protocol or "HTTP/1.1").upper(),
                encoding=decoded.evidence if decoded else None,
                page_url=self._page_url(url),
            ),
            text=decoded.text if decoded else "",
        )
        if decoded is None or response.status >= 300:
            return
        for link in self._links(decoded.text, url):
            yield self._request(link)

    def failed(self, failure: Failure) -> None:
        """Network errors and HTTP errors after retries: counted by kind, never silent."""
        reason = failure.type.__name__ if failure.type else "error"
        response = getattr(failure.value, "response", None)
        if response is not None:
            reason = f"http_{response.status}"
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value(f"gonghui/error/{reason}")
        self.logger.warning(
            "%s: %s", reason, failure.request.url if hasattr(failure, "request") else ""
        )

    # -- helpers ------------------------------------------------------------------------------

    def _request(self, url: str) -> Request:
        meta = _ARTICLE_META if self.seed.is_article(url) else {}
        return Request(url, callback=self.parse, errback=self.failed, meta=dict(meta))

    def _known_articles(self) -> list[str]:
        """The site's archived article URLs; none when the archive cannot be read (yet)."""
        assert self.crawler is not None
        database_url = self.crawler.settings.get("GONGHUI_DATABASE_URL") or (
            load_settings().database_url
        )
        try:
            engine = make_engine(database_url)
        except DatabaseError:
            return []
        try:
            return article_urls(engine, self.site_id)
        except DatabaseError as exc:  # a first crawl before the pipeline migrated
            self.logger.info("no archived articles to re-check: %s", exc)
            return []
        finally:
            engine.dispose()

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

    def _links(self, text: str, base_url: str) -> Iterator[str]:
        try:
            doc = lxml.html.document_fromstring(text)
        except (ValueError, lxml.etree.ParserError):
            return
        base = doc.find(".//base[@href]")
        base_url = urljoin(base_url, base.get("href")) if base is not None else base_url
        for element in doc.iter("a", "area"):
            href = (element.get("href") or "").strip()
            if not href or href.startswith(("javascript:", "mailto:", "#")):
                continue
            link = urldefrag(urljoin(base_url, href)).url
            if not self.served.is_allowed(link):
                assert self.crawler.stats is not None
                self.crawler.stats.inc_value("gonghui/links/offsite")
                continue
            if self.seed.is_article(link) or self.seed.is_list(link):
                yield link


def _header_pairs(headers: Any) -> list[tuple[str, str]]:
    pairs = []
    for name, values in headers.items():
        for value in values:
            pairs.append((name.decode("latin-1"), value.decode("latin-1")))
    return pairs
