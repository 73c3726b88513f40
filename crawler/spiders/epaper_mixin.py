"""The e-paper side of the spider: editions by date (crawler/epaper.py).

A backfill (``gonghui crawl SITE --from D1 --to D2``) starts from the first 版面 of every
date's edition instead of the start URLs, follows no link into another edition and re-checks
only the archived articles of the range. A nightly (incremental) crawl of an e-paper takes the
editions not older than the newest one archived, not the whole back catalogue its front page
links. ``SiteSpider`` inherits these; they are apart so each file reads in one sitting.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response

from archive.known import KnownArticle
from crawler.epaper import Backfill, follows

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.seeds import Seed


class EPaperMixin:
    """Backfill by date and the nightly edition filter, for ``SiteSpider``."""

    seed: Seed
    served: Seed
    backfill: Backfill | None
    crawl_mode: str
    known: dict[str, KnownArticle]
    crawler: Crawler
    logger: Any

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:  # SiteSpider's
        raise NotImplementedError

    def failed(self, failure: Any) -> None:  # SiteSpider's
        raise NotImplementedError

    def _served_url(self, url: str) -> str:  # SiteSpider's
        raise NotImplementedError

    def _start_requests(self) -> Iterator[Request]:
        """The start URLs; in a backfill instead the first 版面 of the edition of every date
        of the range (the start URLs lead to the newest edition and the 往期 index)."""
        epaper = self.seed.epaper
        if self.backfill is None or epaper is None:
            for url in self.served.start_urls:
                yield Request(self.served.absolute(url), callback=self.parse, errback=self.failed)
            return
        for day in self.backfill.days():
            url = self._served_url(self.seed.absolute(epaper.edition(day)))
            meta = {"gonghui_edition": day}
            yield Request(url, callback=self.parse, errback=self.failed, meta=meta)

    def _edition_answered(self, response: Response, day: dt.date) -> Iterator[Request]:
        """An edition request answered: a date without an edition (404, or a redirect away
        from its date) is counted, not an error; a found one gets every 版面 page_url names
        (its 版面 links are followed anyway, as on any list page)."""
        epaper = self.seed.epaper
        assert self.crawler.stats is not None and epaper is not None
        if response.status >= 300 or epaper.date_of(response.url) != day:
            self.crawler.stats.inc_value("gonghui/epaper/no_edition")
            self.logger.info("no edition of %s (%s %s)", day, response.status, response.url)
            return
        self.crawler.stats.inc_value("gonghui/epaper/editions")
        for page in epaper.pages_of(day):
            url = self._served_url(self.seed.absolute(page))
            yield Request(url, callback=self.parse, errback=self.failed)

    def _in_backfill(self, url: str) -> bool:
        """Every link outside a backfill. In one, only links of the range's editions: a link
        carrying another date (前一期, 往期) or an undated list page (the front page, the 往期
        index) would lead into editions outside the range, so it is not followed (counted)."""
        epaper = self.seed.epaper
        if self.backfill is None or epaper is None:
            return True
        if follows(epaper, self.backfill, url, article=self.seed.is_article(url)):
            return True
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("gonghui/epaper/out_of_range")
        return False

    def _of_backfill(self, known: list[KnownArticle]) -> list[KnownArticle]:
        """Archived articles to re-check: in a backfill only those of the range's editions."""
        epaper = self.seed.epaper
        if self.backfill is None or epaper is None:
            return known
        return [k for k in known if self.backfill.covers(epaper.date_of(k.url))]

    def _new_edition(self, url: str) -> bool:
        """Incremental crawl of an e-paper: a 版面 link dated before the newest edition already
        archived is not followed. The front page (往期回顾) links every edition; the nightly
        run takes the new ones (several, if nights were missed), not the whole back catalogue."""
        epaper = self.seed.epaper
        if self.crawl_mode != "incremental" or epaper is None or not self._newest_known:
            return True
        day = epaper.date_of(url)
        if day is None or day >= self._newest_known:
            return True
        assert self.crawler.stats is not None
        self.crawler.stats.inc_value("gonghui/revisit/old_edition")
        return False

    @functools.cached_property
    def _newest_known(self) -> dt.date | None:
        """The newest date of an archived article's edition (e-papers), None before any."""
        epaper = self.seed.epaper
        days = [d for k in self.known.values() if epaper and (d := epaper.date_of(k.url))]
        return max(days, default=None)
