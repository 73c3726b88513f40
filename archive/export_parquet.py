"""Export the archive as Parquet (pyarrow): a folder holding one file per table.

``write_parquet(engine, folder)`` writes ``articles.parquet``, ``versions.parquet`` and
``clusters.parquet`` (``archive.export_schema``: the same columns as JSONL and CSV) into
``folder``, created when missing. Types are real: ``date32`` for ``published``, ``time32[ms]``
for ``published_clock``, ``timestamp[us, tz=UTC]`` for the ``*_at`` columns, ``list<string>``
for ``captions``, ``int64`` ids, ``bool``; pandas, DuckDB and pyarrow read the files as they
are. Each column carries its meaning in the field metadata (``description``), each file the
table's name, the filters used and ``through_run`` (see ``archive.export_query``) in the
schema metadata under ``gonghui.*``.

Rows are streamed from the database and written in row groups (``ROW_GROUP_ROWS`` rows or
``ROW_GROUP_CHARS`` characters of text), so memory stays flat however large the archive is.
Every file is written under a temporary name and the three are renamed into place together at
the end (``archive.export_target.staged``): a failed export keeps the previous files.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from archive.export import table_rows
from archive.export_query import Changes
from archive.export_schema import TABLE_DESCRIPTIONS, TABLES, Column
from archive.export_target import prepare_folder, staged

# A row group ends at 5,000 rows or 4 M characters of text, whichever comes first: bodies
# run from a line to a whole newspaper page, and a group is held in memory twice (the rows,
# then their Arrow arrays) while it is written.
ROW_GROUP_ROWS = 5000
ROW_GROUP_CHARS = 4_000_000
_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int64": pa.int64(),
    "bool": pa.bool_(),
    "date": pa.date32(),
    "time": pa.time32("ms"),  # Parquet has no seconds unit: TIME(MILLIS)
    "timestamp": pa.timestamp("us", tz="UTC"),
    "list<string>": pa.list_(pa.string()),
}


def arrow_schema(table: str, metadata: dict[str, str] | None = None) -> pa.Schema:
    fields = [
        pa.field(c.name, _TYPES[c.type], metadata={"description": c.meaning}) for c in TABLES[table]
    ]
    meta = {"gonghui.table": table, "gonghui.description": TABLE_DESCRIPTIONS[table]}
    return pa.schema(fields, metadata={**meta, **(metadata or {})})


def write_parquet(
    engine: Engine,
    folder: Path,
    site_id: str | None = None,
    since: dt.date | None = None,
    changes: Changes | None = None,
    *,
    tables: Iterable[str] = tuple(TABLES),
    through_run: int | None = None,
) -> dict[str, int]:
    """Write ``<table>.parquet`` for each of ``tables`` into ``folder``; rows written per table.

    Raises StorageError (``folder`` or a file in it cannot be written: a regular file, FIFO or
    device at ``folder``, a FIFO at ``folder/articles.parquet`` ...) or DatabaseError.
    """
    tables = list(tables)
    folder = Path(folder)
    prepare_folder(folder)
    metadata = _metadata(site_id, since, changes, through_run)
    counts: dict[str, int] = {}
    with staged([folder / f"{table}.parquet" for table in tables]) as tmps:
        for table, tmp in zip(tables, tmps, strict=True):
            rows = table_rows(engine, table, site_id, since, changes)
            counts[table] = _write_table(tmp, arrow_schema(table, metadata), TABLES[table], rows)
    return counts


def _write_table(
    path: Path, schema: pa.Schema, columns: tuple[Column, ...], rows: Iterable[dict[str, Any]]
) -> int:
    count = chars = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)
            chars += sum(len(value) for value in row.values() if isinstance(value, str))
            if len(batch) >= ROW_GROUP_ROWS or chars >= ROW_GROUP_CHARS:
                writer.write_batch(_record_batch(schema, columns, batch))
                count += len(batch)
                batch, chars = [], 0
        if batch:
            writer.write_batch(_record_batch(schema, columns, batch))
            count += len(batch)
    return count


def _record_batch(
    schema: pa.Schema, columns: tuple[Column, ...], rows: list[dict[str, Any]]
) -> pa.RecordBatch:
    arrays = [
        pa.array([row[c.name] for row in rows], type=schema.field(c.name).type) for c in columns
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _metadata(
    site_id: str | None, since: dt.date | None, changes: Changes | None, through_run: int | None
) -> dict[str, str]:
    filters = {
        "site": site_id,
        "since": since.isoformat() if since else None,
        "since_run": changes.since_run if changes else None,
        "changed_since": changes.changed_since.isoformat()
        if changes and changes.changed_since
        else None,
    }
    meta = {"gonghui.filters": json.dumps({k: v for k, v in filters.items() if v is not None})}
    if through_run is not None:
        meta["gonghui.through_run"] = str(through_run)
    return meta
