"""`gonghui serve` refuses what it cannot serve with one error line, and the web view's
database connection cannot write, on SQLite and PostgreSQL."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from archive.db import migrate
from archive.views_db import readonly_engine
from tests.test_crawl import gonghui_argv


def _serve(database_url: str, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = gonghui_argv("serve", *args, database_url=database_url, warc_dir=tmp_path / "warc")
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_serving_a_missing_archive_is_one_error_line_and_creates_nothing(tmp_path):
    missing = tmp_path / "typo.sqlite3"
    done = _serve(f"sqlite:///{missing}", tmp_path, "--port", "0")
    assert done.returncode == 3
    assert done.stderr.startswith("error: no archive at") and "Traceback" not in done.stderr
    assert not missing.exists()


def test_a_port_in_use_is_one_error_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    migrate(url)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve(url, tmp_path, "--port", str(port))
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert "Traceback" not in done.stderr


def test_the_web_views_connection_cannot_write(database_url):
    migrate(database_url)
    engine = readonly_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM site")).scalar() == 0
            with pytest.raises(DBAPIError, match=r"(?i)read.?only"):
                conn.execute(
                    text(
                        "INSERT INTO site (id, name, base_url, created_at) "
                        "VALUES ('x', 'x', 'http://x', CURRENT_TIMESTAMP)"
                    )
                )
    finally:
        engine.dispose()


def test_a_slow_query_of_the_web_view_is_stopped(database_url):
    migrate(database_url)
    engine = readonly_engine(database_url, timeout_s=0.2)
    slow = (
        "SELECT pg_sleep(5)"
        if engine.dialect.name == "postgresql"
        else "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT max(i) FROM n"
    )
    try:
        with engine.connect() as conn:
            with pytest.raises(DBAPIError, match=r"(?i)interrupted|statement timeout"):
                conn.execute(text(slow))
        with engine.connect() as conn:  # the next statement has its own time
            assert conn.execute(text("SELECT count(*) FROM site")).scalar() == 0
    finally:
        engine.dispose()
