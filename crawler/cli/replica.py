"""`gonghui replica`: serve the replica sites where their seed files point (ports 8601-8605)."""

from __future__ import annotations

import click


@click.command(name="replica")
@click.option("--site", "sites", multiple=True, help="Serve only these sites (repeatable).")
@click.option("--ephemeral", is_flag=True, help="Pick free ports instead of the seed ports.")
def command(sites: tuple[str, ...], ephemeral: bool) -> None:
    """Serve the replica sites until Ctrl-C, so `gonghui crawl SITE` or
    `scrapy crawl gonghui -a site=SITE` can crawl them from another terminal.

    \b
    Example:
      gonghui replica &  gonghui crawl --all
    """
    from crawler.replica.server import DEFAULT_PORTS, ReplicaServer

    chosen = list(sites) or None
    ports = None if ephemeral else DEFAULT_PORTS
    with ReplicaServer(sites=chosen, ports=ports) as replica:
        for site, origin in replica.origins.items():
            click.echo(f"{site:8} {origin}/")
        click.echo("serving; Ctrl-C stops", err=True)
        replica.serve_forever()
