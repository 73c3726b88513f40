"""The real scheduler process (`gonghui schedule`): it crawls on time, one run of a site at a
time, and stops cleanly on SIGTERM; `--check` prints the next run of each shipped site.

One scheduler session per database backend (a module fixture) feeds several tests: it runs
until a first crawl has finished and a second has started, then gets SIGTERM mid-crawl.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Run
from crawler.replica.server import ReplicaServer
from tests.test_crawl import gonghui_argv

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_TIMETABLE = ROOT / "schedules" / "timetable.toml"
SHIPPED_QHZGH = ROOT / "seeds" / "qhzgh.toml"
RUNS_TIMEOUT_S = 60
EXIT_TIMEOUT_S = 15
# With 13 requests (robots.txt + 12 pages) a crawl lasts about 4 s: longer than the 3 s period,
# so a firing finds the previous crawl still running and must be skipped, not started beside it.
CRAWL_DELAY_S = 0.3


def clean_env() -> dict[str, str]:
    """The test's environment without any GONGHUI_* setting (the flags say it all)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}


def qhzgh_runs(engine: Engine) -> list[Run]:
    """Every run of qhzgh so far, oldest first; empty while the scheduler has not migrated."""
    try:
        with Session(engine, expire_on_commit=False) as session:
            stmt = select(Run).where(Run.site_id == "qhzgh").order_by(Run.started_at, Run.id)
            return list(session.scalars(stmt))
    except SQLAlchemyError:
        return []


@dataclass(frozen=True)
class SchedulerRun:
    runs: list[Run]  # after the scheduler exited
    exit_code: int | None  # None: still running EXIT_TIMEOUT_S after SIGTERM (then killed)
    exit_seconds: float
    log: str  # the scheduler's stdout and stderr, its crawl subprocesses' included


def write_inputs(folder: Path, origin: str) -> tuple[Path, Path]:
    """A timetable firing qhzgh every 3 s, and a seeds folder whose qhzgh is the replica."""
    timetable = folder / "timetable.toml"
    timetable.write_text('[crawl]\nqhzgh = "*/3 * * * * *"\n', encoding="utf-8")
    # The scheduled subprocess crawls the seed's own URLs: point the seed at the replica.
    seeds = folder / "seeds"
    seeds.mkdir()
    shipped = SHIPPED_QHZGH.read_text(encoding="utf-8")
    seed = shipped.replace('"http://127.0.0.1:8601/"', f'"{origin}/"')
    seed = seed.replace("download_delay = 0.05", f"download_delay = {CRAWL_DELAY_S}")
    assert f'"{origin}/"' in seed and f"= {CRAWL_DELAY_S}" in seed, "seeds/qhzgh.toml changed"
    (seeds / "qhzgh.toml").write_text(seed, encoding="utf-8")
    return timetable, seeds


def run_scheduler(database_url: str, folder: Path) -> SchedulerRun:
    log_path = folder / "schedule.log"
    engine = make_engine(database_url)
    try:
        with ReplicaServer(sites=["qhzgh"]) as replica, log_path.open("wb") as log:
            timetable, seeds = write_inputs(folder, replica.origins["qhzgh"])
            proc = subprocess.Popen(
                gonghui_argv(
                    "schedule",
                    "--timetable",
                    str(timetable),
                    database_url=database_url,
                    warc_dir=folder / "warc",
                    seeds_dir=seeds,
                ),
                cwd=folder,
                env=clean_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                deadline = time.monotonic() + RUNS_TIMEOUT_S
                runs: list[Run] = []
                while time.monotonic() < deadline and proc.poll() is None:
                    time.sleep(0.25)
                    runs = qhzgh_runs(engine)
                    if len(runs) >= 2 and runs[0].status == "finished":
                        break
                text = log_path.read_text(errors="replace")
                assert len(runs) >= 2, f"not two runs within {RUNS_TIMEOUT_S} s:\n{text}"
                proc.send_signal(signal.SIGTERM)
                sent = time.monotonic()
                try:
                    code: int | None = proc.wait(timeout=EXIT_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    code = None
                waited = time.monotonic() - sent
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        return SchedulerRun(qhzgh_runs(engine), code, waited, log_path.read_text(errors="replace"))
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def scheduled(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> SchedulerRun:
    """One scheduler session on a fresh database of the backend."""
    return run_scheduler(module_database_url, tmp_path_factory.mktemp("schedule"))


def test_scheduler_exits_cleanly_soon_after_sigterm(scheduled: SchedulerRun):
    assert scheduled.exit_code == 0, scheduled.log[-3000:]
    assert scheduled.exit_seconds < EXIT_TIMEOUT_S
    assert "Traceback" not in scheduled.log, scheduled.log[-3000:]


def test_scheduled_crawl_archives_articles_with_the_schedule_trigger(scheduled: SchedulerRun):
    first = scheduled.runs[0]
    assert (first.trigger, first.status) == ("schedule", "finished")
    assert first.articles_archived > 0 and first.new_versions > 0
    assert {r.trigger for r in scheduled.runs} == {"schedule"}


def test_runs_of_a_site_never_overlap_and_a_busy_firing_is_skipped(scheduled: SchedulerRun):
    runs = scheduled.runs
    for earlier, later in itertools.pairwise(runs):
        assert earlier.finished_at is not None, f"run {earlier.id} never finished"
        assert later.started_at >= earlier.finished_at, (earlier.id, later.id)
    assert [r.id for r in runs if r.status == "running"] == [], "a run was left running"
    assert "maximum number of running instances reached" in scheduled.log


def test_a_crawl_stopped_by_sigterm_is_not_recorded_as_finished(scheduled: SchedulerRun):
    exits = [int(c) for c in re.findall(r"crawl qhzgh: exit (-?\d+)", scheduled.log)]
    assert len(exits) == len(scheduled.runs), scheduled.log[-3000:]
    assert exits[-1] != 0, "the last crawl was meant to be stopped mid-crawl"
    statuses = [r.status for r in scheduled.runs]
    assert statuses == ["finished" if code == 0 else "failed" for code in exits]


def test_schedule_check_prints_the_next_run_of_every_shipped_site(tmp_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "schedule", "--check"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    shipped = tomllib.loads(SHIPPED_TIMETABLE.read_text(encoding="utf-8"))["crawl"]
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert set(lines) == set(shipped)
    for site_id, expression in shipped.items():
        assert expression in lines[site_id]
        assert re.search(r" next 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d CST$", lines[site_id])
    assert not list(tmp_path.iterdir()), "--check must not create a database or WARC folder"
