"""`gonghui export` as a user runs it: Parquet folders, incremental exports, the run to pass
next time, and one `error:` line for what cannot be done (SQLite archive, subprocesses)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from archive.export_schema import markdown_table
from archive.store import Archive
from tests.export_world import B_URL, build
from tests.test_cli import error_line, gonghui


@pytest.fixture(scope="module")
def cwd(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding archive.sqlite3 (tests/export_world.py), where gonghui runs."""
    folder = tmp_path_factory.mktemp("cli")
    with Archive.open(f"sqlite:///{folder / 'archive.sqlite3'}", folder / "warc") as archive:
        build(archive)
    return folder


def test_parquet_export_writes_a_folder_and_names_the_run_to_pass_next(cwd: Path):
    result = gonghui("export", "--format", "parquet", "-o", "pq", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        "wrote 4 articles, 5 versions, 2 clusters to pq",
        "exported through run 3",
    ]
    assert pq.read_table(cwd / "pq" / "versions.parquet").num_rows == 5
    again = gonghui("export", "--format", "parquet", "--since-run", "3", "-o", "pq", cwd=cwd)
    assert again.stderr.splitlines()[0] == "wrote 0 articles, 0 versions, 0 clusters to pq"
    assert pq.read_table(cwd / "pq" / "articles.parquet").num_rows == 0


def test_a_nightly_job_gets_what_changed_since_the_run_it_saw(cwd: Path):
    result = gonghui(
        "export", "--format", "jsonl", "--table", "versions", "--since-run", "2", "-o", "-",
        cwd=cwd,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [row] = [json.loads(line) for line in result.stdout.splitlines()]
    assert (row["url"], row["version_no"], row["change_class"]) == (B_URL, 2, "retitle")
    assert result.stderr.strip() == "exported through run 3"
    dated = gonghui(
        "export", "--format", "csv", "--changed-since", "2024-05-02T08:00+08:00", "-o", "-",
        cwd=cwd,
    )  # fmt: skip
    assert dated.returncode == 0, dated.stderr
    rows = list(csv.DictReader(io.StringIO(dated.stdout, newline="")))
    assert sorted(row["page_id"] for row in rows) == ["1", "2", "4"]  # B; A and W: their cluster


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "parquet", "-o", "-"), "--format parquet writes a folder"),
        (("--format", "jsonl", "--since-run", "9", "-o", "-"), "newest run is 4"),
        (
            ("--format", "jsonl", "--since-run", "1", "--changed-since", "2024-05-01", "-o", "-"),
            "not both",
        ),
        (("--format", "sqlite", "--site", "acftu", "-o", "x.sqlite3"), "--site does not apply"),
    ],
)
def test_what_cannot_be_done_is_one_error_line_exit_2(cwd: Path, args, message):
    result = gonghui("export", *args, cwd=cwd)
    assert result.returncode == 2
    assert message in error_line(result)


def test_a_changed_since_that_is_not_a_date_is_a_usage_error(cwd: Path):
    result = gonghui(
        "export", "--format", "csv", "--changed-since", "yesterday", "-o", "-", cwd=cwd
    )
    assert result.returncode == 2
    assert "not an ISO date" in error_line(result, usage=True)


def test_parquet_onto_a_fifo_is_refused_and_the_fifo_kept(cwd: Path):
    fifo = cwd / "pipe"
    os.mkfifo(fifo)
    result = gonghui("export", "--format", "parquet", "-o", "pipe", cwd=cwd)
    assert result.returncode == 4
    assert "it is a FIFO; parquet writes a folder" in error_line(result)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@pytest.mark.parametrize(
    ("fmt", "module"), [("sqlite", "archive.publish"), ("wacz", "archive.wacz")]
)
def test_a_format_whose_module_is_absent_is_one_error_line(cwd: Path, fmt: str, module: str):
    # The module hidden (sys.modules[name] = None makes importing it fail as if absent),
    # whether or not this release has it yet.
    code = (
        f"import sys; sys.modules[{module!r}] = None; sys.argv[0] = 'gonghui'; "
        "from crawler.cli.main import cli; cli()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
    env["GONGHUI_DATABASE_URL"] = f"sqlite:///{cwd / 'archive.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", code, "export", "--format", fmt, "-o", f"out.{fmt}"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    line = error_line(result)
    assert f"--format {fmt} is not available: {module} is not part of this release" in line
    assert not (cwd / f"out.{fmt}").exists()


def test_the_readme_documents_every_column_with_its_type():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    for table, like in (("articles", None), ("versions", "articles"), ("clusters", None)):
        assert markdown_table(table, like) in readme, table


def test_sqlite_and_wacz_are_dispatched_with_the_run_filter(cwd: Path):
    result = gonghui(
        "export", "--format", "sqlite", "--since-run", "2", "-o", "pub.sqlite3", cwd=cwd
    )
    assert result.returncode == 0, result.stderr
    assert "1 article_version" in result.stderr and "exported through run 3" in result.stderr
    result = gonghui("export", "--format", "wacz", "--site", "acftu", "-o", "acftu.wacz", cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert (cwd / "acftu.wacz").stat().st_size > 0
