"""Typed exports (issue 15, point 5) and incremental exports (point 7), on SQLite and PostgreSQL.

One small archive per backend (tests/export_world.py) is written once per module; each test
exports it and reads the files back the way a researcher would: pandas, DuckDB, pyarrow.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archive import export_parquet
from archive.errors import ConfigError, StorageError
from archive.export import export_articles
from archive.export_parquet import write_parquet
from archive.export_query import Changes, check_since_run, through_run
from archive.export_schema import TABLES, field_names
from archive.store import Archive
from tests.export_world import A_URL, B_URL, DAY, U_URL, W_URL, build
from tests.fixtures_db import T0


@pytest.fixture(scope="module")
def world(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Archive, dict[str, int]]]:
    archive = Archive.open(module_database_url, tmp_path_factory.mktemp("warc"))
    try:
        yield archive, build(archive)
    finally:
        archive.close()


@pytest.fixture(scope="module")
def parquet_dir(world, tmp_path_factory: pytest.TempPathFactory) -> Path:
    archive, _ = world
    folder = tmp_path_factory.mktemp("export") / "parquet"
    counts = write_parquet(archive.engine, folder, through_run=through_run(archive.engine))
    assert counts == {"articles": 4, "versions": 5, "clusters": 2}
    return folder


def test_parquet_types_are_real_and_documented_in_the_files(parquet_dir: Path):
    assert sorted(p.name for p in parquet_dir.iterdir()) == [
        "articles.parquet",
        "clusters.parquet",
        "versions.parquet",
    ]
    schema = pq.read_schema(parquet_dir / "articles.parquet")
    assert schema.names == list(field_names("articles"))
    assert schema.field("published").type == pa.date32()
    assert schema.field("published_clock").type == pa.time32("ms")
    assert schema.field("first_seen_at").type == pa.timestamp("us", tz="UTC")
    assert schema.field("captions").type == pa.list_(pa.string())
    assert schema.field("page_id").type == schema.field("cluster_id").type == pa.int64()
    assert schema.field("source").metadata[b"description"] == "来源".encode()
    assert schema.metadata[b"gonghui.through_run"] == b"3"  # run 4 is still open
    assert pq.read_schema(parquet_dir / "clusters.parquet").field("is_original").type == pa.bool_()


def test_pyarrow_reads_the_articles_back(parquet_dir: Path):
    rows = {r["url"]: r for r in pq.read_table(parquet_dir / "articles.parquet").to_pylist()}
    a, u, w = rows[A_URL], rows[U_URL], rows[W_URL]
    assert a["published"] == dt.date(2024, 5, 1) and a["published_clock"] == dt.time(8, 0)
    assert w["published_clock"] == dt.time(9, 15, 30)
    assert a["first_seen_at"] == T0 and a["captions"] == ["座谈会现场"]
    assert (u["published"], u["published_clock"], u["captions"]) == (None, None, [])
    assert rows[B_URL]["title"] == "四月新闻（更正）" and rows[B_URL]["versions"] == 2
    assert a["cluster_id"] == w["cluster_id"] is not None


def test_pandas_reads_parquet_with_the_documented_dtypes(parquet_dir: Path):
    articles = pd.read_parquet(parquet_dir / "articles.parquet")
    assert len(articles) == 4
    assert str(articles["first_seen_at"].dtype) == "datetime64[us, UTC]"
    assert articles["page_id"].dtype == "int64"
    a = articles.set_index("url").loc[A_URL]
    assert a["published"] == dt.date(2024, 5, 1)  # a date, not a timestamp of today
    assert a["published_clock"] == dt.time(8, 0)
    assert list(a["captions"]) == ["座谈会现场"]
    versions = pd.read_parquet(parquet_dir / "versions.parquet")
    b = versions[versions["url"] == B_URL].sort_values("version_no")
    assert list(b["change_class"]) == ["new", "retitle"]
    assert list(b["run_id"]) == [1, 3]


def test_duckdb_queries_the_parquet_folder(parquet_dir: Path):
    con = duckdb.connect()
    folder = str(parquet_dir)
    described = con.sql(f"DESCRIBE SELECT * FROM '{folder}/articles.parquet'").fetchall()
    types = {name: type_ for name, type_, *_ in described}
    assert list(types) == list(field_names("articles"))
    assert types["published"] == "DATE" and types["published_clock"] == "TIME"
    assert types["first_seen_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["captions"] == "VARCHAR[]" and types["page_id"] == "BIGINT"
    reprinted = con.sql(
        f"""SELECT c.site_id, a.title, c.is_original
            FROM '{folder}/clusters.parquet' c JOIN '{folder}/articles.parquet' a USING (page_id)
            ORDER BY c.is_original DESC"""
    ).fetchall()
    assert reprinted == [
        ("acftu", "全总召开劳模座谈会", True),
        ("workercn", "全总召开劳模座谈会（转载）", False),
    ]
    [(edits,)] = con.sql(
        f"SELECT count(*) FROM '{folder}/versions.parquet' WHERE change_class = 'retitle'"
    ).fetchall()
    assert edits == 1


def test_jsonl_and_csv_carry_the_parquet_columns_and_pandas_leaves_the_clock_alone(
    world, tmp_path: Path
):
    archive, _ = world
    for table in TABLES:
        out = tmp_path / f"{table}.jsonl"
        export_articles(archive.engine, "jsonl", out, table=table)
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert all(list(row) == list(field_names(table)) for row in rows), table
        out = tmp_path / f"{table}.csv"
        export_articles(archive.engine, "csv", out, table=table)
        with open(out, encoding="utf-8", newline="") as fh:
            assert next(csv.reader(fh)) == list(field_names(table))
    frame = pd.read_json(tmp_path / "articles.jsonl", lines=True)
    a = frame.set_index("url").loc[A_URL]
    assert a["published_clock"] == "08:00:00"  # read_json parses *_time columns as dates
    assert str(frame["first_seen_at"].dtype).startswith("datetime64") and a["first_seen_at"].tz
    clusters = pd.read_csv(tmp_path / "clusters.csv")
    assert clusters["is_original"].dtype == bool and clusters["is_original"].sum() == 1


def _urls(engine, table: str, changes: Changes, tmp_path: Path) -> list[tuple[str, int]]:
    out = tmp_path / f"{table}.jsonl"
    export_articles(engine, "jsonl", out, table=table, changes=changes)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    key = "version_no" if table == "versions" else "page_id"
    return sorted((row["url"], row[key]) for row in rows)


def test_since_run_exports_only_what_later_runs_changed(world, tmp_path: Path):
    archive, runs = world
    engine = archive.engine
    after_2 = Changes(since_run=runs["run2"])
    assert _urls(engine, "versions", after_2, tmp_path) == [(B_URL, 2)]
    assert [url for url, _ in _urls(engine, "articles", after_2, tmp_path)] == [B_URL]
    assert _urls(engine, "clusters", after_2, tmp_path) == []
    # run 2 made W and so the cluster: both of its members come along
    after_1 = Changes(since_run=runs["run1"])
    assert _urls(engine, "versions", after_1, tmp_path) == [(B_URL, 2), (W_URL, 1)]
    assert {url for url, _ in _urls(engine, "articles", after_1, tmp_path)} == {
        A_URL,
        B_URL,
        W_URL,
    }
    assert {url for url, _ in _urls(engine, "clusters", after_1, tmp_path)} == {A_URL, W_URL}
    assert len(_urls(engine, "versions", Changes(since_run=0), tmp_path)) == 5
    assert _urls(engine, "versions", Changes(since_run=runs["run4"]), tmp_path) == []


def test_changed_since_exports_versions_first_seen_from_that_time(world, tmp_path: Path):
    archive, _ = world
    changes = Changes(changed_since=T0 + DAY)
    assert _urls(archive.engine, "versions", changes, tmp_path) == [(B_URL, 2), (W_URL, 1)]
    later = Changes(changed_since=T0 + 2 * DAY)
    assert _urls(archive.engine, "versions", later, tmp_path) == [(B_URL, 2)]


def test_through_run_stops_below_the_first_open_run(world):
    archive, runs = world
    assert through_run(archive.engine) == runs["run3"]
    check_since_run(archive.engine, runs["run4"])
    with pytest.raises(ConfigError, match="newest run is 4"):
        check_since_run(archive.engine, 9)
    with pytest.raises(ConfigError, match="not both"):
        Changes(since_run=1, changed_since=T0)


def test_incremental_parquet_records_its_filter(world, tmp_path: Path):
    archive, runs = world
    counts = write_parquet(archive.engine, tmp_path, changes=Changes(since_run=runs["run2"]))
    assert counts == {"articles": 1, "versions": 1, "clusters": 0}
    meta = pq.read_schema(tmp_path / "clusters.parquet").metadata
    assert json.loads(meta[b"gonghui.filters"]) == {"since_run": runs["run2"]}
    assert pq.read_table(tmp_path / "clusters.parquet").num_rows == 0


def test_parquet_streams_in_row_groups(world, tmp_path: Path, monkeypatch):
    archive, _ = world
    monkeypatch.setattr(export_parquet, "ROW_GROUP_ROWS", 2)
    write_parquet(archive.engine, tmp_path, tables=["versions"])
    meta = pq.read_metadata(tmp_path / "versions.parquet")
    assert (meta.num_row_groups, meta.num_rows) == (3, 5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["versions.parquet"]


def test_a_failed_parquet_export_keeps_the_previous_files(world, tmp_path: Path, monkeypatch):
    archive, _ = world
    write_parquet(archive.engine, tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    real_rows = export_parquet.table_rows

    def failing_rows(*args):
        rows = real_rows(*args)
        yield next(rows)
        raise RuntimeError("database went away")

    monkeypatch.setattr(export_parquet, "table_rows", failing_rows)
    with pytest.raises(RuntimeError):
        write_parquet(archive.engine, tmp_path)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before  # no .part left


def test_parquet_refuses_a_file_or_fifo_where_it_writes(world, tmp_path: Path):
    archive, _ = world
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("keep me")
    with pytest.raises(StorageError, match="it is a regular file; parquet writes a folder"):
        write_parquet(archive.engine, blocker)
    assert blocker.read_text() == "keep me"
    folder = tmp_path / "out"
    folder.mkdir()
    os.mkfifo(folder / "versions.parquet")
    with pytest.raises(StorageError, match="it is a FIFO"):
        write_parquet(archive.engine, folder)
    assert [p.name for p in folder.iterdir()] == ["versions.parquet"]
    with pytest.raises(StorageError, match="does not exist"):
        write_parquet(archive.engine, tmp_path / "missing" / "deeper")


def test_since_keeps_clusters_with_a_member_published_since(world, tmp_path: Path):
    archive, _ = world
    out = tmp_path / "clusters.jsonl"
    export_articles(archive.engine, "jsonl", out, since=dt.date(2024, 5, 1), table="clusters")
    assert len(out.read_text(encoding="utf-8").splitlines()) == 2
    export_articles(archive.engine, "jsonl", out, since=dt.date(2024, 5, 2), table="clusters")
    assert out.read_text(encoding="utf-8") == ""


def test_an_empty_incremental_export_is_still_read_with_its_columns(world, tmp_path: Path):
    archive, runs = world
    counts = write_parquet(archive.engine, tmp_path, changes=Changes(since_run=runs["run4"]))
    assert counts == {"articles": 0, "versions": 0, "clusters": 0}
    frame = pd.read_parquet(tmp_path / "versions.parquet")
    assert (len(frame), list(frame.columns)) == (0, list(field_names("versions")))
    [(rows,)] = duckdb.sql(f"SELECT count(*) FROM '{tmp_path}/articles.parquet'").fetchall()
    assert rows == 0
