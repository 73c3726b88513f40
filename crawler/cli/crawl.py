"""`gonghui crawl`: crawl sites by seed id, with a live progress display and a summary."""

from __future__ import annotations

from collections.abc import Mapping

import click

from archive.config import Settings
from archive.errors import GonghuiError
from crawler.cli.main import settings_of


def crawl_sites(
    settings: Settings,
    site_ids: list[str],
    *,
    all_sites: bool = False,
    trigger: str = "manual",
    origins: Mapping[str, str] | None = None,
    verbose: bool = False,
    show_progress: bool = True,
) -> list:
    """Validate everything that can be checked up front, then crawl. Returns SiteResults."""
    from archive.db import migrate
    from archive.warc import ensure_writable_dir
    from crawler.cli.render import CrawlProgress, console
    from crawler.runner import run_crawls
    from crawler.seeds import select_seeds

    seeds = select_seeds(settings.seeds_dir, site_ids, all_sites=all_sites)
    migrate(settings.database_url)  # an unreachable database fails here, before any request
    ensure_writable_dir(settings.warc_dir)
    kwargs = dict(
        database_url=settings.database_url,
        warc_dir=settings.warc_dir,
        user_agent=settings.user_agent,
        trigger=trigger,
        origins=origins,
        log_level="INFO" if verbose else "WARNING",
    )
    out = console(stderr=True)
    if not show_progress or verbose or not out.is_terminal:
        return run_crawls(seeds, **kwargs)
    with CrawlProgress({s.id: s.name for s in seeds}, out) as progress:
        return run_crawls(seeds, progress=progress.update, **kwargs)


@click.command(name="crawl")
@click.argument("site_ids", nargs=-1, metavar="SITE_ID...")
@click.option("--all", "all_sites", is_flag=True, help="Crawl every site in the seeds folder.")
@click.option(
    "--trigger",
    type=click.Choice(["manual", "schedule", "demo"]),
    default="manual",
    show_default=True,
    help="Recorded on the run row.",
)
@click.option(
    "--origin",
    "origins",
    multiple=True,
    metavar="SITE=URL",
    help="Fetch SITE from another origin (a replica on another port); "
    "pages keep the seed's URLs in the archive.",
)
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of the live table.")
@click.pass_context
def command(
    ctx: click.Context,
    site_ids: tuple[str, ...],
    all_sites: bool,
    trigger: str,
    origins: tuple[str, ...],
    verbose: bool,
) -> None:
    """Crawl the named sites (seed ids) into the archive.

    \b
    Example:
      gonghui crawl qhzgh bcrb
      gonghui crawl --all
    """
    from crawler.cli.render import console, summary_table

    parsed = {}
    for item in origins:
        site, sep, url = item.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise click.BadParameter(
                f"'{item}' is not SITE=http://HOST:PORT", param_hint="--origin"
            )
        parsed[site] = url
    results = crawl_sites(
        settings_of(ctx),
        list(site_ids),
        all_sites=all_sites,
        trigger=trigger,
        origins=parsed,
        verbose=verbose,
    )
    console().print(summary_table(results))
    check_finished(results)


def check_finished(results: list) -> None:
    """A non-zero exit when any site's crawl did not end normally (the table says why)."""
    from crawler.pipelines.archive import NORMAL_FINISH_REASONS

    failed = [r.site_id for r in results if r.finish_reason not in NORMAL_FINISH_REASONS]
    if failed:
        raise GonghuiError(f"crawl did not finish for: {', '.join(failed)} (see the table above)")
