"""Two scheduler processes on one database with the same timetable: each site is crawled once
per slot. The site lease and the (site, slot) unique index decide; SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import re
import signal
import subprocess
import time
import zoneinfo
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Run
from crawler.replica.server import ReplicaServer
from tests.test_crawl import gonghui_argv
from tests.test_schedule import clean_env

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SITES = ("qhzgh", "xnzgh")
TZ = zoneinfo.ZoneInfo("Asia/Shanghai")
LEAD_S = 10  # both schedulers are up (imports take a few seconds) before the slot


def all_runs(database_url: str) -> list[Run]:
    engine = make_engine(database_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            return list(session.scalars(select(Run).order_by(Run.id)))
    except SQLAlchemyError:
        return []
    finally:
        engine.dispose()


def write_inputs(folder: Path, origins: dict[str, str], slot: dt.datetime) -> tuple[Path, Path]:
    """One daily slot a few seconds ahead for both sites; seeds pointing at the replica."""
    cron = f"{slot.second} {slot.minute} {slot.hour} * * *"
    timetable = folder / "timetable.toml"
    timetable.write_text(
        "[crawl]\n" + "".join(f'{site} = "{cron}"\n' for site in SITES), encoding="utf-8"
    )
    seeds = folder / "seeds"
    seeds.mkdir()
    for site in SITES:
        text = (ROOT / "seeds" / f"{site}.toml").read_text(encoding="utf-8")
        text, n = re.subn(r'base_url = "[^"]+"', f'base_url = "{origins[site]}/"', text)
        assert n == 1
        (seeds / f"{site}.toml").write_text(text, encoding="utf-8")
    return timetable, seeds


def test_two_schedulers_on_one_database_crawl_each_site_once(
    database_url: str, tmp_path: Path
) -> None:
    slot = (dt.datetime.now(TZ) + dt.timedelta(seconds=LEAD_S)).replace(microsecond=0)
    with ReplicaServer(sites=SITES) as replica:
        timetable, seeds = write_inputs(tmp_path, replica.origins, slot)
        procs, logs = [], []
        for n in (1, 2):
            log = tmp_path / f"scheduler{n}.log"
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    gonghui_argv(
                        "schedule",
                        "--timetable",
                        str(timetable),
                        database_url=database_url,
                        warc_dir=tmp_path / "warc",
                        seeds_dir=seeds,
                    ),
                    cwd=tmp_path,
                    env=clean_env(),
                    stdout=log.open("wb"),
                    stderr=subprocess.STDOUT,
                )
            )
        try:
            deadline = time.monotonic() + LEAD_S + 60
            while time.monotonic() < deadline:
                time.sleep(0.5)
                runs = all_runs(database_url)
                finished = {r.site_id for r in runs if r.status == "finished"}
                text = "".join(p.read_text(errors="replace") for p in logs)
                # Both schedulers fired for both sites: 4 crawl subprocesses exited.
                if finished == set(SITES) and len(re.findall(r"crawl \w+: exit", text)) == 4:
                    break
        finally:
            for proc in procs:
                proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    runs = all_runs(database_url)
    assert sorted(r.site_id for r in runs) == sorted(SITES), text[-3000:]
    assert all(r.status == "finished" and r.trigger == "schedule" for r in runs), text[-3000:]
    assert {r.scheduled_for.astimezone(dt.UTC) for r in runs} == {slot.astimezone(dt.UTC)}
    assert len(re.findall(r"crawl \w+: exit 0", text)) == 4, text[-3000:]  # a skip is no error
    assert text.count("skipped:") == 2, text[-3000:]
    assert "Traceback" not in text
