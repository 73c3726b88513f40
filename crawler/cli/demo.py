"""`gonghui demo`: the five replica sites, crawled end to end into the current folder."""

from __future__ import annotations

import time

import click

from crawler.cli.main import settings_of


@click.command(name="demo")
@click.option("-v", "--verbose", is_flag=True, help="Show Scrapy's log instead of the live table.")
@click.pass_context
def command(ctx: click.Context, verbose: bool) -> None:
    """Serve the replica sites on ephemeral 127.0.0.1 ports and crawl all of them into the
    archive (./gonghui.sqlite3 and ./warc unless configured otherwise). Run it twice: the
    second run archives no new versions.

    \b
    Example:
      gonghui demo && gonghui articles && gonghui export --format csv -o demo.csv
    """
    from crawler.cli.crawl import check_finished, crawl_sites
    from crawler.cli.render import console, summary_table
    from crawler.replica.server import ReplicaServer
    from crawler.seeds import load_seeds

    settings = settings_of(ctx)
    replica_seeds = [s.id for s in load_seeds(settings.seeds_dir).values() if s.replica]
    out = console()
    started = time.monotonic()
    with ReplicaServer(sites=replica_seeds) as replica:
        out.print(f"replica sites: {', '.join(f'{s} {o}' for s, o in replica.origins.items())}")
        results = crawl_sites(
            settings, replica_seeds, trigger="demo", origins=replica.origins, verbose=verbose
        )
    elapsed = time.monotonic() - started
    out.print(summary_table(results, title=f"Demo crawl ({elapsed:.1f} s)"))
    out.print(f"archive: {settings.database_url}   WARC files: {settings.warc_dir}/")
    out.print("next: gonghui articles | gonghui export --format jsonl -o articles.jsonl")
    check_finished(results)
