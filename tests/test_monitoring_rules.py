"""Drift rules and findings on hand-made runs (no crawl): a seed's [monitor] thresholds are
obeyed, a field that goes missing on enough articles raises one finding which a recovered run
closes, bad settings and channels are one clear error. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from click.testing import CliRunner
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import alerts
from archive.drift import DriftSettings
from archive.errors import ConfigError
from archive.models_monitor import Finding, RunCoverage
from archive.records import RunCounts
from archive.store import Archive
from crawler.cli.main import cli
from crawler.seeds import Seed
from tests.fixtures_db import make_fetch, make_fields

SITE = "qhzgh"


def _night(
    archive: Archive,
    n: int,
    *,
    status: str = "finished",
    source: bool = True,
    articles: int = 3,
    words: int = 40,
    figures: dict | None = None,
    **monitor,
):
    """One run of the site archiving three fresh articles (with or without 来源); three are
    enough to judge shares with ``min_articles = 3``."""
    run_id = archive.start_run(SITE)
    at = dt.datetime(2026, 12, 1, tzinfo=dt.UTC) + dt.timedelta(days=n)
    for i in range(articles if status == "finished" else 0):
        url = f"http://127.0.0.1:8601/html/gzdt/2026120{n}/{i}.html"
        capture = archive.record_capture(run_id, SITE, make_fetch(url, at=at))
        body = f"第{n}夜第{i}篇。" + "职工" * words
        archive.record_article(
            capture, make_fields(body=body, source="工人日报" if source else None)
        )
    archive.finish_run(
        run_id,
        status,
        RunCounts(),
        None if status == "finished" else "down",
        figures=figures,
        monitor={"min_articles": 3, **monitor},
    )
    return run_id


def _findings(archive: Archive) -> list[tuple[str, bool]]:
    with Session(archive.engine) as session:
        return [
            (f.rule, f.closed_at is None)
            for f in session.scalars(select(Finding).order_by(Finding.id))
        ]


@pytest.fixture
def site(archive: Archive) -> Archive:
    archive.ensure_site(SITE, "青海省总工会", "http://127.0.0.1:8601/")
    return archive


def test_a_missing_field_is_raised_once_kept_while_it_lasts_and_closed_on_recovery(site):
    _night(site, 1)
    _night(site, 2)
    assert _findings(site) == []
    raising = _night(site, 3, source=False)
    _night(site, 4, source=False)
    assert _findings(site) == [("coverage_source", True)]
    recovered = _night(site, 5)
    assert _findings(site) == [("coverage_source", False)]
    with Session(site.engine) as session:
        (finding,) = session.scalars(select(Finding)).all()
        assert (finding.run_id, finding.closed_run_id) == (raising, recovered)
        assert (finding.was, finding.now) == ("100%", "0%")
        assert finding.message.startswith(f"{SITE}: no 来源 on 3 of 3 articles (was 100%)")
        assert session.get(RunCoverage, recovered).with_source == 3


def test_empty_lists_short_bodies_the_fallback_and_zero_articles_each_raise_their_rule(site):
    usual = {"list_pages": 2, "list_links": 10, "fallback": 0}
    _night(site, 1, figures=usual)
    _night(site, 2, figures=usual)
    broken = {"list_pages": 2, "list_links": 0, "fallback": 3}
    _night(site, 3, words=10, figures=broken)  # bodies a third as long, all from the fallback
    assert sorted(_findings(site)) == [
        ("body_length", True),
        ("fallback", True),
        ("list_links", True),
    ]
    _night(site, 4, articles=0, figures=usual)  # lists link again, yet nothing is archived
    assert sorted(_findings(site)) == [
        ("body_length", True),  # 0 articles cannot say the bodies are back
        ("fallback", True),
        ("list_links", False),
        ("zero_articles", True),
    ]


def test_failing_nights_from_the_seed_wait_for_that_many_failed_runs(site):
    _night(site, 1)
    _night(site, 2, status="failed", failing_nights=2)
    assert _findings(site) == []
    _night(site, 3, status="failed", failing_nights=2)
    assert _findings(site) == [("failing", True)]
    _night(site, 4, failing_nights=2)
    assert _findings(site) == [("failing", False)]


def test_unknown_monitor_keys_are_refused_in_the_seed():
    assert DriftSettings.of({"min_articles": 10}).min_articles == 10
    with pytest.raises(ValueError, match="unknown \\[monitor\\] keys \\['min_artciles'\\]"):
        DriftSettings.of({"min_artciles": 10})
    seed = {
        "id": "x",
        "name": "x",
        "base_url": "http://127.0.0.1:1/",
        "start_urls": ["/"],
        "list_patterns": ["/list"],
        "article_patterns": ["/a"],
    }
    assert Seed.model_validate({**seed, "monitor": {"failing_nights": 3}}).monitor == {
        "failing_nights": 3.0
    }
    with pytest.raises(ValidationError, match="min_artciles"):
        Seed.model_validate({**seed, "monitor": {"min_artciles": 3}})


def test_alert_channels_that_cannot_work_are_one_clear_error():
    digest = alerts.Digest("t", "b", [1], [], 1)
    with pytest.raises(ConfigError, match="no alert channel"):
        alerts.send([], None, digest)
    with pytest.raises(ConfigError, match="not an Apprise URL"):
        alerts.send(["nosuchscheme://secret-token/x"], None, digest)


def test_health_on_a_missing_archive_is_one_error_line_exit_3(tmp_path):
    missing = f"sqlite:///{tmp_path / 'nope.sqlite3'}"
    result = CliRunner().invoke(cli, ["--database", missing, "health"])
    assert result.exit_code == 3
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert not (tmp_path / "nope.sqlite3").exists()


def test_the_scheduler_sends_the_morning_digest_to_the_configured_channel(site, database_url):
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from zoneinfo import ZoneInfo

    from apscheduler.schedulers.background import BackgroundScheduler

    from archive.config import Settings
    from schedules.digest import add_digest_job, send_digest

    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hook = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    try:
        url = f"json://127.0.0.1:{hook.server_port}/hook"
        settings = Settings(database_url=database_url, alert_urls=(url,))
        scheduler = BackgroundScheduler()
        assert not add_digest_job(scheduler, Settings(database_url=database_url), ZoneInfo("UTC"))
        assert add_digest_job(scheduler, settings, ZoneInfo("Asia/Shanghai"))
        assert [job.id for job in scheduler.get_jobs()] == ["digest"]
        send_digest(settings)  # nothing open: nothing sent
        _night(site, 1)
        _night(site, 2, status="failed")
        send_digest(settings)
        (digest,) = received
        assert digest["title"] == "Gonghui Archive: 1 open finding on 1 site (1 new, 1 critical)"
        assert digest["message"].startswith(f"NEW [critical] {SITE}: crawl failed: down")
    finally:
        hook.shutdown()
        hook.server_close()


def test_a_digest_no_channel_takes_is_one_error_line_exit_5(site, database_url):
    _night(site, 1)
    _night(site, 2, status="failed")
    env = {"GONGHUI_ALERT_URLS": "json://127.0.0.1:9/nobody-listens"}  # discard port: refused
    result = CliRunner().invoke(cli, ["--database", database_url, "health", "--notify"], env=env)
    assert result.exit_code == 5, result.output
    assert result.output.splitlines()[-1].startswith("error: the digest could not be delivered")
    with Session(site.engine) as session:  # still new: the next digest names it
        assert session.scalars(select(Finding.notified_at)).all() == [None]
