"""`gonghui replica`: serve the replica sites where their seed files point (ports 8601-8605)."""

from __future__ import annotations

import json

import click


@click.command(name="replica")
@click.option("--site", "sites", multiple=True, help="Serve only these sites (repeatable).")
@click.option("--ephemeral", is_flag=True, help="Pick free ports instead of the seed ports.")
@click.option(
    "--port-base",
    type=click.IntRange(1, 65535 - 4),
    metavar="PORT",
    help="Shift the seed ports so the first (qhzgh, 8601) is PORT; crawl with --origin.",
)
@click.option(
    "--day",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Serve the replica as it is on this day (edits, removals, reprints since day 0).",
)
@click.option(
    "--template-change",
    is_flag=True,
    help="The template-change night on top of --day: xnzgh's new template, xazgh down, "
    "qhzgh soft-404s every article (see README, Monitoring).",
)
@click.option(
    "--truth",
    is_flag=True,
    help="Print the ground truth of --day as JSON (versions, removals, reprints) and exit.",
)
def command(
    sites: tuple[str, ...],
    ephemeral: bool,
    port_base: int | None,
    day: int,
    template_change: bool,
    truth: bool,
) -> None:
    """Serve the replica sites until Ctrl-C, so `gonghui crawl SITE` or
    `scrapy crawl gonghui -a site=SITE` can crawl them from another terminal.

    \b
    Example:
      gonghui replica &  gonghui crawl --all
      gonghui replica --site qhzgh --port-base 9601
      gonghui replica --day 2 --truth > day2.json
      gonghui replica --day 1 --template-change   # then: gonghui crawl --all; gonghui health
    """
    from crawler.replica.server import DEFAULT_PORTS, ReplicaServer
    from crawler.replica.timeline import LAST_DAY, day_truth

    if day > LAST_DAY:
        raise click.BadParameter(f"the replica has days 0 to {LAST_DAY}", param_hint="--day")
    if truth:
        click.echo(json.dumps(day_truth(day).to_json(), ensure_ascii=False, indent=1))
        return

    chosen = list(sites) or None
    if ephemeral and port_base is not None:
        raise click.UsageError("--ephemeral and --port-base exclude each other")
    ports = None if ephemeral else DEFAULT_PORTS
    if port_base is not None:
        first = min(DEFAULT_PORTS.values())
        ports = {site: port_base + port - first for site, port in DEFAULT_PORTS.items()}
    with ReplicaServer(sites=chosen, ports=ports, day=day) as replica:
        if template_change:
            replica.set_day(day, incident=True)
        for site, origin in replica.origins.items():
            click.echo(f"{site:8} {origin}/")
        click.echo("serving; Ctrl-C stops", err=True)
        replica.serve_forever()
