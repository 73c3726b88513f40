"""`gonghui sites`: the seed files, validated."""

from __future__ import annotations

import click

from crawler.cli.main import settings_of


@click.command(name="sites")
@click.pass_context
def command(ctx: click.Context) -> None:
    """List the sites of the seeds folder (each file is validated).

    \b
    Example:
      gonghui sites
      gonghui --seeds-dir seeds/live sites
    """
    from rich.table import Table

    from crawler.cli.render import console
    from crawler.seeds import load_seeds

    table = Table(title="Sites", title_justify="left")
    for column in ("site", "name", "base URL", "replica", "delay s"):
        table.add_column(column)
    for seed in load_seeds(settings_of(ctx).seeds_dir).values():
        table.add_row(
            seed.id,
            seed.name,
            seed.base_url,
            "yes" if seed.replica else "",
            f"{seed.politeness.download_delay:g}",
        )
    console().print(table)
