"""Run the spider for one or more seeds in this process and collect a summary per site.

Used by `gonghui crawl` and `gonghui demo`. Each site gets its own Crawler with the politeness
of its seed written into its settings at "spider" priority; all share one Twisted reactor, so a
process runs crawls once (the scheduler starts a new process per crawl for that reason).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler.epaper import Backfill
from crawler.seeds import Seed
from crawler.spiders.site import SiteSpider


@dataclass(slots=True)
class SiteResult:
    site_id: str
    name: str
    run_id: int | None = None
    pages_fetched: int = 0
    articles_archived: int = 0
    new_versions: int = 0
    removals: int = 0
    drops: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    finish_reason: str = "not started"
    stop_reason: str | None = None  # one line: why the crawl stopped early or was skipped
    # An e-paper backfill: editions found, no_edition (dates without one), out_of_range links.
    epaper: dict[str, int] = field(default_factory=dict)
    # The seed's sitemaps: articles listed, and of those asked for: new, changed, absent.
    sitemap: dict[str, int] = field(default_factory=dict)


ProgressHook = Callable[[str, Mapping[str, Any]], None]


def crawl_settings(
    seed: Seed,
    *,
    database_url: str,
    warc_dir: Path,
    user_agent: str,
    trigger: str = "manual",
    log_level: str = "WARNING",
) -> Settings:
    """Scrapy settings for one site: the project defaults, then the seed's politeness."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    p = seed.politeness
    settings.setdict(
        {
            "USER_AGENT": user_agent,
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
            "GONGHUI_DATABASE_URL": database_url,
            "GONGHUI_WARC_DIR": str(warc_dir),
            "GONGHUI_TRIGGER": trigger,
            # The caller migrated the database once before starting the crawlers.
            "GONGHUI_MIGRATE": False,
            "LOG_LEVEL": log_level,
        },
        priority="spider",
    )
    return settings


def run_crawls(
    seeds: list[Seed],
    *,
    database_url: str,
    warc_dir: Path,
    user_agent: str,
    trigger: str = "manual",
    origins: Mapping[str, str] | None = None,
    log_level: str = "WARNING",
    progress: ProgressHook | None = None,
    run_ids: Mapping[str, int] | None = None,
    backfill: Backfill | None = None,
) -> list[SiteResult]:
    """Crawl the seeds concurrently (each site politely on its own) and wait for all."""
    base = Settings()
    base.setmodule("crawler.settings", priority="project")
    base.set("LOG_LEVEL", log_level, priority="cmdline")
    process = CrawlerProcess(base)
    crawlers: list[tuple[Seed, Crawler]] = []
    for index, seed in enumerate(seeds):
        settings = crawl_settings(
            seed,
            database_url=database_url,
            warc_dir=warc_dir,
            user_agent=user_agent,
            trigger=trigger,
            log_level=log_level,
        )
        if run_ids and seed.id in run_ids:  # opened by the caller, which holds the lease
            settings.set("GONGHUI_RUN_ID", run_ids[seed.id], priority="spider")
        # The first crawler installs the reactor named in the settings (asyncio by default).
        crawler = Crawler(SiteSpider, settings, init_reactor=index == 0)
        if progress is not None:
            _connect_progress(crawler, seed.id, progress)
        origin = (origins or {}).get(seed.id)
        # A backfill starts every site from its editions of the range (crawler/epaper.py).
        process.crawl(crawler, site=seed, origin=origin, backfill=backfill)
        crawlers.append((seed, crawler))
    process.start()
    return [_result(seed, crawler) for seed, crawler in crawlers]


def _connect_progress(crawler: Crawler, site_id: str, hook: ProgressHook) -> None:
    def update(*_: Any, **__: Any) -> None:
        assert crawler.stats is not None
        hook(site_id, crawler.stats.get_stats())

    crawler.signals.connect(update, signal=signals.item_scraped)
    crawler.signals.connect(update, signal=signals.spider_closed)


def _result(seed: Seed, crawler: Crawler) -> SiteResult:
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats else {}
    drops = {
        k.removeprefix("gonghui/drop/"): v
        for k, v in stats.items()
        if k.startswith("gonghui/drop/")
    }
    if stats.get("robotstxt/forbidden"):
        drops["robots_disallowed"] = stats["robotstxt/forbidden"]
    errors = {
        k.removeprefix("gonghui/error/"): v
        for k, v in stats.items()
        if k.startswith("gonghui/error/")
    }
    return SiteResult(
        site_id=seed.id,
        name=seed.name,
        run_id=stats.get("gonghui/run_id"),
        pages_fetched=stats.get("gonghui/pages_fetched", 0),
        articles_archived=stats.get("gonghui/articles_archived", 0),
        new_versions=stats.get("gonghui/new_versions", 0),
        removals=stats.get("gonghui/removals", 0),
        drops=dict(sorted(drops.items())),
        errors=dict(sorted(errors.items())),
        finish_reason=stats.get("finish_reason", "not started"),
        stop_reason=stats.get("gonghui/stop_reason"),
        epaper={
            k.removeprefix("gonghui/epaper/"): v
            for k, v in stats.items()
            if k.startswith("gonghui/epaper/")
        },
        sitemap={
            k.removeprefix("gonghui/sitemap/"): v
            for k, v in stats.items()
            if k.startswith("gonghui/sitemap/")
        },
    )
