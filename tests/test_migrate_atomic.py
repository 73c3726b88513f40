"""A migration of an SQLite archive killed (SIGKILL) right after any one of its statements
leaves the database as it was, and the next migration completes it (issue 13, point 3).

Before, pysqlite committed Alembic's DDL statement by statement: a kill mid-migration left
tables without the version bump, and every later command failed with ``table ... already
exists``. Two sweeps kill a real migration, in a forked child (``tests.statement_killer``),
right after its statement k, for whatever revisions exist:

- the first migration of a new file, for every k: after the kill the file holds no table, and
  the next migration gives exactly the schema of an uninterrupted one;
- an upgrade of an archive holding data, from revision 0001 (the oldest, so every later
  revision runs on data), for every k whose statement writes (see its docstring): after the
  kill the database is the 0001 archive, row for row, and the next migration gives what an
  uninterrupted upgrade gives, texts included.

A third test does it end to end in a fresh interpreter (the kill set through an environment
variable) and then runs ``gonghui status`` / ``gonghui db upgrade``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.config import Config

from archive.db import MIGRATIONS_DIR, make_engine, migrate
from tests.statement_killer import (
    ENV,
    install,
    migrate_counting,
    start_forked,
    uninstall,
    wait_forked,
)
from tests.test_crawl import gonghui_argv
from tests.test_schedule import clean_env

ROOT = Path(__file__).resolve().parent.parent
KILLED = -signal.SIGKILL
# Set by the migration itself (revision 0003 stamps the texts it creates), so not comparable
# between two runs of it.
VOLATILE = {("article_text", "created_at")}
BODIES = {
    (1, 1): "中华全国总工会今天召开座谈会。\n与会劳模代表发言。",
    (1, 2): "中华全国总工会今天召开座谈会。\n与会劳模代表发言，并合影留念。",
    (2, 1): "中华全国总工会今天召开座谈会。\n与会劳模代表发言。",  # a reprint of (1, 1)
    (3, 1): "青海省总工会开展送温暖活动。",
}


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def snapshot(path: Path, scratch: Path) -> dict[str, Any]:
    """Schema and every row of an SQLite database, read from a copy of its files (the main
    file and the WAL, as a crash leaves them), so that reading changes nothing."""
    scratch.mkdir(exist_ok=True)
    copy = scratch / "copy.sqlite3"
    for suffix in ("", "-wal"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
        if Path(f"{path}{suffix}").exists():
            shutil.copyfile(f"{path}{suffix}", f"{copy}{suffix}")
    Path(f"{copy}-shm").unlink(missing_ok=True)
    conn = sqlite3.connect(copy)
    try:
        # A definition as the set of its lines: Alembic's batch mode writes the constraints of
        # a table it recreates in no fixed order, interrupted or not.
        schema = sorted(
            (
                kind,
                name,
                table,
                tuple(sorted(line.strip(" ,") for line in (sql or "").splitlines())),
            )
            for kind, name, table, sql in conn.execute(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"
            )
        )
        rows = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
            cursor = conn.execute(f'SELECT * FROM "{table}"')
            names = [d[0] for d in cursor.description]
            masked = [
                tuple(
                    None if (table, n) in VOLATILE else v for n, v in zip(names, row, strict=True)
                )
                for row in cursor
            ]
            rows[table] = sorted(masked, key=repr)
    finally:
        conn.close()
    return {"schema": schema, "rows": rows}


def upgrade_to(database_url: str, revision: str) -> None:
    """``alembic upgrade REVISION`` through the product's env.py."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


def seed_revision_0001(path: Path) -> None:
    """A site, a run, three pages, four captures and four versions, as revision 0001 stored
    them (bodies in article_version)."""
    t, url = "2024-05-01 08:00:00.000000", "http://www.acftu.org/a/{}.html".format
    conn = sqlite3.connect(path)
    with conn:  # one transaction, committed
        conn.execute("INSERT INTO site VALUES ('acftu', '全总', 'http://www.acftu.org/', ?)", (t,))
        conn.execute(
            "INSERT INTO run VALUES (1, 'acftu', 'manual', 'finished', ?, ?, 4, 3, 4, 0, '{}')",
            (t, t),
        )
        conn.executemany(
            "INSERT INTO page VALUES (?, 'acftu', ?, ?, ?, ?, 200)",
            [(p, url(p), url(p), t, t) for p in (1, 2, 3)],
        )
        for c, (p, v) in enumerate(sorted(BODIES), start=1):
            conn.execute(
                "INSERT INTO capture VALUES (?, ?, 1, ?, ?, 200, '[]', 'text/html', NULL, 'gbk',"
                " NULL, 'gb18030', 0, ?, 100, 'x.warc.gz', ?, 90)",
                (c, p, url(p), t, f"{c:064x}", c * 100),
            )
            conn.execute(
                "INSERT INTO article_version VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, '2024-05-01',"
                " '08:00', '工人日报', NULL, ?, '[]', ?, ?)",
                (c, p, v, c, c, f"{c:064x}", f"标题{p}", BODIES[p, v], t, t),
            )
    conn.close()


def stored_bodies(path: Path) -> dict[tuple[int, int], str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT v.page_id, v.version_no, t.body FROM article_version v"
            " JOIN article_text t ON t.id = v.text_id"
        ).fetchall()
    finally:
        conn.close()
    return {(page, version): body for page, version, body in rows}


def changes(statement: str) -> bool:
    """Whether a statement can change the database (what Alembic reads with is SELECT and
    PRAGMA table_info, index_list, foreign_key_check ...)."""
    return not statement.lstrip().upper().startswith(("SELECT", "PRAGMA"))


def left_by_kill(path: Path) -> str:
    """A digest of every file of the SQLite database at ``path`` (main file, WAL, its index,
    a rollback journal), bytes and presence: what the next migration starts from."""
    digest = hashlib.sha256()
    for suffix in ("", "-wal", "-shm", "-journal"):
        file = Path(f"{path}{suffix}")
        digest.update(suffix.encode() + (b"+" if file.exists() else b"-"))
        if file.exists():
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def kill_sweep(
    tmp_path: Path,
    prepare: Callable[[Path], None],
    before: dict[str, Any],
    *,
    every_statement: bool = True,
) -> tuple[list[str], dict[str, Any]]:
    """Kill the migration of a database made by ``prepare`` after statement k, for each k.

    Every k, or with ``every_statement=False`` each k whose statement can change the database,
    plus the first and the last (after that, only the COMMIT): a kill after a read leaves the
    files as the kill after the write before it does. After each kill the database must equal
    ``before`` (untouched), then ``migrate`` must bring it to exactly what an uninterrupted
    migration gives. Returns the statements of that migration and its result. The child of
    the next k runs while the test checks this one.

    The next migration starts from nothing but the files the kill left, so it is run once for
    each set of bytes the kills leave (``left_by_kill``), not again for a kill that left the
    very bytes an earlier one did: the same files give the same recovery. The migration holds
    its writes in one transaction, so most kills leave identical files (a new file's sweep:
    one set for all of its ~190 kills), and a statement that wrote to the files early (the bug
    this guards against) leaves new bytes, which are then recovered from.
    GONGHUI_TEST_EVERY_STATEMENT=1 recovers after every kill all the same.
    """
    reference = tmp_path / "reference.sqlite3"
    prepare(reference)
    count = install()
    try:
        migrate(sqlite_url(reference))
    finally:
        uninstall(count)
    statements = count.statements
    after = snapshot(reference, tmp_path / "scratch")
    assert after != before
    n = len(statements)
    points = [
        k for k in range(1, n + 1) if every_statement or k in (1, n) or changes(statements[k - 1])
    ]
    points.append(n + 1)  # never reached: the child migrates to the end

    def start(k: int) -> tuple[Path, int]:
        path = tmp_path / f"killed-{k}.sqlite3"
        prepare(path)
        return path, start_forked(sqlite_url(path), k)

    recovered: set[str] = set()  # the files of the kills recovered from, by left_by_kill
    every_recovery = os.environ.get("GONGHUI_TEST_EVERY_STATEMENT") == "1"
    running = start(points[0])
    for i, k in enumerate(points):
        path, pid = running
        status = wait_forked(pid)
        if k > n:
            assert status == 0, f"the uninterrupted child ended with {status}"
            assert snapshot(path, tmp_path / "scratch") == after
            break
        running = start(points[i + 1])
        where = f"killed after statement {k} of {n}: {statements[k - 1][:120]!r}"
        assert status == KILLED, f"{where}: the child ended with {status}"
        assert snapshot(path, tmp_path / "scratch") == before, f"{where}: database changed"
        left = left_by_kill(path)
        if left not in recovered or every_recovery:
            migrate(sqlite_url(path))  # the next command: raises on "table ... already exists"
            assert snapshot(path, tmp_path / "scratch") == after, f"{where}: not migrated to head"
            recovered.add(left)
        for suffix in ("", "-wal", "-shm", "-journal", "-migrate.lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return statements, after


def test_first_migration_killed_after_every_statement(tmp_path: Path) -> None:
    def new_file(path: Path) -> None:
        assert not path.exists()

    empty = {"schema": [], "rows": {}}
    statements, after = kill_sweep(tmp_path, new_file, empty)
    assert sum(map(changes, statements)) > 30  # every revision ran, one statement at a time
    assert ("table", "alembic_version", "alembic_version") in {s[:3] for s in after["schema"]}


def test_upgrade_with_data_killed_after_every_write(tmp_path: Path) -> None:
    """From 0001 with data to head. Every write, not every statement: the migration reads
    the schema (Alembic's batch mode) about three times as often as it writes, and killing
    after each read too doubles the file's run time for no new state (GONGHUI_TEST_EVERY_STATEMENT=1 does)."""
    base = tmp_path / "base.sqlite3"
    upgrade_to(sqlite_url(base), "0001")
    seed_revision_0001(base)
    assert not Path(f"{base}-wal").exists()  # checkpointed on close: copying base is enough
    before = snapshot(base, tmp_path / "scratch")
    assert before["rows"]["alembic_version"] == [("0001",)]

    def copy_of_base(path: Path) -> None:
        shutil.copyfile(base, path)

    every = os.environ.get("GONGHUI_TEST_EVERY_STATEMENT") == "1"
    statements, after = kill_sweep(tmp_path, copy_of_base, before, every_statement=every)
    assert sum(map(changes, statements)) > 30
    assert after["rows"]["capture"] == before["rows"]["capture"]
    assert stored_bodies(tmp_path / "reference.sqlite3") == BODIES


@pytest.mark.slow
def test_killed_migration_in_a_fresh_process_then_the_cli(tmp_path: Path) -> None:
    """The real thing once: a fresh interpreter migrating a new file is killed halfway, then
    `gonghui status` finds no archive (not `table ... already exists`) and `gonghui db
    upgrade` creates it."""
    n = migrate_counting(sqlite_url(tmp_path / "count.sqlite3"))
    database_url = sqlite_url(tmp_path / "archive.sqlite3")
    env = clean_env() | {ENV: str(n // 2)}
    killed = subprocess.run(
        [sys.executable, "-m", "tests.statement_killer", database_url],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert killed.returncode == KILLED, killed.stderr

    def gonghui(*args: str) -> subprocess.CompletedProcess[str]:
        argv = gonghui_argv(*args, database_url=database_url, warc_dir=tmp_path / "warc")
        return subprocess.run(
            argv, cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=120
        )

    status = gonghui("status")
    assert status.returncode == 3, status.stderr
    assert "no archive tables" in status.stderr and "already exists" not in status.stderr
    upgrade = gonghui("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    status = gonghui("status")
    assert status.returncode == 0, status.stderr


def test_the_migrating_connection_goes_back_to_the_pool_enforcing_foreign_keys(
    tmp_path: Path,
) -> None:
    """Migrations run with SQLite's foreign keys off (batch mode); the connection that ran
    them is pooled and reused by the archive, so they must be on again."""
    engine = make_engine(sqlite_url(tmp_path / "archive.sqlite3"))
    try:
        migrate(engine)
        assert engine.pool.checkedin() == 1  # the migration's connection, reused below
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
