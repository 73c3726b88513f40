"""`gonghui export`: the current version of every article, streamed to JSONL or CSV."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from crawler.cli.readonly import open_engine, require_site


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
    # Not dir_okay=False: a folder, like a FIFO or a device, is refused by export_articles with
    # one `error:` line (exit 4) rather than a usage error.
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help="Regular file to write, replaced whole at the end ('-' for standard output); "
    "a device, FIFO, socket, folder or symlink is refused.",
)
@click.pass_context
def command(
    ctx: click.Context, fmt: str, site_id: str | None, since: dt.datetime | None, output: Path
) -> None:
    """Write the current version of each archived article (fields in the README).

    The archive must exist (this command never creates one); --site must be a site it holds.

    \b
    Example:
      gonghui export --format jsonl --site bcrb --since 2021-04-01 -o bcrb.jsonl
    """
    from archive.export import export_articles

    engine = open_engine(ctx)
    require_site(engine, site_id)
    out = None if str(output) == "-" else output
    count = export_articles(
        engine,
        fmt,
        out,
        site_id=site_id,
        since=since.date() if since else None,
    )
    if out is not None:
        click.echo(f"wrote {count} articles to {out}", err=True)
