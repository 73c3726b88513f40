"""The revisit side of the spider: what an incremental crawl re-checks and where it stops.

A site's known articles (what the archive holds) are read once when the crawl starts; a full
crawl re-checks all of them, an incremental one only those due (``_due``), stops walking a list
where the archived articles begin (stop-when-seen, ``_walk_stops_here``), and fetches a known
article that is not due only when a list shows it under another title (``listing_changed``).
``SiteSpider`` (crawler/spiders/site.py, whose docstring tells the modes) inherits these; they
are apart so each file reads in one sitting.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scrapy.http import Response

from archive.config import load_settings
from archive.db import make_engine
from archive.errors import DatabaseError
from archive.known import KnownArticle, known_articles
from archive.urls import canonical_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

    from crawler.seeds import Seed


class RevisitMixin:
    """Which known articles to re-check, and stop-when-seen, for ``SiteSpider``."""

    seed: Seed
    site_id: str
    crawl_mode: str
    known: dict[str, KnownArticle]
    crawler: Crawler
    logger: Any
    _page_url: Callable[[str], str | None]  # SiteSpider's

    def _due(self, known: list[KnownArticle]) -> list[KnownArticle]:
        """The known articles to re-check in this run: all of them in a full crawl or on a
        small site (``recheck_all_up_to``); otherwise the removed ones (a restoration is news
        too), those published within ``recent_days`` of the site's newest article (edits and
        removals come soon after publication; counted from the newest article, not today, so a
        site that publishes rarely is treated alike), and in turn a 1/``recheck_days`` share
        of the rest, least recently checked first. Every re-check is a conditional request
        where validators are known, so an unchanged page costs a 304."""
        revisit = self.seed.revisit
        if self.crawl_mode != "incremental" or not known or len(known) <= revisit.recheck_all_up_to:
            return known
        dates = [k.published for k in known if k.published]
        recent_from = max(dates) - dt.timedelta(days=revisit.recent_days) if dates else None
        due = [
            k
            for k in known
            if k.removed or (recent_from and k.published and k.published >= recent_from)
        ]
        chosen = {k.canonical_url for k in due}
        rest = sorted(
            (k for k in known if k.canonical_url not in chosen),
            key=lambda k: (k.last_seen_at, k.canonical_url),
        )
        due += rest[: -(-len(known) // revisit.recheck_days)]
        assert self.crawler.stats is not None
        self.crawler.stats.set_value("gonghui/revisit/known", len(known))
        self.crawler.stats.set_value("gonghui/revisit/due", len(due))
        return due

    def _walk_stops_here(self, response: Response, links: list[tuple[str, str]]) -> bool:
        """Stop-when-seen: an incremental crawl does not walk on from a list page (other than a
        start page) that links an archived article. Lists run newest first, so the first
        archived article on a page marks where what is new ends: the next pages hold nothing
        new. (Waiting for a page whose articles are *all* archived would read every page of a
        pagination bar that links them all from page 1.) The deep crawl every
        ``deep_every_days`` reads everything, should a list not run newest first."""
        if self.crawl_mode != "incremental" or not self.seed.revisit.stop_when_seen:
            return False
        if response.meta.get("depth", 0) == 0:
            return False
        seen = any(
            canonical_url(self._page_url(link) or link) in self.known
            for link, _ in links
            if self.seed.is_article(link)
        )
        if seen:
            assert self.crawler.stats is not None
            self.crawler.stats.inc_value("gonghui/revisit/stop_when_seen")
        return bool(seen)

    def _known_articles(self) -> list[KnownArticle]:
        """The site's archived articles; none when the archive cannot be read (yet)."""
        assert self.crawler is not None
        database_url = self.crawler.settings.get("GONGHUI_DATABASE_URL") or (
            load_settings().database_url
        )
        try:
            engine = make_engine(database_url)
        except DatabaseError:
            return []
        try:
            return known_articles(engine, self.site_id)
        except DatabaseError as exc:  # a first crawl before the pipeline migrated
            self.logger.info("no archived articles to re-check: %s", exc)
            return []
        finally:
            engine.dispose()


_LISTING_NOISE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?|[\[【(（][^\]】)）]{0,8}[\]】)）]|\s+"
)


def listing_changed(text: str, title: str) -> bool:
    """Whether a list's link text says the article was retitled: it is not the archived title
    (nor its start: lists cut long titles with … or ...), yet close to it (character-bigram
    Dice ≥ 0.5). Link texts that are not titles at all (a photo's 图为… caption, 详情, 更多)
    say nothing; neither do dates, short bracketed tags and fewer than 6 characters."""
    shown = _LISTING_NOISE.sub("", text).rstrip(".…")
    title = _LISTING_NOISE.sub("", title)
    if len(shown) < 6 or shown in title:
        return False
    a, b = _bigrams(shown), _bigrams(title)
    return bool(a and b) and 2 * len(a & b) / (len(a) + len(b)) >= 0.5


def _bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)}
