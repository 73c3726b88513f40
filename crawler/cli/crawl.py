"""`gonghui crawl`: crawl sites by seed id, with a live progress display and a summary."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from archive.config import Settings
from archive.errors import ConfigError, GonghuiError
from crawler.cli.main import settings_of

if TYPE_CHECKING:
    from crawler.epaper import Backfill


def crawl_sites(
    settings: Settings,
    site_ids: list[str],
    *,
    all_sites: bool = False,
    trigger: str = "manual",
    origins: Mapping[str, str] | None = None,
    verbose: bool = False,
    show_progress: bool = True,
    resume: bool = False,
    scheduled_for: dt.datetime | None = None,
    deep: bool = False,
    backfill: Backfill | None = None,
) -> list:
    """Validate everything that can be checked up front, open a run per site (taking its
    lease), then crawl. Returns SiteResults; a site another crawl holds is "skipped"."""
    from archive.db import migrate
    from archive.warc import ensure_writable_dir
    from crawler.cli.render import console
    from crawler.seeds import select_seeds

    seeds = select_seeds(settings.seeds_dir, site_ids, all_sites=all_sites)
    no_epaper = [s.id for s in seeds if s.epaper is None] if backfill is not None else []
    if no_epaper:
        raise ConfigError(
            f"--from/--to backfill e-paper editions by date, and {', '.join(no_epaper)} has no "
            "[epaper] table in its seed (see seeds/README.md)"
        )
    migrate(settings.database_url)  # an unreachable database fails here, before any request
    ensure_writable_dir(settings.warc_dir)
    out = console(stderr=True)
    run_ids: dict[str, int] = {}
    # Until Scrapy's reactor starts and installs its own handlers, SIGTERM (a scheduler
    # stopping) closes the runs opened here as failed and exits, rather than leave them
    # "running" (which the next crawl would close as interrupted) or raise inside Scrapy's setup.
    signal.signal(signal.SIGTERM, lambda signum, frame: _exit_on_sigterm(settings, run_ids, signum))
    try:
        opened, skipped = _open_runs(
            settings, seeds, trigger, resume, scheduled_for, out, deep, backfill is not None
        )
        run_ids.update(opened)
        seeds = [s for s in seeds if s.id in run_ids]
        if not seeds:
            return skipped
        return _crawl(
            seeds,
            run_ids,
            skipped,
            settings,
            trigger,
            origins,
            verbose,
            show_progress,
            backfill,
            out,
        )
    finally:
        _close_unfinished(settings, run_ids)


def _exit_on_sigterm(settings: Settings, run_ids: Mapping[str, int], signum: int) -> None:
    # Best effort: if the database cannot be reached now, the next crawl closes them.
    with contextlib.suppress(Exception):
        _close_unfinished(settings, run_ids, "stopped (SIGTERM) before the crawl began")
    os._exit(128 + signum)


def _close_unfinished(
    settings: Settings,
    run_ids: Mapping[str, int],
    reason: str = "the crawl process failed before finishing",
) -> None:
    """Runs this process opened that no crawl finished (stopped before Scrapy started, or
    Scrapy failed) are closed as failed, their leases released."""
    if not run_ids:
        return
    from archive.store import Archive

    try:
        with Archive.open(settings.database_url, settings.warc_dir, migrate=False) as archive:
            for run_id in run_ids.values():
                archive.abandon_run(run_id, reason)
    except GonghuiError:
        pass  # the database is out of reach: the next crawl marks these runs interrupted


def _crawl(
    seeds: list,
    run_ids: dict[str, int],
    skipped: list,
    settings: Settings,
    trigger: str,
    origins: Mapping[str, str] | None,
    verbose: bool,
    show_progress: bool,
    backfill: Backfill | None,
    out: Any,
) -> list:
    from crawler.cli.render import CrawlProgress
    from crawler.runner import run_crawls

    kwargs = dict(
        database_url=settings.database_url,
        warc_dir=settings.warc_dir,
        user_agent=settings.user_agent,
        trigger=trigger,
        origins=origins,
        # Without -v the table and its stop lines say what failed; the log adds only errors
        # nothing else reports (a failed request is counted in the table, not logged).
        log_level="INFO" if verbose else "ERROR",
        run_ids=run_ids,
        backfill=backfill,
    )
    if not show_progress or verbose or not out.is_terminal:
        return run_crawls(seeds, **kwargs) + skipped
    with CrawlProgress({s.id: s.name for s in seeds}, out) as progress:
        return run_crawls(seeds, progress=progress.update, **kwargs) + skipped


def _open_runs(
    settings: Settings,
    seeds: list,
    trigger: str,
    resume: bool,
    scheduled_for: dt.datetime | None,
    out: Any,
    deep: bool = False,
    backfill: bool = False,
) -> tuple[dict[str, int], list]:
    """A run per site, each holding its site's lease; sites another crawl holds are skipped."""
    from archive.ledger import SiteBusy
    from archive.store import Archive
    from crawler.runner import SiteResult

    run_ids: dict[str, int] = {}
    skipped = []
    with Archive.open(settings.database_url, settings.warc_dir, migrate=False) as archive:
        for seed in seeds:
            archive.ensure_site(seed.id, seed.name, seed.base_url)
            try:
                started = archive.open_run(
                    seed.id,
                    trigger,
                    scheduled_for=scheduled_for,
                    resume=resume,
                    mode="backfill" if backfill else "full" if deep else None,
                    deep_every_days=seed.revisit.deep_every_days,
                )
            except SiteBusy as exc:
                out.print(f"skipped: {exc}")
                skipped.append(
                    SiteResult(seed.id, seed.name, finish_reason="skipped", stop_reason=str(exc))
                )
                continue
            run_ids[seed.id] = started.run_id
            for dead in started.interrupted:
                carried = " (carried on now)" if dead == started.resumed_from else ""
                out.print(f"{seed.id}: run {dead} was interrupted{carried}")
            if resume and started.resumed_from is None:
                out.print(f"{seed.id}: no interrupted run to resume; crawling from the start")
    return run_ids, skipped


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
@click.option(
    "--deep",
    is_flag=True,
    help="Walk every list page and re-check every archived article (a full crawl); "
    "otherwise a full crawl happens every [revisit] deep_every_days and the runs between "
    "are incremental.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Carry on the site's interrupted run however old it is "
    "(a run interrupted less than 24 h ago is carried on anyway).",
)
@click.option(
    "--scheduled-for",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z"]),
    hidden=True,
    help="The timetable slot this run fills (set by `gonghui schedule`): one run per slot.",
)
@click.option(
    "--from",
    "from_day",
    metavar="YYYY-MM-DD",
    help="Backfill an e-paper (a seed with [epaper]): crawl its editions dated from this day "
    "on, instead of starting from its front page.",
)
@click.option(
    "--to",
    "to_day",
    metavar="YYYY-MM-DD",
    help="The last edition date of a backfill [default: today, China time].",
)
@click.option("--force", is_flag=True, help="Allow a backfill of more than 366 days.")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of the live table.")
@click.pass_context
def command(
    ctx: click.Context,
    site_ids: tuple[str, ...],
    all_sites: bool,
    trigger: str,
    origins: tuple[str, ...],
    deep: bool,
    resume: bool,
    scheduled_for: dt.datetime | None,
    from_day: str | None,
    to_day: str | None,
    force: bool,
    verbose: bool,
) -> None:
    """Crawl the named sites (seed ids) into the archive.

    \b
    Example:
      gonghui crawl qhzgh bcrb
      gonghui crawl --all
      gonghui crawl bcrb --from 2021-04-01 --to 2021-04-30   # e-paper editions by date
    """
    from crawler.cli.render import console, sitemap_lines, summary_table
    from crawler.epaper import backfill_range, china_today

    if force and from_day is None:
        raise ConfigError("--force goes with --from (it allows a backfill of more than a year)")
    backfill = backfill_range(from_day, to_day, today=china_today(), force=force)

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
        resume=resume,
        scheduled_for=scheduled_for,
        deep=deep,
        backfill=backfill,
    )
    console().print(summary_table(results))
    for r in results if backfill is not None else ():
        e = r.epaper
        console().print(
            f"{r.site_id}: editions {backfill}: {e.get('editions', 0)} found, "
            f"{e.get('no_edition', 0)} dates without one (404), "
            f"{e.get('out_of_range', 0)} links to other editions not followed"
        )
    for line in sitemap_lines(results):
        console().print(line)
    check_finished(results, trigger)


def check_finished(results: list, trigger: str = "manual") -> None:
    """A non-zero exit when any site's crawl did not end normally (the table says why).

    A site skipped because another crawl holds it is a failure for a person who asked for
    it, and normal for a scheduler (another scheduler on the same database took the slot).
    """
    from archive.ledger import SiteBusy
    from crawler.pipelines.archive import NORMAL_FINISH_REASONS

    busy = [r.site_id for r in results if r.finish_reason == "skipped"]
    failed = [
        r.site_id
        for r in results
        if r.finish_reason not in NORMAL_FINISH_REASONS and r.finish_reason != "skipped"
    ]
    if busy and trigger != "schedule" and not failed:
        raise SiteBusy(f"not crawled, another crawl holds them: {', '.join(busy)}")
    if failed:
        raise GonghuiError(f"crawl did not finish for: {', '.join(failed)} (see the table above)")
