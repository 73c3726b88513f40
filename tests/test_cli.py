"""`gonghui` as a user meets it: the real entry point run as a subprocess.

Bad input ends in one `error:` line on stderr and a non-zero exit, never a traceback, and leaves
an archive that was already there as it was. The help lists (and shows an example for) every
command without importing Scrapy, and `gonghui export` writes what a real crawl archived.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pkgutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import crawler.cli
from archive.db import make_engine
from archive.export import EXPORT_FIELDS
from archive.models import ArticleVersion, Capture, Page, Run, Site
from crawler.cli.main import COMMANDS, cli
from crawler.replica.server import ReplicaServer
from crawler.replica.truth import TruthArticle, all_truth

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_QHZGH = ROOT / "seeds" / "qhzgh.toml"
CRAWLED_SITES = ("xazgh", "qhzgh")
TABLES = (Site, Page, ArticleVersion, Capture, Run)
UNREACHABLE_DB = "postgresql://nobody@127.0.0.1:9/nodb"  # port 9 (discard): nothing listens


def gonghui(
    *args: str, cwd: Path, database_url: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run `gonghui ARGS` in ``cwd`` with the archive configured through the environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
    env["GONGHUI_DATABASE_URL"] = database_url or f"sqlite:///{cwd / 'archive.sqlite3'}"
    env["GONGHUI_WARC_DIR"] = str(cwd / "warc")
    return subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def error_line(result: subprocess.CompletedProcess[str], *, usage: bool = False) -> str:
    """The one `error:` line of a failed run, after checking how it failed.

    A domain error is that line alone; a usage error (``usage=True``) is click's
    ``Usage:``/``Try ...`` lines plus its one ``Error:`` line.
    """
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.lower().startswith("error:")]
    assert len(errors) == 1, result.stderr
    if usage:
        assert all(line.startswith(("Usage:", "Try ", "Error:")) for line in lines), lines
    else:
        assert lines == errors, result.stderr
    return errors[0]


def row_counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            return {
                t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
                for t in TABLES
            }
    finally:
        engine.dispose()


def truth(site_id: str | None = None, since: str = "") -> list[TruthArticle]:
    return [
        t
        for t in all_truth()
        if t.site_id in CRAWLED_SITES
        and (site_id is None or t.site_id == site_id)
        and t.published >= since
    ]


# -- one real crawl for the module ----------------------------------------------------------


@dataclass(frozen=True)
class Crawled:
    folder: Path
    database_url: str
    counts: dict[str, int]


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    """xazgh and qhzgh crawled once from the replica, by `gonghui crawl` as a user runs it."""
    folder = tmp_path_factory.mktemp("cli-crawl")
    with ReplicaServer(sites=list(CRAWLED_SITES)) as replica:
        origins = [f"--origin={s}={o}" for s, o in replica.origins.items()]
        result = gonghui("crawl", *CRAWLED_SITES, *origins, cwd=folder)
    assert result.returncode == 0, result.stderr[-3000:]
    url = f"sqlite:///{folder / 'archive.sqlite3'}"
    counts = row_counts(url)
    assert counts["article_version"] == len(truth()), counts
    return Crawled(folder, url, counts)


@pytest.fixture
def archived(crawled: Crawled, tmp_path: Path) -> Iterator[str]:
    """A private copy of the crawled archive in ``tmp_path``; asserts it lost nothing."""
    source = sqlite3.connect(crawled.folder / "archive.sqlite3")
    target = sqlite3.connect(tmp_path / "archive.sqlite3")
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    yield url
    assert row_counts(url) == crawled.counts


# -- bad input ------------------------------------------------------------------------------


def test_crawl_of_an_unknown_site_names_it_and_the_known_sites(archived: str, tmp_path: Path):
    line = error_line(gonghui("crawl", "nosuch", cwd=tmp_path))
    assert "nosuch" in line
    assert "qhzgh" in line and "xazgh" in line


SEED_DEFECTS = {
    "bad_regex": (
        "article_patterns",
        lambda text: text.replace(
            "article_patterns = ['/html/gzdt/\\d{8}/\\d+\\.html$']",
            "article_patterns = ['/html/(gzdt/\\d{8}']",
        ),
    ),
    "missing_name": (
        "name",
        lambda text: "\n".join(ln for ln in text.splitlines() if not ln.startswith("name =")),
    ),
    "unknown_field": (
        "frobnicate",
        lambda text: text.replace("replica = true", "replica = true\nfrobnicate = 1"),
    ),
}


@pytest.mark.parametrize("defect", SEED_DEFECTS)
def test_crawl_with_a_malformed_seed_file_names_the_file_and_the_field(
    defect: str, archived: str, tmp_path: Path
):
    field, edit = SEED_DEFECTS[defect]
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    shipped = SHIPPED_QHZGH.read_text(encoding="utf-8")
    altered = edit(shipped)
    assert altered != shipped, "the shipped seed changed: update SEED_DEFECTS"
    seed_file = seeds / "qhzgh.toml"
    seed_file.write_text(altered, encoding="utf-8")
    line = error_line(gonghui("--seeds-dir", str(seeds), "crawl", "qhzgh", cwd=tmp_path))
    assert str(seed_file) in line
    assert field in line.replace(str(seed_file), "")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param('[crawl]\nqhzgh = "61 * * * *"\n', "crawl.qhzgh", id="bad_cron"),
        pytest.param('[crawl]\nnosuch = "@daily"\n', "nosuch", id="unknown_site"),
        pytest.param("[crawl\n", "TOML", id="not_toml"),
    ],
)
def test_schedule_check_of_a_malformed_timetable_names_the_file_and_the_key(
    body: str, expected: str, tmp_path: Path
):
    (tmp_path / "bad.toml").write_text(body, encoding="utf-8")
    result = gonghui("schedule", "--timetable", "bad.toml", "--check", cwd=tmp_path)
    line = error_line(result)
    assert "bad.toml" in line
    assert expected in line


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("crawl", "qhzgh", "--origin", "qhzgh=http://127.0.0.1:9"), id="crawl"),
        pytest.param(("status",), id="status"),
        pytest.param(("export", "--format", "jsonl", "-o", "out.jsonl"), id="export"),
    ],
)
def test_an_unreachable_database_is_one_line_naming_the_database(
    args: tuple[str, ...], tmp_path: Path
):
    result = gonghui("--database", UNREACHABLE_DB, *args, cwd=tmp_path, timeout=60)
    line = error_line(result)
    assert "127.0.0.1:9/nodb" in line
    assert "database" in line
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("where", ["missing_root_folder", "under_a_file"])
def test_export_to_an_unwritable_path_names_it_and_leaves_no_file(
    where: str, archived: str, tmp_path: Path
):
    (tmp_path / "afile").write_text("not a folder\n")
    # Tests run as root, so a read-only folder would still be writable: a file stands in.
    target = "/nonexistent-dir/x.jsonl" if where == "missing_root_folder" else "afile/x.jsonl"
    result = gonghui("export", "--format", "jsonl", "-o", target, cwd=tmp_path)
    line = error_line(result)
    assert target in line
    assert not Path("/nonexistent-dir").exists()
    assert (tmp_path / "afile").read_text() == "not a folder\n"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")]


def test_crawl_into_an_unwritable_warc_dir_fails_before_fetching_anything(
    archived: str, tmp_path: Path
):
    (tmp_path / "afile").write_text("not a folder\n")
    with ReplicaServer(sites=["qhzgh"]) as replica:
        origin = f"qhzgh={replica.origins['qhzgh']}"
        result = gonghui(
            "--warc-dir", "afile/warc", "crawl", "qhzgh", "--origin", origin, cwd=tmp_path
        )
        requests = list(replica.request_log)
    line = error_line(result)
    assert "WARC" in line and "afile/warc" in line
    assert requests == []


def test_replica_on_a_port_in_use_says_so(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = gonghui("replica", "--site", "qhzgh", "--port-base", str(port), cwd=tmp_path)
    line = error_line(result)
    assert f"127.0.0.1:{port}" in line
    assert "in use" in line


def test_export_since_a_malformed_date_is_a_usage_error(archived: str, tmp_path: Path):
    result = gonghui(
        "export", "--format", "csv", "--since", "not-a-date", "-o", "x.csv", cwd=tmp_path
    )
    line = error_line(result, usage=True)
    assert "--since" in line and "not-a-date" in line
    assert not (tmp_path / "x.csv").exists()


# -- help -----------------------------------------------------------------------------------


def command_modules() -> dict[str, click.Command]:
    """Every click command defined at the top of a crawler/cli module, by name."""
    found: dict[str, click.Command] = {}
    nested: set[int] = set()  # subcommands of a group (`db upgrade`) are not top-level
    for info in pkgutil.iter_modules(crawler.cli.__path__, "crawler.cli."):
        module = __import__(info.name, fromlist=["_"])
        for value in vars(module).values():
            if isinstance(value, click.Command) and value is not cli:
                found[value.name or ""] = value
            if isinstance(value, click.Group):
                nested.update(id(sub) for sub in value.commands.values())
    return {name: command for name, command in found.items() if id(command) not in nested}


def test_help_lists_every_command_and_every_command_module_is_registered(tmp_path: Path):
    result = gonghui("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    listed = {
        line.split()[0]
        for line in result.stdout.split("Commands:", 1)[1].splitlines()
        if line.startswith("  ") and not line.startswith("   ")  # not a wrapped help line
    }
    assert listed == set(COMMANDS)
    unregistered = set(command_modules()) - set(COMMANDS)
    assert not unregistered, f"commands missing from crawler.cli.main.COMMANDS: {unregistered}"
    # tests/test_docs.py checks that README.md documents every command.


def test_every_command_help_shows_an_example():
    runner = CliRunner()
    paths: list[list[str]] = []
    for name in COMMANDS:
        paths.append([name])
        command = cli.get_command(click.Context(cli), name)
        if isinstance(command, click.Group):
            paths.extend([name, sub] for sub in command.list_commands(click.Context(command)))
    missing = []
    for path in paths:
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        if "Example" not in result.output:
            missing.append(" ".join(path))
    assert not missing, f"--help without an Example: {missing}"


NO_SCRAPY = textwrap.dedent(
    """
    import sys
    from crawler.cli.main import cli

    for args in (["--help"], *([name, "--help"] for name in ("export", "crawl", "status"))):
        assert cli.main(args, standalone_mode=False) == 0, args
    if len(sys.argv) > 1:
        args = ["--database", sys.argv[1], "export", "--format", "csv", "-o", sys.argv[2]]
        cli.main(args, standalone_mode=False)
    assert "scrapy" not in sys.modules, sorted(m for m in sys.modules if "scrapy" in m)[:5]
    print("no scrapy")
    """
)


def test_help_does_not_import_scrapy():
    result = subprocess.run(
        [sys.executable, "-c", NO_SCRAPY], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("no scrapy")


def test_export_does_not_import_scrapy(archived: str, tmp_path: Path):
    out = tmp_path / "x.csv"
    result = subprocess.run(
        [sys.executable, "-c", NO_SCRAPY, archived, str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("no scrapy")
    assert out.exists()


# -- export after a real crawl ----------------------------------------------------------------


def export(crawled: Crawled, tmp_path: Path, fmt: str, *args: str) -> str:
    out = tmp_path / f"out.{fmt}"
    result = gonghui(
        "export",
        "--format",
        fmt,
        *args,
        "-o",
        str(out),
        cwd=tmp_path,
        database_url=crawled.database_url,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return out.read_bytes().decode("utf-8")  # strict: any non-UTF-8 byte fails here


def read_jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def assert_rows_match(rows: list[dict], expected: list[TruthArticle]) -> None:
    got = sorted((r["site_id"], r["url"].split("/", 3)[3], r["title"]) for r in rows)
    want = sorted((t.site_id, t.path.lstrip("/"), t.title) for t in expected)
    assert got == want
    by_path = {t.path.lstrip("/"): t for t in expected}
    for row in rows:
        t = by_path[row["url"].split("/", 3)[3]]
        assert (row["published"], row["source"]) == (t.published, t.source)


def test_export_jsonl_has_the_stable_columns_and_chinese_intact(crawled: Crawled, tmp_path: Path):
    text = export(crawled, tmp_path, "jsonl")
    rows = read_jsonl(text)
    assert all(list(row) == list(EXPORT_FIELDS) for row in rows)
    assert_rows_match(rows, truth())
    for t in truth():
        assert t.title in text  # written as characters, not \\u escapes
    assert {r["site_name"] for r in rows} == {"西安市总工会", "青海省总工会"}
    assert all(isinstance(r["captions"], list) for r in rows)


def test_export_to_standard_output_is_the_same_jsonl(crawled: Crawled, tmp_path: Path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli.main",
            "--database",
            crawled.database_url,
            "export",
            "--format",
            "jsonl",
            "--site",
            "qhzgh",
            "-o",
            "-",
        ],
        capture_output=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode("utf-8") == export(crawled, tmp_path, "jsonl", "--site", "qhzgh")


def test_export_csv_has_a_header_of_the_stable_columns_and_chinese_intact(
    crawled: Crawled, tmp_path: Path
):
    text = export(crawled, tmp_path, "csv")
    assert not text.startswith("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader)
    assert header == list(EXPORT_FIELDS)
    rows = [dict(zip(header, cells, strict=True)) for cells in reader]
    assert_rows_match(rows, truth())
    assert all(isinstance(json.loads(r["captions"] or "[]"), list) for r in rows)
    bodies = "\n".join(r["body"] for r in rows)
    assert "(西宁市总工会)" in bodies


def test_export_site_keeps_only_that_site(crawled: Crawled, tmp_path: Path):
    rows = read_jsonl(export(crawled, tmp_path, "jsonl", "--site", "qhzgh"))
    assert_rows_match(rows, truth("qhzgh"))


@pytest.mark.parametrize(
    ("site_id", "since"),
    [(None, "2023-12-01"), ("xazgh", "2023-10-26"), ("xazgh", "2024-01-01")],
)
def test_export_since_keeps_articles_published_on_or_after_the_date(
    site_id: str | None, since: str, crawled: Crawled, tmp_path: Path
):
    args = ["--since", since, *(["--site", site_id] if site_id else [])]
    rows = read_jsonl(export(crawled, tmp_path, "jsonl", *args))
    assert_rows_match(rows, truth(site_id, since))
    assert all(r["published"] >= since for r in rows)
