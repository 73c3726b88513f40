"""`gonghui demo`: the five replica sites, crawled end to end into the current folder."""

from __future__ import annotations

import subprocess
import time

import click

from archive.errors import GonghuiError
from crawler.cli.main import settings_of


@click.command(name="demo")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of the live table.")
@click.option(
    "--days",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="After the first crawl, advance the replica a day and crawl again, this many times: "
    "articles get edited, removed, restored, published and reposted.",
)
@click.pass_context
def command(ctx: click.Context, verbose: bool, days: int) -> None:
    """Serve the replica sites on ephemeral 127.0.0.1 ports and crawl all of them into the
    archive (./gonghui.sqlite3 and ./warc unless configured otherwise). Run it twice: the
    second run archives no new versions.

    \b
    Example:
      gonghui demo && gonghui articles && gonghui export --format csv -o demo.csv
      gonghui demo --days 3 && gonghui reprints && gonghui runs
    """
    from crawler.cli.crawl import check_finished, crawl_sites
    from crawler.cli.render import console, sitemap_lines, summary_table
    from crawler.replica.server import ReplicaServer
    from crawler.replica.timeline import LAST_DAY
    from crawler.seeds import load_seeds

    if days > LAST_DAY:
        raise click.BadParameter(f"the replica has days 0 to {LAST_DAY}", param_hint="--days")
    settings = settings_of(ctx)
    replica_seeds = [s.id for s in load_seeds(settings.seeds_dir).values() if s.replica]
    out = console()
    started = time.monotonic()
    with ReplicaServer(sites=replica_seeds) as replica:
        out.print(f"replica sites: {', '.join(f'{s} {o}' for s, o in replica.origins.items())}")
        if not days:
            results = crawl_sites(
                settings, replica_seeds, trigger="demo", origins=replica.origins, verbose=verbose
            )
        else:
            # Scrapy's reactor runs once per process: each day's crawl is a process of its own.
            for day in range(days + 1):
                replica.set_day(day)
                out.rule(f"replica day {day}")
                _crawl_in_subprocess(ctx, replica_seeds, replica.origins)
    elapsed = time.monotonic() - started
    out.print(f"archive: {settings.database_url}   WARC files: {settings.warc_dir}/")
    if days:
        out.print(f"{days + 1} crawls in {elapsed:.1f} s")
        out.print("next: gonghui reprints | gonghui runs | gonghui history URL | gonghui diff URL")
        return
    out.print(summary_table(results, title=f"Demo crawl ({elapsed:.1f} s)"))
    for line in sitemap_lines(results):
        out.print(line)
    out.print("next: gonghui articles | gonghui export --format jsonl -o articles.jsonl")
    check_finished(results)


def _crawl_in_subprocess(ctx: click.Context, site_ids: list[str], origins: dict[str, str]) -> None:
    settings = settings_of(ctx)
    args = settings.gonghui_argv(
        "crawl",
        "--trigger",
        "demo",
        *site_ids,
        *(f"--origin={site}={origin}" for site, origin in origins.items()),
    )
    done = subprocess.run(args, check=False)
    if done.returncode:
        raise GonghuiError(f"the demo crawl stopped (exit {done.returncode}); see above")
