"""Fault suite, the site's side: unreachable sites, redirect traps, bombs, over-long URLs.

Each case runs `gonghui crawl` as a user does, against a hostile server on 127.0.0.1, and
asserts what the user sees: the exit code, one `error:` line, no traceback, the table's
status and drops, and the run row. A crawl that reached no page fails and never counts as
the site's full crawl.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import Run
from tests.hostile_server import (
    QUICK,
    HostileServer,
    article,
    claims_size,
    gzip_bomb,
    listing,
    meta_refresh,
    redirect,
    redirect_forever,
    tarpit,
    write_seed,
)
from tests.test_crawl import gonghui_argv

pytestmark = pytest.mark.slow


def crawl(
    tmp_path: Path, origin: str, *, start: str = "/", politeness: dict = QUICK
) -> tuple[subprocess.CompletedProcess[str], list[Run]]:
    """`gonghui crawl hostile` of the site at ``origin``: its output (never a traceback) and the
    archive's runs."""
    seeds = write_seed(tmp_path / "seeds", "hostile", origin, start=start, politeness=politeness)
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    done = subprocess.run(
        gonghui_argv(
            "crawl",
            "hostile",
            database_url=database_url,
            warc_dir=tmp_path / "warc",
            seeds_dir=seeds,
        ),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr[-3000:]
    return done, runs(database_url)


def runs(database_url: str) -> list[Run]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = list(session.scalars(select(Run).order_by(Run.id)))
        session.expunge_all()
    engine.dispose()
    return rows


def error_lines(done: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.strip()]


def test_unreachable_site_fails_in_one_line_and_is_not_a_full_crawl(tmp_path: Path) -> None:
    with HostileServer({}) as gone:
        origin = gone.origin  # a port nobody listens on once the server is closed
    done, [run] = crawl(tmp_path, origin)
    assert done.returncode == 1
    assert error_lines(done) == ["error: crawl did not finish for: hostile (see the table above)"]
    assert "no_page_reached" in done.stdout
    assert "no start page was answered" in done.stdout
    assert run.status == "failed" and "no start page was answered" in (run.stop_reason or "")
    # The next crawl is a full crawl again: a failed run never counts as one.
    with HostileServer({"/": listing("/a/1.html"), "/a/1.html": article(1)}) as site:
        done, runs_now = crawl(tmp_path, site.origin)
    assert done.returncode == 0, done.stdout
    assert runs_now[-1].mode == "full" and runs_now[-1].status == "finished"


def test_start_url_redirecting_forever_fails_with_the_loop_counted(tmp_path: Path) -> None:
    with HostileServer({"/hop": redirect_forever()}) as site:
        done, [run] = crawl(tmp_path, site.origin, start="/hop")
    assert done.returncode == 1
    assert "redirect_loop 1" in done.stdout and "no_page_reached" in done.stdout
    assert run.status == "failed" and run.drops == {"redirect_loop": 1}


def test_start_url_too_long_for_scrapy_fails_with_it_counted(tmp_path: Path) -> None:
    long_path = "/list/" + "x" * 2100
    with HostileServer({}) as site:
        done, [run] = crawl(tmp_path, site.origin, start=long_path)
    assert done.returncode == 1
    assert "url_too_long 1" in done.stdout
    assert run.status == "failed" and run.drops == {"url_too_long": 1}
    assert "dropped before sending: url_too_long" in (run.stop_reason or "")


def test_requests_scrapy_drops_are_counted_under_their_reasons(tmp_path: Path) -> None:
    with HostileServer({}) as elsewhere:
        offsite = elsewhere.url("/list/far")
    routes = {
        "/": listing(
            "/a/1.html", "/a/2.html", "/a/3.html", "/a/4.html", "/list/moved", "/list/refresh"
        ),
        "/a/1.html": article(1),
        "/a/2.html": gzip_bomb(40),  # inflates past DOWNLOAD_MAXSIZE (32 MiB)
        "/a/3.html": claims_size(64 * 1024 * 1024),
        "/a/4.html": article(4),
        "/list/moved": redirect(offsite),  # a list page sent off the allowed hosts
        "/list/refresh": meta_refresh("/list/refresh"),  # refreshes to itself, forever
    }
    with HostileServer(routes) as site:
        done, [run] = crawl(tmp_path, site.origin)
    assert done.returncode == 0, done.stdout + done.stderr
    assert run.status == "finished" and run.articles_archived == 2
    assert run.drops == {
        "decompression_limit": 1,
        "offsite": 1,
        "refresh": 1,
        "too_large": 1,
    }
    for reason in ("decompression_limit 1", "offsite 1", "refresh 1", "too_large 1"):
        assert reason in done.stdout


def test_a_robots_txt_that_never_finishes_costs_one_counted_error(tmp_path: Path) -> None:
    routes = {
        "/robots.txt": tarpit(b"User-agent: *\nDisallow: /nothing\n", 30),
        "/": listing("/a/1.html"),
        "/a/1.html": article(1),
    }
    with HostileServer(routes) as site:
        quick = {"download_delay": 0, "autothrottle": False, "timeout": 1}
        done, [run] = crawl(tmp_path, site.origin, politeness=quick)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stderr == ""
    assert "robots_txt_unreadable 1" in done.stdout
    assert run.status == "finished" and run.articles_archived == 1 and run.errors == 1
