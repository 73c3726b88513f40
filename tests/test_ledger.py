"""The run ledger at the store level: a site's lease keeps a second crawl out, an expired or
orphaned lease is taken over, dead runs are closed and carried on, a slot is crawled once.
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import sys

import pytest
from sqlalchemy import insert, select, update

from archive import ledger
from archive.models import Run, SiteLease
from archive.records import RunCounts
from archive.store import Archive

OTHER_HOST = "archive-2.example:4242:deadbeef"  # a crawl on another machine


@pytest.fixture
def site(archive: Archive) -> str:
    archive.ensure_site("qhzgh", "青海省总工会", "http://www.qhzgh.cn/")
    return "qhzgh"


def hold(archive: Archive, site: str, owner: str, expires_in: float) -> None:
    """Make ``owner`` hold the site's lease (as another process would)."""
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=expires_in)
    with archive.engine.begin() as conn:
        conn.execute(insert(SiteLease).values(site_id=site, owner=owner, expires_at=expires))


def test_a_live_lease_of_another_process_keeps_a_crawl_out(archive, site):
    hold(archive, site, OTHER_HOST, expires_in=60)
    with pytest.raises(ledger.SiteBusy, match=r"qhzgh is being crawled .*archive-2\.example"):
        archive.start_run(site)
    with archive.engine.connect() as conn:
        assert conn.scalar(select(Run.id)) is None  # no run row was left behind


def test_an_expired_lease_is_taken_over(archive, site):
    hold(archive, site, OTHER_HOST, expires_in=-1)
    run_id = archive.start_run(site)
    with archive.engine.connect() as conn:
        lease = conn.execute(select(SiteLease)).one()
    assert (lease.owner, lease.run_id) == (ledger.owner(), run_id)


def test_the_lease_of_a_dead_process_on_this_host_is_taken_at_once(archive, site):
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    hold(archive, site, f"{socket.gethostname()}:{gone.stdout.strip()}:0badf00d", expires_in=600)
    assert archive.start_run(site)


def test_finishing_releases_the_lease_and_records_the_stop_reason(archive, site):
    run_id = archive.start_run(site)
    archive.finish_run(run_id, "failed", RunCounts(), "stopped after 3 consecutive failed requests")
    with archive.engine.connect() as conn:
        assert conn.scalar(select(SiteLease.site_id)) is None
        assert conn.scalar(select(Run.stop_reason)) == "stopped after 3 consecutive failed requests"
    hold(archive, site, OTHER_HOST, expires_in=60)  # free: another process may take it


def test_a_dead_run_is_closed_and_carried_on_by_the_next(archive, site):
    dead = archive.start_run(site)  # never finished: the process was killed
    started = archive.open_run(site)
    assert started.interrupted == (dead,) and started.resumed_from == dead
    with archive.engine.connect() as conn:
        status, reason = conn.execute(
            select(Run.status, Run.stop_reason).where(Run.id == dead)
        ).one()
    assert status == "failed" and reason.startswith("interrupted")


def test_a_dead_run_older_than_a_day_is_closed_but_not_carried_on(archive, site):
    dead = archive.start_run(site)
    with archive.engine.begin() as conn:
        old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        conn.execute(update(Run).where(Run.id == dead).values(started_at=old))
    fresh = archive.open_run(site)
    assert fresh.interrupted == (dead,) and fresh.resumed_from is None
    archive.finish_run(fresh.run_id, "finished", RunCounts())
    dead = archive.start_run(site)
    with archive.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == dead).values(started_at=old))
    assert archive.open_run(site, resume=True).resumed_from == dead  # asked for: carried on


def test_a_scheduled_slot_is_crawled_once(archive, site):
    slot = dt.datetime(2026, 11, 24, 2, 10, tzinfo=dt.UTC)
    run_id = archive.start_run(site, "schedule", scheduled_for=slot)
    archive.finish_run(run_id, "finished", RunCounts())
    with pytest.raises(ledger.SiteBusy, match=r"slot 2026-11-24 02:10:00 UTC was already crawled"):
        archive.start_run(site, "schedule", scheduled_for=slot)
    later = archive.start_run(site, "schedule", scheduled_for=slot + dt.timedelta(days=1))
    assert later != run_id


def test_crawl_of_a_site_another_process_holds_is_refused_in_one_line(
    archive, site, database_url, tmp_path
):
    from tests.test_crawl import gonghui

    hold(archive, site, OTHER_HOST, expires_in=60)
    done = gonghui("crawl", site, database_url=database_url, warc_dir=tmp_path / "warc")
    assert done.returncode == ledger.SiteBusy.exit_code, done.stderr
    assert "Traceback" not in done.stderr
    [error] = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert error == "error: not crawled, another crawl holds them: qhzgh"
    assert "skipped: site qhzgh is being crawled by a crawl (archive-2.example" in done.stderr
    with archive.engine.connect() as conn:
        assert conn.scalar(select(Run.id)) is None
