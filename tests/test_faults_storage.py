"""Fault suite, the archive's side: a locked, unreachable, read-only or full database, a full
WARC folder. Each case crawls the replica e-paper (bcrb: no sitemap, so nothing but the owed
ledger brings a lost article back) as a user does, breaks the storage mid-crawl, and asserts
what the user sees (exit code, one `error:` line, no traceback) and that after the next run,
in whatever mode, the archive equals a crawl that was never disturbed.

The cases that need a small or read-only file system mount a tmpfs: they skip where that is
not allowed (not root, no mount), except under CI=true.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import OwedPage, Run
from crawler.replica.server import ReplicaServer
from tests.test_crawl import gonghui_argv
from tests.test_resume import SEEDS, slow_seeds, version_count, versions

pytestmark = pytest.mark.slow

SITE = "bcrb"


def crawl_argv(database_url: str, warc: Path, seeds: Path, replica: ReplicaServer) -> list[str]:
    return gonghui_argv(
        "crawl",
        SITE,
        f"--origin={SITE}={replica.origins[SITE]}",
        database_url=database_url,
        warc_dir=warc,
        seeds_dir=seeds,
    )


def run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=300, env={**os.environ, **env}
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    return done


def start(argv: list[str], **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def finish(proc: subprocess.Popen[str]) -> subprocess.CompletedProcess[str]:
    out, err = proc.communicate(timeout=300)
    assert "Traceback" not in out + err, err[-3000:]
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def wait_for_versions(database_url: str, at_least: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while version_count(database_url) < at_least:
        assert proc.poll() is None, "the crawl ended before the fault could be made"
        assert time.monotonic() < deadline
        time.sleep(0.05)


def only_error_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr[-2000:]
    return lines[0]


def last_run(database_url: str) -> Run:
    engine = make_engine(database_url)
    with Session(engine) as session:
        row = session.scalars(select(Run).order_by(Run.id.desc()).limit(1)).one()
        session.expunge(row)
    engine.dispose()
    return row


def owed_count(database_url: str) -> int:
    engine = make_engine(database_url)
    with Session(engine) as session:
        count = session.scalar(select(func.count()).select_from(OwedPage)) or 0
    engine.dispose()
    return count


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ReplicaServer, Path, dict]]:
    """The replica, slowed seeds, and the reference: bcrb crawled once, undisturbed (once for
    the module: every case compares its archive with it). The slowed seeds are for the crawls
    a fault is made in, so they are still running; the crawls no fault is made in (this one,
    the next run) use the shipped seeds, which differ in download_delay only: 2-3 s less each."""
    tmp_path = tmp_path_factory.mktemp("world")
    seeds = slow_seeds(tmp_path / "seeds")
    with ReplicaServer() as replica:
        reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
        done = run(crawl_argv(reference, tmp_path / "warc-ref", SEEDS, replica))
        assert done.returncode == 0, done.stdout
        yield replica, seeds, versions(reference)


@contextlib.contextmanager
def write_lock(path: Path) -> Iterator[None]:
    """Hold SQLite's write lock on the file (another process's long transaction)."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=60)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def crawl_three_versions_in(
    world, tmp_path: Path, **env: str
) -> tuple[Path, str, subprocess.Popen[str]]:
    """A crawl started into ``tmp_path`` (archive.sqlite3, warc/) that has stored three
    versions: the database file, its URL, the crawl still running.

    Each page is stored as it comes (a batch of one): with the default batches, the first
    commit can hold nearly every page of the site on a loaded machine, and the crawl then ends
    before the fault is made (a CI run saw a SIGTERM'd crawl exit 0 that way)."""
    replica, seeds, _ = world
    path = tmp_path / "archive.sqlite3"
    url = f"sqlite:///{path}?timeout=0.5"  # SQLite waits 0.5 s for a lock, then says busy
    env = {"GONGHUI_BATCH_PAGES": "1", **env}
    proc = start(crawl_argv(url, tmp_path / "warc", seeds, replica), **env)
    wait_for_versions(url, 3, proc)
    return path, url, proc


def test_a_lock_held_past_the_busy_timeout_is_waited_out(world, tmp_path: Path) -> None:
    _, _, expected = world
    path, url, proc = crawl_three_versions_in(world, tmp_path)
    with write_lock(path):
        time.sleep(4)  # eight busy timeouts: the crawl retries and waits it out
    done = finish(proc)
    assert done.returncode == 0, done.stdout + done.stderr
    assert versions(url) == expected
    assert last_run(url).status == "finished" and last_run(url).errors == 0


def test_a_lock_that_never_lifts_stops_the_site_and_the_next_run_pays_its_debt(
    world, tmp_path: Path
) -> None:
    replica, _, _ = world
    warc = tmp_path / "warc"
    path, url, proc = crawl_three_versions_in(world, tmp_path, GONGHUI_STORAGE_PATIENCE="2")
    with write_lock(path):
        done = finish(proc)  # the lock outlives the crawl
    assert done.returncode == 1
    assert only_error_line(done) == "error: crawl did not finish for: bcrb (see the table above)"
    assert "storage_error" in done.stdout
    assert "stopped: storage failed: still failing after 3 attempts: database" in done.stdout
    journal = warc / SITE / "owed.jsonl"
    owed = journal.read_text().splitlines()  # the database could take no debt: the journal did
    assert owed

    mark = len(replica.request_log)
    the_next_run_restores(world, url, warc)
    paths = [e.path for e in replica.request_log[mark:] if e.path != "/robots.txt"]
    assert len(owed) <= len(paths)
    assert not journal.exists()  # every debt paid


def test_sigterm_while_the_last_batch_waits_for_a_locked_database_is_no_finished_run(
    world, tmp_path: Path
) -> None:
    """The site is done and the spider closing, its last batch waiting for the lock, when the
    signal comes. Scrapy's graceful stop returns without waiting for a close already under
    way: the reactor stopped under it, and the crawl said "finished" with exit 0 while the
    batch was neither stored nor owed and the run row stayed open."""
    replica, seeds, _ = world
    warc = tmp_path / "warc"
    path = tmp_path / "archive.sqlite3"
    url = f"sqlite:///{path}?timeout=0.5"
    # One batch for the whole crawl, stored when the spider closes.
    env = {"GONGHUI_BATCH_PAGES": "100000", "GONGHUI_BATCH_SECONDS": "3600"}
    mark = len(replica.request_log)
    proc = start(crawl_argv(url, warc, seeds, replica), **env)
    deadline = time.monotonic() + 120
    while len(replica.request_log) < mark + 3:  # crawling: it only reads until the spider closes
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    with write_lock(path):
        # Every page fetched (no request for a second, against a delay of 0.15 s): the spider
        # closes and its batch waits for the lock. (On a machine loaded enough to pause the
        # crawl for a second, the signal comes mid-crawl instead: the same must hold.)
        count, since = len(replica.request_log), time.monotonic()
        while time.monotonic() - since < 1.0:
            assert proc.poll() is None and time.monotonic() < deadline
            if len(replica.request_log) != count:
                count, since = len(replica.request_log), time.monotonic()
            time.sleep(0.05)
        time.sleep(1.5)  # the batch is in its retries
        proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        done = finish(proc)
        took = time.monotonic() - began
    assert took < 10, took
    assert done.returncode == 1, done.stdout
    assert only_error_line(done) == "error: crawl did not finish for: bcrb (see the table above)"
    table = " ".join(done.stdout.split())
    assert "not_stored" in table
    # storage_error: the batch failed as the site ended; shutdown: the signal came mid-crawl.
    assert "storage_error" in table or "shutdown" in table
    owed = (warc / SITE / "owed.jsonl").read_text().splitlines()  # the lock took no debt
    assert f"{len(owed)} pages fetched but not stored are owed to the next run" in table
    # The lock outlived the crawl, so its run row could not be closed either, and says so.
    assert "the next crawl of bcrb marks it interrupted" in table
    the_next_run_restores(world, url, warc)


@pytest.mark.postgres
def test_postgres_connections_terminated_mid_crawl_lose_nothing(
    world, tmp_path: Path, postgres_server
) -> None:
    database_url = postgres_server.ensure()
    postgres_server.reset()
    replica, seeds, expected = world
    # The crawl's connections carry a name of their own: only they are terminated, not the
    # test session's (the database is shared by the suite).
    crawl_url = f"{database_url}?application_name=gonghui_fault_crawl"
    # A batch of one, so the crawl is still early when three versions are stored (see
    # crawl_three_versions_in).
    proc = start(crawl_argv(crawl_url, tmp_path / "warc", seeds, replica), GONGHUI_BATCH_PAGES="1")
    wait_for_versions(database_url, 3, proc)
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    killed = 0
    with admin.connect() as conn:
        while proc.poll() is None and killed < 20:
            killed += conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = 'gonghui_fault_crawl'"
                )
            ).scalar_one()
            time.sleep(0.3)
    admin.dispose()
    done = finish(proc)
    assert killed >= 1
    assert done.returncode == 0, done.stdout + done.stderr
    assert versions(database_url) == expected
    assert last_run(database_url).status == "finished"


# -- file systems that fill up or turn read-only (tmpfs) -----------------------------------------


@contextlib.contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        reason = f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'not root'}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


@contextlib.contextmanager
def database_on_tmpfs(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A 4 MB tmpfs for the archive's SQLite file: its folder and the database URL."""
    with tmpfs(tmp_path / "db", "4m") as folder:
        yield folder, f"sqlite:///{folder / 'archive.sqlite3'}"


def the_next_run_restores(world: tuple[ReplicaServer, Path, dict], url: str, warc: Path) -> None:
    """The next crawl finishes, owes nothing, and the archive equals the undisturbed crawl.
    (With the shipped seeds: see ``world``.)"""
    replica, _, expected = world
    again = run(crawl_argv(url, warc, SEEDS, replica))
    assert again.returncode == 0, again.stdout + again.stderr
    assert owed_count(url) == 0
    assert versions(url) == expected


def test_a_full_warc_folder_stops_the_site_and_the_next_run_pays_its_debt(
    world, tmp_path: Path
) -> None:
    replica, seeds, _ = world
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with tmpfs(tmp_path / "small", "48k") as small:
        done = run(crawl_argv(url, small, seeds, replica))
    assert done.returncode == 1
    only_error_line(done)
    assert "storage_error" in done.stdout
    assert "No space left on device" in done.stdout
    failed = last_run(url)
    assert failed.status == "failed" and "No space left on device" in (failed.stop_reason or "")
    assert owed_count(url) >= 1  # the database took the debt
    the_next_run_restores(world, url, tmp_path / "warc")


def test_a_database_disk_that_fills_up_mid_crawl_stops_the_site_at_once(
    world, tmp_path: Path
) -> None:
    replica, seeds, _ = world
    warc = tmp_path / "warc"
    with database_on_tmpfs(tmp_path) as (folder, url):
        # Batches of two pages: the fault shows at the first batch stored after it.
        proc = start(crawl_argv(url, warc, seeds, replica), GONGHUI_BATCH_PAGES="2")
        wait_for_versions(url, 3, proc)
        filler = folder / "filler"
        with contextlib.suppress(OSError), open(filler, "wb") as fh:
            while True:
                fh.write(b"\0" * 65536)
        mark = len(replica.request_log)
        done = finish(proc)
        after_fault = len(replica.request_log) - mark
        assert done.returncode == 1
        only_error_line(done)
        assert "storage_error" in done.stdout and "full" in done.stdout
        # Stopped at the first batch that failed, not after fetching every remaining page.
        assert after_fault <= 5
        assert (warc / SITE / "owed.jsonl").exists()  # the database could not take the debt
        filler.unlink()
        the_next_run_restores(world, url, warc)


def test_a_read_only_database_is_refused_in_one_line_before_any_request(
    world, tmp_path: Path
) -> None:
    replica, seeds, _ = world
    warc = tmp_path / "warc"
    with database_on_tmpfs(tmp_path) as (folder, url):
        run(gonghui_argv("db", "upgrade", database_url=url, warc_dir=warc))
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        mark = len(replica.request_log)
        done = run(crawl_argv(url, warc, seeds, replica))
        assert done.returncode == 3
        # SQLite in WAL mode cannot even open a file it may not write beside (its -shm file)
        assert "cannot open database" in only_error_line(done)
        assert len(replica.request_log) == mark  # nothing fetched that could not be stored
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        the_next_run_restores(world, url, warc)


def test_sigterm_while_a_page_waits_for_a_locked_database_ends_the_crawl_in_seconds(
    world, tmp_path: Path
) -> None:
    warc = tmp_path / "warc"
    path, url, proc = crawl_three_versions_in(world, tmp_path)  # patience: the default minute
    with write_lock(path):
        time.sleep(2)  # the page is in its retries now
        assert proc.poll() is None, "the crawl ended before the signal"
        proc.send_signal(signal.SIGTERM)
        began = time.monotonic()
        done = finish(proc)
        took = time.monotonic() - began
    assert took < 10, took
    assert done.returncode != 0
    only_error_line(done)
    the_next_run_restores(world, url, warc)
