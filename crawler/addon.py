"""The archive's Scrapy add-on, and the one mapping from a seed to Scrapy settings.

Both ways of running the spider crawl a site with its seed's politeness and the archive's
User-Agent:

- ``gonghui crawl`` builds each site's settings with ``runner.crawl_settings``, which writes
  ``seed_settings(seed)`` at "spider" priority;
- plain ``scrapy crawl gonghui -a site=ID`` (``scrapy.cfg``) gets the same: the spider's
  ``from_crawler`` writes ``seed_settings`` of the seed its ``site`` argument names at "spider"
  priority (Scrapy 2.11+ freezes the settings only after the spider is created), and this
  add-on, enabled by ``ADDONS`` in crawler/settings.py, sets ``USER_AGENT`` from
  ``GONGHUI_USER_AGENT`` (archive.config) at "addon" priority.

So the seed beats the project settings, and ``scrapy crawl ... -s DOWNLOAD_DELAY=5`` (command
line priority) still beats the seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from archive.config import load_settings

if TYPE_CHECKING:
    from scrapy.settings import BaseSettings

    from crawler.seeds import Seed


def seed_settings(seed: Seed) -> dict[str, Any]:
    """The Scrapy settings a seed's ``[politeness]`` table stands for (seeds/README.md)."""
    p = seed.politeness
    return {
        "ROBOTSTXT_OBEY": p.obey_robots,
        "DOWNLOAD_DELAY": p.download_delay,
        "CONCURRENT_REQUESTS_PER_DOMAIN": p.concurrent_requests,
        # A crawler crawls one site: the downloader holds no more than the site may have in
        # flight, the rest waits in the scheduler, so a stop (too many errors) or a
        # Retry-After takes effect at once instead of after a buffer of queued requests.
        "CONCURRENT_REQUESTS": p.concurrent_requests,
        "AUTOTHROTTLE_ENABLED": p.autothrottle,
        "AUTOTHROTTLE_START_DELAY": max(p.download_delay, 0.1),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": p.autothrottle_target_concurrency,
        "CLOSESPIDER_PAGECOUNT": p.max_pages,
        "DOWNLOAD_TIMEOUT": p.timeout,
        "GONGHUI_MAX_CRAWL_DELAY": p.max_crawl_delay,
        "GONGHUI_MAX_RETRY_AFTER": p.max_retry_after,
        "GONGHUI_MAX_ERRORS": p.max_errors,
    }


def apply_seed(settings: BaseSettings, seed: Seed) -> None:
    """Write the seed's settings at "spider" priority (above the project's, below ``-s``)."""
    settings.setdict(seed_settings(seed), priority="spider")


class GonghuiAddon:
    """Enabled in crawler/settings.py: the archive's User-Agent for every crawl, not Scrapy's.

    The seed is not applied here: Scrapy documents ``update_settings`` as running while the
    crawler is set up, not that the spider (which knows its ``site`` argument) exists by then,
    while a spider's ``from_crawler`` changing settings is documented (Scrapy 2.11+).
    """

    def update_settings(self, settings: BaseSettings) -> None:
        settings.set("USER_AGENT", load_settings().user_agent, priority="addon")

    def __repr__(self) -> str:  # Scrapy logs the enabled add-ons at INFO
        return f"{type(self).__module__}.{type(self).__name__}"
