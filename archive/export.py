"""Export the archive's tables as JSON Lines or CSV (UTF-8), streamed.

The tables and their columns are ``archive.export_schema`` (the same for Parquet,
``archive.export_parquet``; the README documents them): ``articles`` (the current version of
every article page, the default), ``versions`` (every version) and ``clusters`` (reprint
cluster members). Rows are read and written one at a time, so memory stays flat however large
the archive grows; a file is written under a temporary name and renamed into place at the end
(``archive.export_target``: regular files only).

Values: dates ``YYYY-MM-DD``, ``published_clock`` ``HH:MM:SS``, timestamps ISO 8601 UTC
(``2024-05-01T08:00:00Z``), booleans ``true``/``false``; ``captions`` is a list in JSONL and a
JSON-encoded list in CSV; a missing value is ``null`` in JSONL and an empty cell in CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import Engine

from archive import export_query
from archive.export_query import Changes
from archive.export_schema import TABLES, field_names
from archive.export_target import text_target

EXPORT_FIELDS: tuple[str, ...] = field_names("articles")
EXPORT_FORMATS = ("jsonl", "csv")


def export_articles(
    engine: Engine,
    fmt: Literal["jsonl", "csv"],
    out: Path | None = None,
    site_id: str | None = None,
    since: dt.date | None = None,
    *,
    table: str = "articles",
    changes: Changes | None = None,
) -> int:
    """Write ``table`` to ``out`` (stdout when None); return the number of rows written.

    ``since`` keeps articles published on or after that date; an article without a
    publication date is kept when the archive first saw it on or after that date (UTC).
    ``changes`` keeps only what changed (``archive.export_query``).
    Raises StorageError (unwritable target) or DatabaseError, each with a one-line message.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {EXPORT_FORMATS}")
    if table not in TABLES:
        raise ValueError(f"unknown export table {table!r}: use one of {tuple(TABLES)}")
    names = field_names(table)
    with text_target(out) as stream:
        write_row = _csv_writer(stream, names) if fmt == "csv" else _jsonl_writer(stream, names)
        count = 0
        for row in table_rows(engine, table, site_id, since, changes):
            write_row(row)
            count += 1
    return count


def table_rows(
    engine: Engine,
    table: str,
    site_id: str | None = None,
    since: dt.date | None = None,
    changes: Changes | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of one export table (for clusters, ``since`` keeps those with a member
    published since)."""
    if table == "articles":
        return export_query.article_rows(engine, site_id, since, changes)
    if table == "versions":
        return export_query.version_rows(engine, site_id, since, changes)
    return export_query.cluster_rows(engine, site_id, since, changes)


def _jsonl_writer(stream: TextIO, names: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def write(row: dict[str, Any]) -> None:
        record = {name: _plain(row[name]) for name in names}
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    return write


def _csv_writer(stream: TextIO, names: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(names)

    def write(row: dict[str, Any]) -> None:
        cells = []
        for name in names:
            value = _plain(row[name])
            if isinstance(value, list):
                value = json.dumps(value, ensure_ascii=False)
            elif isinstance(value, bool):
                value = "true" if value else "false"
            cells.append("" if value is None else value)
        writer.writerow(cells)

    return write


def _plain(value: Any) -> Any:
    """JSON-ready: dates YYYY-MM-DD, times HH:MM:SS, timestamps ISO 8601 UTC with Z."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return value
