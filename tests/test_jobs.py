"""Crawl workers on procrastinate (issue 18), as a team would run them, on the local PostgreSQL.

One scenario for the module (a fresh PostgreSQL database): every replica site is enqueued
twice (the second refused: one is waiting) plus an e-paper backfill, three `gonghui worker`
processes take the jobs, and the worker crawling the slowed e-paper is SIGKILLed mid-crawl.
The archive is compared with a single `gonghui crawl --all` process's (same seeds).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Run, SiteLease
from crawler.cli.main import cli as main_cli
from crawler.replica.server import ReplicaServer
from jobs.defer import host_lock
from tests.fixtures_db import DEFAULT_PG_ADMIN_URL, _PostgresServer
from tests.test_crawl import gonghui_argv
from tests.test_resume import versions

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
VICTIM = "bcrb"  # the e-paper: its crawl's worker is killed, and it has a backfill too
VICTIM_DELAY = 0.15  # slower than the shipped 0.05 s, so its crawl is still running when killed
BACKFILL = ("2021-04-20", "2021-04-30")
WORKERS = 3
# Short so the test is quick: a worker silent for 3 s is dead, and its job goes back.
# Pages stored one by one: with the default batches the victim's first commit can come late
# enough on a loaded machine that its crawl is nearly done when it shows 5 versions.
WORKER_ENV = {
    "GONGHUI_WORKER_HEARTBEAT": "0.5",
    "GONGHUI_WORKER_STALLED_AFTER": "3",
    "GONGHUI_BATCH_PAGES": "1",
}


def served_seeds(folder: Path, replica: ReplicaServer, *, slowed: bool = True) -> Path:
    """The shipped seeds with each site's base_url at its replica origin (its own port, so
    its own host key), the victim slowed (unless not ``slowed``)."""
    folder.mkdir()
    for seed in SEEDS.glob("*.toml"):
        body = re.sub(
            r'^base_url = ".*"$',
            f'base_url = "{replica.origins[seed.stem]}/"',
            seed.read_text(encoding="utf-8"),
            flags=re.M,
        )
        if seed.stem == VICTIM and slowed:
            body = re.sub(r"download_delay = [0-9.]+", f"download_delay = {VICTIM_DELAY}", body)
        (folder / seed.name).write_text(body, encoding="utf-8")
    return folder


def run_ok(argv: list[str], **kwargs: Any) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False, **kwargs)
    assert done.returncode == 0, (argv[3:], done.stdout[-1500:], done.stderr[-1500:])
    assert "Traceback" not in done.stderr
    return done.stdout


def enqueue(cli: dict[str, Any], *args: str) -> str:
    """`gonghui enqueue ARGS`, in this process (cheaper than a subprocess; same code path), on
    a thread of its own: the command runs its own event loop, and this worker's thread may
    have one running already (pytest-playwright's, when the browser tests ran here first)."""
    argv = gonghui_argv("enqueue", *args, **cli)[3:]
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(CliRunner().invoke, main_cli, argv).result()
    assert result.exit_code == 0, (args, result.output, result.exception)
    return result.stdout


def ppid(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rpartition(")")[2].split()[1])


@dataclasses.dataclass
class Scenario:
    reference: dict[str, list[tuple[int, str, str]]]
    archive: dict[str, list[tuple[int, str, str]]]
    enqueue_outputs: list[str]
    runs: list[Run]
    jobs: list[dict[str, Any]]
    hosts: dict[str, str]  # site -> host lock
    killed_run: int
    killed_job: dict[str, Any]
    archived_at_kill: set[str]
    requests_after_kill: set[str]  # paths the victim's replica served after the kill
    warc_files: dict[str, int]  # capture's warc_filename -> run id
    warc_dir: Path
    logs: str


def _query(url: str, sql: str, **params: Any) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _kill_victims_worker(url: str, workers: list[subprocess.Popen[bytes]]) -> tuple[int, int]:
    """Once the victim's crawl has archived 5 versions, SIGKILL the worker running it (the
    parent of the process holding the site's lease). Returns (run id, job id) killed."""
    deadline = time.monotonic() + 150
    while time.monotonic() < deadline:
        try:
            count = _query(
                url,
                "SELECT count(*) AS n FROM article_version v JOIN page p ON p.id = v.page_id "
                "WHERE p.site_id = :site",
                site=VICTIM,
            )[0]["n"]
            lease = _query(url, "SELECT owner, run_id FROM site_lease WHERE site_id = :s", s=VICTIM)
        except Exception:  # the archive's tables are not there yet
            count, lease = 0, []
        if count >= 5 and lease and lease[0]["run_id"]:
            crawl_pid = int(lease[0]["owner"].split(":")[1])
            worker_pid = ppid(crawl_pid)
            assert worker_pid in {w.pid for w in workers}, "the crawl is not a worker's child"
            job = _query(
                url,
                "SELECT id FROM procrastinate_jobs WHERE status = 'doing' AND lock = :lock",
                lock=host_lock(_victim_origin(url)),
            )
            os.kill(worker_pid, signal.SIGKILL)
            return lease[0]["run_id"], job[0]["id"]
        time.sleep(0.1)
    raise AssertionError("the victim's crawl never reached 5 versions")


def _victim_origin(url: str) -> str:
    return _query(url, "SELECT base_url FROM site WHERE id = :s", s=VICTIM)[0]["base_url"]


def _wait_for_resumed(url: str, killed_run: int, timeout: float = 150) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = _query(
            url,
            "SELECT status FROM run WHERE resumed_from = :r AND status <> 'running'",
            r=killed_run,
        )
        if done:
            return
        time.sleep(0.1)
    raise AssertionError(f"run {killed_run} was not carried on in {timeout} s")


def _wait_for_jobs(url: str, expected: int, timeout: float = 180) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = _query(url, "SELECT *, status::text AS state FROM procrastinate_jobs ORDER BY id")
        if len(jobs) == expected and all(j["state"] in ("succeeded", "failed") for j in jobs):
            return jobs
        time.sleep(0.3)
    raise AssertionError(f"jobs not done in {timeout} s: {[(j['id'], j['state']) for j in jobs]}")


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scenario]:
    server = _PostgresServer(os.environ.get("GONGHUI_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL)
    url = server.ensure()
    tmp = tmp_path_factory.mktemp("jobs")
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with ReplicaServer() as replica:
            seeds = served_seeds(tmp / "seeds", replica)
            hosts = {s: host_lock(o) for s, o in replica.origins.items()}
            fill = ["--from", BACKFILL[0], "--to", BACKFILL[1]]

            # The single-process reference: every site in one crawl. (The backfill's editions
            # are those the front page links, so it adds no version: the workers' archive must
            # equal this one with it.) Nobody kills it: the victim need not be slowed, the
            # seeds differ in that download_delay only.
            ref = dict(database_url=f"sqlite:///{tmp / 'ref.sqlite3'}", warc_dir=tmp / "warc-ref")
            ref_seeds = served_seeds(tmp / "ref-seeds", replica, slowed=False)
            run_ok(gonghui_argv("crawl", "--all", **ref, seeds_dir=ref_seeds))

            cli = dict(database_url=url, warc_dir=tmp / "warc", seeds_dir=seeds)
            outputs = [enqueue(cli, "--all"), enqueue(cli, "--all"), enqueue(cli, VICTIM, *fill)]
            env = {**os.environ, **WORKER_ENV}
            logs = [tmp / f"worker{i}.log" for i in range(WORKERS)]
            for log in logs:
                with log.open("wb") as out:
                    workers.append(
                        subprocess.Popen(
                            gonghui_argv("worker", **cli),
                            stdout=out,
                            stderr=subprocess.STDOUT,
                            env=env,
                        )
                    )
            killed_run, killed_job = _kill_victims_worker(url, workers)
            mark = len(replica.request_log)
            archived_at_kill = set(
                u for u in versions(url) if u.startswith(replica.origins[VICTIM])
            )
            _wait_for_resumed(url, killed_run)
            # What the retried crawl asked the victim's site for (the backfill, on the same
            # host, starts only after it: the job lock; and takes seconds to start up).
            served_after = {e.path for e in replica.request_log[mark:] if e.site_id == VICTIM}
            jobs = _wait_for_jobs(url, expected=6)
        for w in workers:
            if w.poll() is None:
                w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(timeout=30)
        engine = make_engine(url)
        with Session(engine) as session:
            runs = list(session.scalars(select(Run).order_by(Run.id)))
            warc_files = dict(
                session.execute(text("SELECT DISTINCT warc_filename, run_id FROM capture")).all()
            )
            assert not session.scalars(select(SiteLease)).all()  # every lease released
        engine.dispose()
        yield Scenario(
            reference=versions(ref["database_url"]),
            archive=versions(url),
            enqueue_outputs=outputs,
            runs=runs,
            jobs=jobs,
            hosts=hosts,
            killed_run=killed_run,
            killed_job=next(j for j in jobs if j["id"] == killed_job),
            archived_at_kill=archived_at_kill,
            requests_after_kill=served_after,
            warc_files=warc_files,
            warc_dir=tmp / "warc",
            logs="\n".join(p.read_text(errors="replace") for p in logs),
        )
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()
        server.drop()


def test_each_site_is_queued_once_and_crawled_once_per_job_never_two_on_one_host(
    scenario: Scenario,
) -> None:
    first, second, backfill = scenario.enqueue_outputs
    assert first.count("queued crawl_site job") == 5
    assert second.count("not queued, a crawl_site job for it is already waiting") == 5
    assert "queued backfill job" in backfill

    jobs = scenario.jobs
    assert [j["state"] for j in jobs] == ["succeeded"] * 6, jobs
    assert sorted(j["lock"] for j in jobs) == sorted(
        [*scenario.hosts.values(), scenario.hosts[VICTIM]]
    )

    # One run per job, the killed one apart (carried on by its retry).
    runs = [r for r in scenario.runs if r.id != scenario.killed_run]
    assert all(r.status == "finished" for r in runs), [(r.site_id, r.stop_reason) for r in runs]
    per_site = {s: sorted(r.mode for r in runs if r.site_id == s) for s in scenario.hosts}
    assert per_site == {
        s: (["backfill", "full"] if s == VICTIM else ["full"]) for s in scenario.hosts
    }

    # Never two crawls of one host at once, by the run rows' times.
    for host in set(scenario.hosts.values()):
        on_host = sorted(
            (r for r in scenario.runs if scenario.hosts[r.site_id] == host),
            key=lambda r: r.started_at,
        )
        for before, after in itertools.pairwise(on_host):
            assert before.finished_at is not None and before.finished_at <= after.started_at

    # Each run wrote its own WARC file, named by site and run id, relative to the WARC folder.
    assert len(set(scenario.warc_files.values())) == len(scenario.warc_files)
    for name, run_id in scenario.warc_files.items():
        assert not name.startswith("/") and name.endswith(f"-run{run_id}.warc.gz"), name
        assert (scenario.warc_dir / name).is_file()

    # Every article archived once, and the archive equals the single-process crawl's.
    assert scenario.archive == scenario.reference
    assert all(len(v) == 1 for v in scenario.archive.values())
    assert len(scenario.archive) >= 30


def test_a_killed_workers_crawl_is_retried_by_another_and_carried_on(scenario: Scenario) -> None:
    killed = next(r for r in scenario.runs if r.id == scenario.killed_run)
    assert killed.status == "failed"
    assert killed.stop_reason.startswith("interrupted")
    carried = [r for r in scenario.runs if r.resumed_from == killed.id]
    assert len(carried) == 1 and carried[0].status == "finished"
    assert carried[0].mode == killed.mode

    # procrastinate found the job stalled (its worker silent) and a live worker ran it again.
    assert scenario.killed_job["state"] == "succeeded"
    assert scenario.killed_job["attempts"] == 2
    assert f"job {scenario.killed_job['id']} (gonghui:" in scenario.logs
    assert "stalled: its worker stopped sending heartbeats; queued again" in scenario.logs
    assert f"carrying on run {killed.id}" in scenario.logs

    # What the killed crawl archived was not fetched again, and no version is duplicated.
    assert len(scenario.archived_at_kill) >= 5
    refetched = {
        u
        for u in scenario.archived_at_kill
        if "/" + u.split("/", 3)[3] in scenario.requests_after_kill
    }
    article_refetched = {u for u in refetched if "content_" in u}
    assert not article_refetched, sorted(article_refetched)[:5]
    assert scenario.archive == scenario.reference
    assert "Traceback" not in scenario.logs


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
