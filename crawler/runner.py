"""Run the spider for one or more seeds in this process and collect a summary per site.

Used by `gonghui crawl` and `gonghui demo`. Each site gets its own Crawler with the politeness
of its seed written into its settings at "spider" priority; all share one Twisted reactor, so a
process runs crawls once (the scheduler starts a new process per crawl for that reason).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler, CrawlerProcess
from scrapy.settings import Settings

from crawler import outcome
from crawler.addon import apply_seed
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
    """Scrapy settings for one site: the project defaults, then the seed's politeness
    (crawler.addon.seed_settings, which plain `scrapy crawl` applies too) and this crawl's."""
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    apply_seed(settings, seed)
    settings.setdict(
        {
            "USER_AGENT": user_agent,
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
    """Send the site's stats to ``hook`` as the crawl goes: "crawling" when the spider opens,
    after every page the pipeline stored (every response becomes a PageItem, list pages and
    gone pages too, and the pipeline never drops one, so item_scraped fires for each), then
    "finished" or "failed" with the verdict (crawler.outcome) when the spider closes, and again
    once the pipeline has closed the run (``outcome.RUN_CLOSED``: pages owed included).

    Scrapy's signal manager holds receivers by weak reference, so a local function connected
    the default way is collected at once and never called: these are connected with
    ``weak=False``, and hold the crawler only weakly, so the dispatcher's entries still go
    with it (it keys them weakly by sender).
    """
    crawler_ref = weakref.ref(crawler)

    def report(state: str, **extra: Any) -> None:
        if (c := crawler_ref()) is not None:
            hook(site_id, {**c.stats.get_stats(), **extra, "gonghui/state": state})

    def crawling() -> None:
        report("crawling")

    def closed(spider: Spider, reason: str) -> None:
        verdict = outcome.judge(reason, spider.crawler.stats.get_stats(), spider)
        report(verdict.status, finish_reason=verdict.finish_reason)

    def run_closed() -> None:
        c = crawler_ref()
        if c is not None and (verdict := c.stats.get_value("gonghui/outcome")) is not None:
            report("finished" if verdict == "finished" else "failed", finish_reason=verdict)

    for receiver, signal in (
        (crawling, signals.spider_opened),
        (crawling, signals.item_scraped),
        (closed, signals.spider_closed),
        (run_closed, outcome.RUN_CLOSED),
    ):
        crawler.signals.connect(receiver, signal=signal, weak=False)


def _result(seed: Seed, crawler: Crawler) -> SiteResult:
    stats: dict[str, Any] = crawler.stats.get_stats() if crawler.stats else {}
    # The pipeline's verdict (crawler.outcome) when it closed the run; Scrapy's reason else.
    finish_reason = stats.get("gonghui/outcome") or stats.get("finish_reason", "not started")
    return SiteResult(
        site_id=seed.id,
        name=seed.name,
        run_id=stats.get("gonghui/run_id"),
        pages_fetched=stats.get("gonghui/pages_fetched", 0),
        articles_archived=stats.get("gonghui/articles_archived", 0),
        new_versions=stats.get("gonghui/new_versions", 0),
        removals=stats.get("gonghui/removals", 0),
        drops=outcome.drops_of(stats),
        errors=outcome.errors_of(stats),
        finish_reason=finish_reason,
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
