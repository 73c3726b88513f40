"""`gonghui verify`: read every capture's WARC record back and check it against the archive."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import click

from archive.errors import StorageError
from crawler.cli.main import settings_of
from crawler.cli.readonly import open_engine, require_site

if TYPE_CHECKING:
    from archive.verify import BrokenCapture, LostVersion, Summary


class ArchiveDamaged(StorageError):
    """Some captures cannot be read back as archived (exit 4, like any WARC storage error)."""


@click.command(name="verify")
@click.option("--site", "site_id", help="Only this site's captures.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=0),
    help="How many broken captures (and versions) to list; the rest are counted.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="One JSON object per line: every broken capture, every version that loses its "
    "capture, then the summary (type: capture, version, summary).",
)
@click.pass_context
def command(ctx: click.Context, site_id: str | None, limit: int, as_json: bool) -> None:
    """Check that every capture's raw response can be read back from its WARC file.

    Each capture's record is read at its file and offset: a capture is *missing* when the
    WARC file is gone, *torn* when the bytes there are not a whole response record (a file
    cut short, corrupt gzip data, garbage), *mismatched* when the payload's sha256 or length
    is not the one archived. The article versions whose first or last capture is broken are
    listed too. Reads only: nothing is created, migrated or repaired.

    Exit 0 when every capture is intact; 4 when any is broken (after the report); 3 when
    the database is not an archive; 2 for an unknown --site.

    \b
    Example:
      gonghui verify
      gonghui verify --site qhzgh --limit 10
      gonghui verify --json > verify.jsonl
    """
    from archive.verify import BrokenCapture, LostVersion, Summary, verify

    settings = settings_of(ctx)
    engine = open_engine(ctx)
    try:
        require_site(engine, site_id)
        broken: list[BrokenCapture] = []
        lost: list[LostVersion] = []
        summary: Summary | None = None
        for item in verify(engine, settings.warc_dir, site_id=site_id):
            if as_json:
                click.echo(_json_line(item))
            if isinstance(item, BrokenCapture) and len(broken) < limit:
                broken.append(item)
            elif isinstance(item, LostVersion) and len(lost) < limit:
                lost.append(item)
            elif isinstance(item, Summary):
                summary = item
    finally:
        engine.dispose()
    assert summary is not None
    if not as_json:
        _print_report(summary, broken, lost)
    if summary.broken:
        raise ArchiveDamaged(_damage_line(summary, settings.warc_dir))


def _json_line(item: BrokenCapture | LostVersion | Summary) -> str:
    from archive.verify import BrokenCapture, Summary

    if isinstance(item, Summary):
        return json.dumps({"type": "summary", **asdict(item), "broken": item.broken})
    kind = "capture" if isinstance(item, BrokenCapture) else "version"
    return json.dumps({"type": kind, **asdict(item)}, ensure_ascii=False)


def _print_report(summary: Summary, broken: list[BrokenCapture], lost: list[LostVersion]) -> None:
    click.echo(summary.line())
    if summary.broken:
        click.echo("\nbroken captures:")
        rows = [
            (
                c.problem,
                c.site_id,
                f"capture {c.capture_id}",
                f"{c.warc_filename}@{c.warc_offset}",
                c.url,
                c.detail,
            )
            for c in broken
        ]
        _print_rows(rows)
        _print_rest(summary.broken - len(broken), "broken captures")
    if summary.versions_lost:
        click.echo("\nversions that lose their capture:")
        rows = [(v.site_id, f"v{v.version_no}", v.url, _lost_captures(v)) for v in lost]
        _print_rows(rows)
        _print_rest(summary.versions_lost - len(lost), "versions")


def _lost_captures(version: LostVersion) -> str:
    first, last = version.capture_id, version.last_capture_id
    if first is not None and first == last:
        return f"first and last capture {first} broken"
    parts = [f"first capture {first}"] if first is not None else []
    parts += [f"last capture {last}"] if last is not None else []
    return " and ".join(parts) + " broken"


def _print_rows(rows: list[tuple[str, ...]]) -> None:
    """Aligned columns, one line per row, never wrapped (so each line can be grepped)."""
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  " + "  ".join([*cells, row[-1]]))


def _print_rest(rest: int, what: str) -> None:
    if rest > 0:
        click.echo(f"  ... and {rest} more {what} (--limit, or --json for every one)")


def _damage_line(summary: Summary, warc_dir: Path) -> str:
    line = f"{summary.broken} of {summary.captures} captures cannot be read back as archived"
    if summary.versions_lost:
        line += f"; {summary.versions_lost} article versions lose their capture"
    if summary.missing and not Path(warc_dir).is_dir():
        line += f" (the WARC dir {Path(warc_dir).resolve()} does not exist: is --warc-dir right?)"
    return line
