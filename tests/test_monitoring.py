"""Monitoring over the replica's nights: normal days raise nothing; the template-change night
raises exactly the expected findings (and none on the unchanged sites), `gonghui health` says so
with its exit code and JSON, a local webhook gets one digest naming them, and the findings close
when the sites recover. The real spider in `gonghui crawl` subprocesses, SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Run
from archive.models_monitor import Finding, RunCoverage
from crawler.cli.main import cli
from crawler.replica.incident import EXPECTED_FINDINGS
from crawler.replica.server import ReplicaServer
from tests.test_crawl import gonghui_argv

pytestmark = pytest.mark.slow

# The template-change night comes on top of day 1; day 2 is the recovery. (Every normal day
# raising nothing, on both backends, is checked by tests/test_days.py, which crawls them all.)
INCIDENT_DAY = 1


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class Night:
    findings: list[tuple[str, str, bool]]  # (site, rule, closed) of every finding so far
    coverage_runs: int  # coverage rows after the night
    runs: int


@dataclass
class Story:
    nights: dict[str, Night] = field(default_factory=dict)
    health: dict[str, Result] = field(default_factory=dict)
    digests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    prometheus: str = ""
    coverage_table: str = ""


def _night(database_url: str) -> Night:
    engine = make_engine(database_url)
    with Session(engine) as session:
        findings = [
            (f.site_id, f.rule, f.closed_at is not None)
            for f in session.scalars(select(Finding).order_by(Finding.id))
        ]
        night = Night(
            findings,
            len(session.scalars(select(RunCoverage)).all()),
            len(session.scalars(select(Run)).all()),
        )
    engine.dispose()
    return night


@pytest.fixture(scope="module")
def story(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Story]:
    url, tmp = module_database_url, tmp_path_factory.mktemp("monitoring")
    hook = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    hook.received = []  # type: ignore[attr-defined]
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    env = {"GONGHUI_ALERT_URLS": f"json://127.0.0.1:{hook.server_port}/hook"}

    def crawl(*args: str) -> subprocess.CompletedProcess[str]:
        argv = gonghui_argv("crawl", "--all", *args, database_url=url, warc_dir=tmp / "warc")
        return subprocess.run(argv, capture_output=True, text=True, timeout=300)

    def read(*args: str) -> Result:  # reading commands in-process: no interpreter to start
        return CliRunner().invoke(cli, ["--database", url, *args], env=env)

    story = Story()
    prom = tmp / "gonghui.prom"
    try:
        with ReplicaServer() as replica:
            origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
            nights = [("0", 0, False), ("incident", INCIDENT_DAY, True), ("recovery", 2, False)]
            for name, day, incident in nights:
                replica.set_day(day, incident=incident)
                done = crawl(*origins)
                # The down site fails the night (exit 1); every other night is clean.
                assert done.returncode == (1 if incident else 0), done.stderr[-3000:]
                story.nights[name] = _night(url)
                if name in ("incident", "recovery"):
                    story.health[name] = read(
                        "health", "--json", "--notify", "--prometheus", str(prom)
                    )
                    story.digests[name] = list(hook.received)  # type: ignore[attr-defined]
                if name == "incident":
                    story.prometheus = prom.read_text(encoding="utf-8")
            story.coverage_table = read("runs", "--coverage", "--limit", "5").output
        yield story
    finally:
        hook.shutdown()
        hook.server_close()


def test_a_normal_night_raises_no_finding_and_every_run_has_its_coverage(story):
    night = story.nights["0"]
    assert night.findings == []
    assert night.coverage_runs == night.runs == 5


def test_the_template_change_night_raises_exactly_the_expected_findings(story):
    night = story.nights["incident"]
    assert {(site, rule) for site, rule, _ in night.findings} == EXPECTED_FINDINGS
    assert len(night.findings) == len(EXPECTED_FINDINGS)  # each raised once
    assert not {site for site, _, _ in night.findings} & {"bcrb", "tibet3"}


def test_health_exits_critical_and_its_json_names_the_findings(story):
    done = story.health["incident"]
    assert done.exit_code == 2, done.output
    doc = json.loads(done.stdout)
    assert doc["state"] == "critical" and doc["digest_sent"] is True
    states = {s["site"]: s["state"] for s in doc["sites"]}
    assert states == {
        "qhzgh": "critical",
        "xazgh": "critical",
        "xnzgh": "warning",
        "bcrb": "ok",
        "tibet3": "ok",
    }
    xnzgh = next(s for s in doc["sites"] if s["site"] == "xnzgh")
    assert xnzgh["coverage"]["source_share"] == 0 and xnzgh["coverage"]["extracted"] >= 5
    messages = [f["message"] for s in doc["sites"] for f in s["findings"]]
    assert any(m.startswith("xnzgh: no 来源 on ") and "was 100%" in m for m in messages)
    assert 'gonghui_health_state{site="qhzgh"} 2.0' in story.prometheus
    assert 'gonghui_last_run_ok{site="xazgh"} 0.0' in story.prometheus
    assert 'gonghui_last_run_field_share{field="source",site="xnzgh"} 0.0' in story.prometheus


def test_the_webhook_gets_one_digest_naming_every_finding(story):
    (digest,) = story.digests["incident"]
    assert digest["title"].startswith("Gonghui Archive: 4 open findings on 3 sites (4 new")
    lines = digest["message"].splitlines()
    assert len(lines) == 4 and all(line.startswith("NEW ") for line in lines)
    for site, rule in EXPECTED_FINDINGS:
        assert any(f"{site}: " in line and f"rule {rule})" in line for line in lines), rule
    assert "bcrb" not in digest["message"] and "tibet3" not in digest["message"]


def test_findings_close_when_the_sites_recover_and_nothing_new_is_raised(story):
    night = story.nights["recovery"]
    assert {(site, rule) for site, rule, _ in night.findings} == EXPECTED_FINDINGS
    assert all(closed for _, _, closed in night.findings)
    done = story.health["recovery"]
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["state"] == "ok"
    second = story.digests["recovery"][-1]  # the recovery digest: one more message
    assert len(story.digests["recovery"]) == 2
    assert second["title"] == "Gonghui Archive: all sites recovered"
    assert second["message"].count("\n  ") == len(EXPECTED_FINDINGS)


def test_runs_coverage_shows_each_runs_field_shares(story):
    table = story.coverage_table
    assert "来源" in table and "median body" in table
    assert all(site in table for site in ("bcrb", "qhzgh", "tibet3", "xazgh", "xnzgh"))
