"""Guards for unattended use (issue 13), as a user meets them: the CLI run as a subprocess.

- Reads never create: `status`, `articles`, `runs`, `history`, `diff`, `reprints` and
  `export` refuse a database that is not an archive (a missing SQLite file, a database without
  the archive's tables, an archive at another schema revision) with one `error:` line and exit
  3, creating and migrating nothing; the commands that write still create it.
- An unknown `--site` is one `error:` line naming the sites the archive holds, exit 2.
- `export -o` writes only regular files: a FIFO, a symlink, a folder or /dev/null is refused
  (exit 4) and left as it was.
- `extract` never opens a FIFO, a folder or a device: it gets a `not_a_regular_file` record.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from archive.store import Archive
from tests.test_cli import error_line, gonghui

URL = "http://www.acftu.org/xwdt/202405/t20240501_1.html"
READS = {
    "status": ("status",),
    "articles": ("articles",),
    "runs": ("runs",),
    "history": ("history", URL),
    "diff": ("diff", URL),
    "reprints": ("reprints",),
    "export": ("export", "--format", "jsonl", "-o", "out.jsonl"),
}
SITE_COMMANDS = {
    "articles": ("articles",),
    "runs": ("runs",),
    "reprints": ("reprints",),
    "reprints_reindex": ("reprints", "--reindex"),
    "export": ("export", "--format", "jsonl", "-o", "out.jsonl"),
}


def tables(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


def revision(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    finally:
        engine.dispose()


def set_revision(database_url: str, value: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": value})
    finally:
        engine.dispose()


@pytest.fixture
def two_sites(archive: Archive) -> Archive:
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    archive.ensure_site("workercn", "中工网", "https://www.workercn.cn/")
    return archive


# -- reads that would write -------------------------------------------------------------------


@pytest.mark.parametrize("args", READS.values(), ids=READS.keys())
def test_a_read_of_a_missing_sqlite_file_names_it_and_creates_nothing(
    args: tuple[str, ...], tmp_path: Path
):
    result = gonghui("--database", "sqlite:///typo.sqlite3", *args, cwd=tmp_path)
    line = error_line(result)
    assert result.returncode == 3
    assert f"no archive at {tmp_path / 'typo.sqlite3'}: the file does not exist" in line
    assert "gonghui db upgrade" in line
    assert list(tmp_path.iterdir()) == []  # no database, lock file, WARC folder or export


def test_a_read_in_the_wrong_folder_does_not_create_the_default_archive(tmp_path: Path):
    env_default = gonghui("status", cwd=tmp_path)  # GONGHUI_DATABASE_URL: ./archive.sqlite3
    assert env_default.returncode == 3 and "archive.sqlite3" in error_line(env_default)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", READS.values(), ids=READS.keys())
def test_a_read_of_a_database_without_the_archive_tables_refuses_and_creates_none(
    args: tuple[str, ...], database_url: str, tmp_path: Path
):
    if database_url.startswith("sqlite"):  # an SQLite file that is not an archive
        conn = sqlite3.connect(tmp_path / "archive.sqlite3")
        conn.execute("CREATE TABLE notes (x TEXT)")
        conn.close()
    before = tables(database_url)
    result = gonghui(*args, cwd=tmp_path, database_url=database_url)
    line = error_line(result)
    assert result.returncode == 3
    assert "no archive" in line and "no archive tables" in line and "gonghui db upgrade" in line
    assert tables(database_url) == before
    assert not (tmp_path / "out.jsonl").exists()


def test_a_file_that_is_not_sqlite_is_one_line(tmp_path: Path):
    (tmp_path / "archive.sqlite3").write_text("not a database\n" * 100)
    line = error_line(gonghui("status", cwd=tmp_path))
    assert "cannot open database" in line and "not a database" in line
    assert (tmp_path / "archive.sqlite3").read_text() == "not a database\n" * 100


def test_a_read_does_not_migrate_an_older_archive(archive: Archive, database_url, tmp_path):
    set_revision(database_url, "0001")
    result = gonghui("status", cwd=tmp_path, database_url=database_url)
    line = error_line(result)
    assert result.returncode == 3
    assert "schema revision 0001" in line and "gonghui db upgrade" in line
    assert revision(database_url) == "0001"


def test_an_archive_of_a_newer_release_is_refused(archive: Archive, database_url, tmp_path):
    set_revision(database_url, "9999")
    line = error_line(gonghui("articles", cwd=tmp_path, database_url=database_url))
    assert "9999" in line and "newer" in line
    assert revision(database_url) == "9999"


def test_commands_that_write_still_create_the_archive(tmp_path: Path):
    done = gonghui("db", "upgrade", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "archive.sqlite3").is_file()
    status = gonghui("status", cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    (tmp_path / "archive.sqlite3").unlink()
    reindexed = gonghui("reprints", "--reindex", cwd=tmp_path)
    assert reindexed.returncode == 0, reindexed.stderr
    assert "Reprint clusters: 0" in reindexed.stdout


# -- unknown --site ---------------------------------------------------------------------------


@pytest.mark.parametrize("args", SITE_COMMANDS.values(), ids=SITE_COMMANDS.keys())
def test_an_unknown_site_names_the_known_ones(
    args: tuple[str, ...], two_sites: Archive, database_url: str, tmp_path: Path
):
    result = gonghui(*args, "--site", "nosuch", cwd=tmp_path, database_url=database_url)
    line = error_line(result)
    assert result.returncode == 2
    assert "unknown site 'nosuch'" in line and "acftu, workercn" in line
    assert not (tmp_path / "out.jsonl").exists()
    known = gonghui(*args, "--site", "acftu", cwd=tmp_path, database_url=database_url)
    assert known.returncode == 0, known.stderr


def test_an_unknown_site_of_an_archive_without_sites_says_so(
    archive: Archive, database_url: str, tmp_path: Path
):
    line = error_line(gonghui("runs", "--site", "acftu", cwd=tmp_path, database_url=database_url))
    assert "unknown site 'acftu'" in line and "no site yet" in line


# -- export -o writes only regular files -------------------------------------------------------


@pytest.fixture
def sqlite_archive(tmp_path: Path) -> str:
    """A migrated, empty SQLite archive at ./archive.sqlite3 (what `gonghui` is pointed at)."""
    Archive.open(f"sqlite:///{tmp_path / 'archive.sqlite3'}", tmp_path / "warc").close()
    return f"sqlite:///{tmp_path / 'archive.sqlite3'}"


def export_to(target: str, cwd: Path):  # type: ignore[no-untyped-def]
    return gonghui("export", "--format", "csv", "-o", target, cwd=cwd, timeout=60)


def parts(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


def test_export_to_a_fifo_is_refused_and_the_fifo_kept(sqlite_archive: str, tmp_path: Path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    line = error_line(export_to(str(fifo), tmp_path))
    assert str(fifo) in line and "a FIFO" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert parts(tmp_path) == []


def test_export_to_a_symlink_is_refused_and_neither_link_nor_target_touched(
    sqlite_archive: str, tmp_path: Path
):
    target = tmp_path / "previous.csv"
    target.write_text("previous export\n")
    link = tmp_path / "latest.csv"
    link.symlink_to(target)
    result = export_to(str(link), tmp_path)
    line = error_line(result)
    assert result.returncode == 4
    assert str(link) in line and "a symlink" in line
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == "previous export\n"
    assert parts(tmp_path) == []


def test_export_to_dev_null_is_refused_and_it_stays_a_device(sqlite_archive: str, tmp_path: Path):
    result = export_to("/dev/null", tmp_path)
    line = error_line(result)
    assert result.returncode == 4
    assert "/dev/null" in line and "a character device" in line and "-o -" in line
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert not [name for name in os.listdir("/dev") if name.endswith(".part")]


def test_export_to_a_folder_is_one_line_not_a_usage_error(sqlite_archive: str, tmp_path: Path):
    (tmp_path / "exports").mkdir()
    result = export_to("exports", tmp_path)
    assert result.returncode == 4
    assert "it is a folder" in error_line(result)
    assert list((tmp_path / "exports").iterdir()) == []


def test_export_to_stdout_and_to_a_regular_file_still_work(sqlite_archive: str, tmp_path: Path):
    to_stdout = export_to("-", tmp_path)
    assert to_stdout.returncode == 0 and to_stdout.stdout.startswith("site_id,site_name,url")
    (tmp_path / "out.csv").write_text("previous export\n")
    to_file = export_to("out.csv", tmp_path)
    assert to_file.returncode == 0, to_file.stderr
    assert (tmp_path / "out.csv").read_text().startswith("site_id,site_name,url")


# -- extract never opens what is not a regular file ------------------------------------------


def test_extract_gives_fifos_folders_and_devices_a_record_and_goes_on(tmp_path: Path):
    fifo = tmp_path / "page.fifo"
    os.mkfifo(fifo)
    folder = tmp_path / "pages"
    folder.mkdir()
    good = tmp_path / "good.html"
    good.write_text(
        "<html><head><title>全总召开劳模座谈会</title></head><body><h1>全总召开劳模座谈会</h1>"
        "<p>发布时间：2024-05-01</p><div><p>"
        + "中华全国总工会今天召开劳模座谈会，听取意见建议。" * 3
        + "</p></div></body></html>",
        encoding="utf-8",
    )
    link = tmp_path / "link.html"
    link.symlink_to(good)
    paths = [str(fifo), str(folder), "/dev/zero", str(tmp_path / "missing.html"), str(link)]
    result = gonghui("extract", "--jsonl", *paths, cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == paths
    assert [r.get("error") for r in records] == [
        "not_a_regular_file",
        "not_a_regular_file",
        "not_a_regular_file",
        "file_not_found",
        None,
    ]
    assert [r["detail"] for r in records[:3]] == [
        "a FIFO: not read",
        "a directory: not read",
        "a character device: not read",
    ]
    assert records[4]["title"] == "全总召开劳模座谈会"
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
