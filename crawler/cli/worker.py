"""`gonghui worker`: take crawl jobs from the queue (procrastinate on PostgreSQL) and run them."""

from __future__ import annotations

import click

from crawler.cli.main import settings_of


@click.command(name="worker")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Jobs run at once by this worker, each a `gonghui crawl` subprocess.",
)
@click.option(
    "--queues",
    metavar="NAME[,NAME]",
    help="Only take jobs from these queues: crawl (crawl_site, backfill), archive "
    "(export, reprints_reindex) [default: all].",
)
@click.option("--name", help="Worker name in the logs [default: host:pid].")
@click.pass_context
def command(ctx: click.Context, concurrency: int, queues: str | None, name: str | None) -> None:
    """Run queued jobs until Ctrl-C or SIGTERM (which wait for the running jobs to end).

    The queue lives in the archive's PostgreSQL database (procrastinate's tables, created
    here if missing). Start one worker per machine, or several; each site's host is crawled by
    one job at a time whichever worker takes it, and a job whose worker died is run again.

    \b
    Example:
      GONGHUI_DATABASE_URL=postgresql://gonghui@db/gonghui gonghui worker --concurrency 4
      gonghui enqueue --all        # from any machine
    """
    import logging

    from jobs.worker import run_worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    names = [q.strip() for q in queues.split(",") if q.strip()] if queues else None
    run_worker(settings_of(ctx), concurrency=concurrency, queues=names, name=name)
