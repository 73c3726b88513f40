"""`gonghui enqueue`: put crawl (or backfill) jobs in the queue for the workers."""

from __future__ import annotations

import asyncio

import click

from archive.errors import ConfigError
from crawler.cli.main import settings_of


@click.command(name="enqueue")
@click.argument("site_ids", nargs=-1, metavar="SITE_ID...")
@click.option("--all", "all_sites", is_flag=True, help="A job for every site in the seeds folder.")
@click.option("--deep", is_flag=True, help="Full crawls (walk every list, re-check every article).")
@click.option(
    "--from", "from_day", metavar="YYYY-MM-DD", help="Backfill e-paper editions from this day."
)
@click.option("--to", "to_day", metavar="YYYY-MM-DD", help="Last edition day of the backfill.")
@click.option("--force", is_flag=True, help="Allow a backfill of more than 366 days.")
@click.pass_context
def command(
    ctx: click.Context,
    site_ids: tuple[str, ...],
    all_sites: bool,
    deep: bool,
    from_day: str | None,
    to_day: str | None,
    force: bool,
) -> None:
    """Queue a crawl job per site for `gonghui worker` to run (PostgreSQL archive only).

    A site whose crawl job is still waiting is not queued twice. Jobs of sites on one host
    run one at a time (the lock is the host), whichever worker takes them.

    \b
    Example:
      gonghui enqueue --all
      gonghui enqueue qhzgh bcrb --deep
      gonghui enqueue bcrb --from 2021-04-01 --to 2021-04-30   # e-paper backfill
    """
    from crawler.epaper import backfill_range, china_today
    from crawler.seeds import select_seeds
    from jobs.app import ensure_schema, make_app
    from jobs.config import load_queue_settings
    from jobs.defer import defer_crawls

    if force and from_day is None:
        raise ConfigError("--force goes with --from (it allows a backfill of more than a year)")
    if deep and from_day is not None:
        raise ConfigError("--deep and --from do not go together: a backfill reads its editions")
    backfill = backfill_range(from_day, to_day, today=china_today(), force=force)
    settings = settings_of(ctx)
    seeds = select_seeds(settings.seeds_dir, list(site_ids), all_sites=all_sites)
    no_epaper = [s.id for s in seeds if s.epaper is None] if backfill is not None else []
    if no_epaper:
        raise ConfigError(
            f"--from/--to backfill e-paper editions, and {', '.join(no_epaper)} has none"
        )
    queue = load_queue_settings(settings)
    ensure_schema(queue)
    app = make_app(queue)

    async def run() -> list:
        async with app.open_async():
            return await defer_crawls(app, seeds, deep=deep, backfill=backfill, force=force)

    for q in asyncio.run(run()):
        if q.job_id is None:
            click.echo(f"{q.site}: not queued, a {q.task} job for it is already waiting")
        else:
            click.echo(f"{q.site}: queued {q.task} job {q.job_id} (lock {q.lock})")
