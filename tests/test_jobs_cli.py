"""The job-queue commands as a user meets them: `gonghui schedule --defer` queues one job per
site and slot, `gonghui jobs` lists it, and bad input is one `error:` line (issue 18)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from archive.db import make_engine
from crawler.cli.main import cli
from tests.fixtures_db import DEFAULT_PG_ADMIN_URL, _PostgresServer
from tests.test_crawl import gonghui_argv

TIMETABLE = """\
timezone = "Asia/Shanghai"
misfire_grace_seconds = 60
jitter_seconds = 0
[crawl]
qhzgh = "* * * * * *"   # every second: each firing finds the first job still waiting
bcrb = "*/2 * * * * *"
"""


@pytest.fixture
def queue_url() -> Iterator[str]:
    server = _PostgresServer(os.environ.get("GONGHUI_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL)
    try:
        yield server.ensure()
    finally:
        server.drop()


def _jobs(url: str) -> list[tuple[str, dict]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT task_name, args FROM procrastinate_jobs ORDER BY id"))
            return [(r.task_name, r.args) for r in rows]
    except Exception:  # the schema is not there yet
        return []
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_schedule_defer_queues_each_site_once_while_its_job_waits(
    queue_url: str, tmp_path: Path
) -> None:
    timetable = tmp_path / "timetable.toml"
    timetable.write_text(TIMETABLE, encoding="utf-8")
    cli = dict(database_url=queue_url, warc_dir=tmp_path / "warc")
    proc = subprocess.Popen(
        gonghui_argv("schedule", "--defer", "--timetable", str(timetable), **cli),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(_jobs(queue_url)) < 2:
            time.sleep(0.2)
        time.sleep(3)  # three more firings of qhzgh, one more of bcrb: all refused
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    jobs = _jobs(queue_url)
    assert sorted((name, args["site"]) for name, args in jobs) == [
        ("gonghui:crawl_site", "bcrb"),
        ("gonghui:crawl_site", "qhzgh"),
    ], err[-2000:]
    assert all(args["slot"] for _, args in jobs)  # each names the slot it fills
    assert "already waiting" in err
    assert "Traceback" not in err

    listing = subprocess.run(
        gonghui_argv("jobs", "--state", "todo", **cli), capture_output=True, text=True, check=False
    )
    assert listing.returncode == 0, listing.stderr
    assert listing.stdout.count("crawl_site") == 2 and "site=qhzgh" in listing.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["worker"], "the job queue needs PostgreSQL"),
        (["enqueue", "--all"], "the job queue needs PostgreSQL"),
        (["jobs"], "the job queue needs PostgreSQL"),
        (["enqueue", "nosuch"], "unknown site 'nosuch'"),
        (["enqueue", "qhzgh", "--from", "2021-04-01", "--to", "2021-04-02"], "qhzgh has none"),
        (["enqueue", "bcrb", "--deep", "--from", "2021-04-01"], "do not go together"),
    ],
)
def test_bad_input_is_one_error_line(tmp_path: Path, args: list[str], message: str) -> None:
    database = tmp_path / "a.sqlite3"
    result = CliRunner().invoke(cli, ["--database", f"sqlite:///{database}", *args])
    assert result.exit_code not in (0, None)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], result.stderr
    assert not database.exists()
