"""A worker whose every connection to PostgreSQL is cut (what a server restart does to it)
reconnects and goes on taking jobs (issue 18). The shared server is not restarted: the
worker's own backends (application_name ``gonghui-jobs``, this test's database only) are
terminated with ``pg_terminate_backend``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from archive.config import Settings
from archive.db import make_engine
from jobs.app import APPLICATION_NAME, ensure_schema, make_app
from jobs.config import load_queue_settings
from jobs.defer import defer_export
from tests.fixtures_db import DEFAULT_PG_ADMIN_URL, _PostgresServer
from tests.test_crawl import gonghui_argv

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def pg() -> Iterator[_PostgresServer]:
    server = _PostgresServer(os.environ.get("GONGHUI_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL)
    server.ensure()
    try:
        yield server
    finally:
        server.drop()


def _export(url: str, output: Path) -> int | None:
    queue = load_queue_settings(Settings(database_url=url), environ={})
    ensure_schema(queue)
    app = make_app(queue)

    async def defer() -> int | None:
        async with app.open_async():
            return (await defer_export(app, "jsonl", str(output), None, None)).job_id

    # On a thread of its own: this worker's thread may have an event loop running already
    # (pytest-playwright's, when the browser tests ran here first).
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, defer()).result()


def _wait_succeeded(url: str, job_id: int, timeout: float = 60) -> None:
    engine = make_engine(url)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                state = conn.scalar(
                    text("SELECT status::text FROM procrastinate_jobs WHERE id = :i"), {"i": job_id}
                )
            if state in ("succeeded", "failed"):
                assert state == "succeeded"
                return
            time.sleep(0.2)
    finally:
        engine.dispose()
    raise AssertionError(f"job {job_id} still {state} after {timeout} s")


def _terminate_worker_connections(pg: _PostgresServer) -> int:
    engine = make_engine(pg.admin_url)
    try:
        with engine.connect() as conn:
            killed = conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND application_name = :app"
                ),
                {"db": pg.db_name, "app": APPLICATION_NAME},
            ).all()
    finally:
        engine.dispose()
    return len(killed)


def test_a_worker_whose_connections_are_cut_reconnects_and_takes_the_next_job(
    pg: _PostgresServer, tmp_path: Path
) -> None:
    url = pg.url
    cli = dict(database_url=url, warc_dir=tmp_path / "warc")
    subprocess.run(gonghui_argv("db", "upgrade", **cli), check=True, capture_output=True)
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        gonghui_argv("worker", **cli),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "GONGHUI_WORKER_HEARTBEAT": "0.5", "GONGHUI_WORKER_STALLED_AFTER": "3"},
    )
    try:
        first = _export(url, tmp_path / "first.jsonl")
        assert first is not None
        _wait_succeeded(url, first)
        assert _terminate_worker_connections(pg) >= 1  # the listener's, at least
        time.sleep(1)
        second = _export(url, tmp_path / "second.jsonl")
        assert second is not None
        _wait_succeeded(url, second)
        assert worker.poll() is None  # the same worker process carried on
        assert (tmp_path / "second.jsonl").exists()
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    output = (tmp_path / "worker.log").read_text(errors="replace")
    assert "Traceback" not in output, output[-3000:]
