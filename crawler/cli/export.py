"""`gonghui export`: the current version of every article, streamed to JSONL or CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from crawler.cli.main import settings_of


@click.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv"]),
    required=True,
    help="jsonl: one JSON object per line; csv: header row, captions as a JSON list.",
)
@click.option("--site", "site_id", help="Only this site.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only articles published on or after this date (YYYY-MM-DD).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False, allow_dash=True),
    required=True,
    help="File to write ('-' for standard output).",
)
@click.pass_context
def command(
    ctx: click.Context, fmt: str, site_id: str | None, since: dt.datetime | None, output: Path
) -> None:
    """Write the current version of each archived article (fields in the README).

    \b
    Example:
      gonghui export --format jsonl --site bcrb --since 2021-04-01 -o bcrb.jsonl
    """
    from archive.db import make_engine, migrate
    from archive.export import export_articles

    settings = settings_of(ctx)
    migrate(settings.database_url)
    out = None if str(output) == "-" else output
    count = export_articles(
        make_engine(settings.database_url),
        fmt,
        out,
        site_id=site_id,
        since=since.date() if since else None,
    )
    if out is not None:
        click.echo(f"wrote {count} articles to {out}", err=True)
