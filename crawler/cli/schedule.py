"""`gonghui schedule`: the long-running scheduler process."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from crawler.cli.main import settings_of


@click.command(name="schedule")
@click.option(
    "--timetable",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Timetable file [env GONGHUI_TIMETABLE; default schedules/timetable.toml].",
)
@click.option("--check", is_flag=True, help="Validate the timetable, print the next runs, exit.")
@click.option(
    "--defer",
    is_flag=True,
    help="Queue each crawl for `gonghui worker` (PostgreSQL) instead of running it here.",
)
@click.pass_context
def command(ctx: click.Context, timetable: Path | None, check: bool, defer: bool) -> None:
    """Start each site's crawl at the times of the timetable (Asia/Shanghai cron), each in
    its own subprocess, until Ctrl-C or SIGTERM.

    \b
    Example:
      gonghui schedule --check
      nohup gonghui schedule > schedule.log 2>&1 &
      gonghui schedule --defer     # queue the crawls for `gonghui worker` instead
    """
    import datetime as dt

    from archive.db import migrate
    from crawler.seeds import load_seeds
    from schedules.app import run_scheduler
    from schedules.timetable import load_timetable

    settings = settings_of(ctx).with_overrides(timetable=timetable)
    table = load_timetable(settings.timetable, known_sites=set(load_seeds(settings.seeds_dir)))
    now = dt.datetime.now(table.timezone)
    for entry in table.entries:
        nxt = entry.trigger.get_next_fire_time(None, now)
        click.echo(f"{entry.site_id:10} {entry.expression:18} next {nxt:%Y-%m-%d %H:%M:%S %Z}")
    if check:
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if defer:  # the workers crawl (and migrate): see jobs/scheduling.py
        from jobs.scheduling import run_deferring_scheduler

        click.echo(f"scheduler deferring to the workers ({table.path}); Ctrl-C stops", err=True)
        run_deferring_scheduler(settings, table)
        return
    migrate(settings.database_url)
    click.echo(f"scheduler running ({table.path}); Ctrl-C stops", err=True)
    run_scheduler(settings, table)
