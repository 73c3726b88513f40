"""`gonghui export`: the archive's tables as JSONL, CSV or Parquet, whole or what changed.

``--format sqlite`` and ``--format wacz`` are dispatched to ``archive.publish.publish_sqlite``
and ``archive.wacz.write_wacz``, imported only when asked for: while one is absent the user gets
one `error:` line (exit 2).
"""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from archive.errors import ConfigError
from crawler.cli.readonly import open_engine, require_site

FORMATS = ("jsonl", "csv", "parquet", "sqlite", "wacz")
TABLE_NAMES = ("articles", "versions", "clusters")
# format -> (module, function) of the formats built elsewhere
PUBLISHERS = {
    "sqlite": ("archive.publish", "publish_sqlite"),
    "wacz": ("archive.wacz", "write_wacz"),
}


def _changed_since(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> dt.datetime | None:
    if value is None:
        return None
    try:
        at = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO date or date-time (2024-05-01, 2024-05-01T08:00+08:00)"
        ) from None
    return at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at


@click.command(name="export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    required=True,
    help="jsonl: one JSON object per line; csv: header row, captions as a JSON list; "
    "parquet: a folder with articles/versions/clusters.parquet; sqlite: a datasette-ready "
    "copy; wacz: a web archive package.",
)
@click.option(
    "--table",
    type=click.Choice(TABLE_NAMES),
    help="jsonl/csv: which table (default articles); parquet: only this one (default all).",
)
@click.option("--site", "site_id", help="Only this site.")
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Only articles published on or after this date (YYYY-MM-DD).",
)
@click.option(
    "--since-run",
    type=click.IntRange(min=0),
    metavar="N",
    help="Only what runs after run N changed (pass the N the last export printed).",
)
@click.option(
    "--changed-since",
    callback=_changed_since,
    metavar="DATE",
    help="Only what changed at or after this ISO date or date-time (UTC unless it says).",
)
@click.option(
    "-o",
    "--output",
    # Not dir_okay=False: a folder, like a FIFO or a device, is refused by the export with
    # one `error:` line (exit 4) rather than a usage error.
    type=click.Path(path_type=Path, allow_dash=True),
    required=True,
    help="Regular file to write, replaced whole at the end ('-' for standard output); "
    "a device, FIFO, socket, folder or symlink is refused. Parquet: a folder.",
)
@click.pass_context
def command(
    ctx: click.Context,
    fmt: str,
    table: str | None,
    site_id: str | None,
    since: dt.datetime | None,
    since_run: int | None,
    changed_since: dt.datetime | None,
    output: Path,
) -> None:
    """Write the archive's articles, versions or reprint clusters (columns in the README).

    The archive must exist (this command never creates one); --site must be a site it holds.
    Every export ends with "exported through run N" on standard error: a nightly job passes
    that N as --since-run next time to get only what changed since.

    \b
    Examples:
      gonghui export --format jsonl --site bcrb --since 2021-04-01 -o bcrb.jsonl
      gonghui export --format parquet -o parquet/
      gonghui export --format csv --table versions --since-run 41 -o changes.csv
    """
    from archive.export_query import Changes, check_since_run, through_run

    out = None if str(output) == "-" else output
    changes = None
    if since_run is not None or changed_since is not None:
        changes = Changes(since_run=since_run, changed_since=changed_since)
    publish = None
    if fmt in PUBLISHERS:
        _refuse_options(fmt, table=table, since=since, site_id=site_id)
        if out is None:
            raise ConfigError(f"--format {fmt} writes a file: give -o PATH, not -o -")
        publish = _publisher(fmt)
    if fmt == "parquet" and out is None:
        raise ConfigError("--format parquet writes a folder: give -o DIR, not -o -")
    engine = open_engine(ctx)
    require_site(engine, site_id)
    if since_run is not None:
        check_since_run(engine, since_run)
    through = through_run(engine)  # before reading: every run up to it is closed
    if publish is not None:
        _publish(ctx, publish, fmt, engine, out, site_id, changes)
    elif fmt == "parquet":
        from archive.export_parquet import write_parquet

        tables = (table,) if table else TABLE_NAMES
        counts = write_parquet(
            engine, out, site_id, _date(since), changes, tables=tables, through_run=through
        )
        summary = ", ".join(f"{counts[t]} {t}" for t in tables)
        click.echo(f"wrote {summary} to {out}", err=True)
    else:
        from archive.export import export_articles

        table = table or "articles"
        count = export_articles(
            engine, fmt, out, site_id, _date(since), table=table, changes=changes
        )
        if out is not None:
            click.echo(f"wrote {count} {table} to {out}", err=True)
    click.echo(f"exported through run {through}", err=True)


def _date(since: dt.datetime | None) -> dt.date | None:
    return since.date() if since else None


def _refuse_options(fmt: str, **given: Any) -> None:
    allowed = {"wacz": {"site_id"}}.get(fmt, set())
    flags = {"table": "--table", "since": "--since", "site_id": "--site"}
    for name, value in given.items():
        if value is not None and name not in allowed:
            raise ConfigError(f"{flags[name]} does not apply to --format {fmt}")


def _publisher(fmt: str) -> Callable[..., dict[str, Any]]:
    module_name, function = PUBLISHERS[fmt]
    try:
        module = importlib.import_module(module_name)
        return getattr(module, function)
    except ModuleNotFoundError as exc:
        missing = exc.name or module_name
        if missing == module_name:
            reason = f"{module_name} is not part of this release yet"
        else:
            reason = f"{module_name} needs the module {missing}, which is not installed"
        raise ConfigError(f"--format {fmt} is not available: {reason}") from None
    except AttributeError:
        raise ConfigError(
            f"--format {fmt} is not available: {module_name} has no {function}()"
        ) from None


def _publish(
    ctx: click.Context,
    publish: Callable[..., dict[str, Any]],
    fmt: str,
    engine: Any,
    out: Path,
    site_id: str | None,
    changes: Any,
) -> None:
    from archive.export_target import refuse_non_regular
    from crawler.cli.main import settings_of

    refuse_non_regular(out)
    since_run = changes.since_run if changes else None
    changed_since = changes.changed_since if changes else None
    if fmt == "sqlite":
        result = publish(engine, out, since_run=since_run, changed_since=changed_since)
    else:
        result = publish(
            engine,
            settings_of(ctx).warc_dir,
            out,
            site=site_id,
            since_run=since_run,
            changed_since=changed_since,
        )
    counts = (result or {}).items()
    summary = ", ".join(f"{n} {key}" for key, n in counts if type(n) is int and key != "bytes")
    click.echo(f"wrote {out}" + (f": {summary}" if summary else ""), err=True)
