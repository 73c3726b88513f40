"""Crawl politeness as the sites see it: robots.txt Disallow and Crawl-delay obeyed, 429 and 503
retried after their Retry-After, a site that keeps failing stopped with a reason while the others
crawl on, and no request leaving a seed's allowed hosts. Three small sites of our own on
127.0.0.1 are crawled by one real `gonghui crawl` subprocess; each logs when every request
arrived. The Retry-After parser and the retry decision are checked without a network."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import format_datetime, formatdate
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import ArticleVersion, Page, Run
from crawler import settings as project_settings
from crawler.middlewares import (
    RetryAfterMiddleware,
    backoff_delay,
    crawl_delay_floor,
    parse_retry_after,
)
from tests.hostile_server import (
    Hit,
    HostileServer,
    Reply,
    Route,
    city_article,
    first_then,
    list_page,
    text,
    write_seed,
)
from tests.test_crawl import gonghui_argv

ROBOTS_A = "User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n"
MAX_ERRORS_C = 3
PAGES_C = 20


# -- the sites ----------------------------------------------------------------------------------


def site_a() -> dict[str, Route]:
    """Disallows /private/ and asks one second between requests."""
    articles = ("/news/a1.html", "/news/a2.html", "/private/a3.html")
    return {
        "/robots.txt": text(200, ROBOTS_A),
        "/list/a.html": list_page(articles),
        **{path: city_article("甲" + path[-6]) for path in articles},
    }


def site_b(elsewhere: str) -> dict[str, Route]:
    """Rate-limits two articles once (429 in seconds, 503 as an HTTP date) and redirects two
    list pages to another host: one at once, one after a 503 (its retry is dont_filter)."""

    def busy_until_in_two_seconds(hit: Hit) -> Reply:
        return text(503, "busy", Retry_After=formatdate(time.time() + 2, usegmt=True))

    articles = ("/news/b1.html", "/news/b2.html", "/news/b3.html")
    return {
        "/robots.txt": text(200, "User-agent: *\nDisallow: /admin/\n"),
        "/list/b.html": list_page(articles),
        "/list/away.html": text(302, Location=elsewhere + "/list/e1.html"),
        "/list/flaky.html": first_then(
            text(503, "busy", Retry_After="1"), text(302, Location=elsewhere + "/list/e2.html")
        ),
        "/news/b1.html": first_then(text(429, "slow down", Retry_After="1"), city_article("乙1")),
        "/news/b2.html": first_then(busy_until_in_two_seconds, city_article("乙2")),
        "/news/b3.html": city_article("乙3"),
    }


SITE_C = {"*": text(500, "internal error")}
SITE_ELSEWHERE = {"*": list_page(["/news/e1.html"])}


# -- one crawl of the three sites ---------------------------------------------------------------


@dataclass
class Crawl:
    result: subprocess.CompletedProcess[str]
    a: HostileServer
    b: HostileServer
    c: HostileServer
    elsewhere: HostileServer
    database_url: str

    def summary_row(self, site_id: str) -> str:
        rows = [line for line in self.result.stdout.splitlines() if f" {site_id} " in line]
        assert rows, self.result.stdout
        return rows[0]


def politeness_seed(
    folder: Path, site_id: str, name: str, origin: str, starts: list[str], **limits
):
    """A seed whose lists are /list/*.html, articles /news/ and /private/, 0.05 s apart."""
    write_seed(
        folder,
        site_id,
        origin,
        name=name,
        start=starts,
        lists=[r"/list/\w+\.html$"],
        articles=[r"/(news|private)/\w+\.html$"],
        politeness={"download_delay": 0.05, **limits},
    )


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawl]:
    tmp = tmp_path_factory.mktemp("politeness")
    seeds = tmp / "seeds"
    with (
        HostileServer(SITE_ELSEWHERE) as elsewhere,
        HostileServer(site_a()) as a,
        HostileServer(site_b(elsewhere.origin)) as b,
        HostileServer(SITE_C) as c,
    ):
        politeness_seed(seeds, "sitea", "甲市总工会", a.origin, ["/list/a.html"])
        politeness_seed(
            seeds,
            "siteb",
            "乙市总工会",
            b.origin,
            ["/list/b.html", "/list/away.html", "/list/flaky.html"],
        )
        starts_c = [f"/list/c{i}.html" for i in range(PAGES_C)]
        politeness_seed(seeds, "sitec", "丙市总工会", c.origin, starts_c, max_errors=MAX_ERRORS_C)
        database_url = f"sqlite:///{tmp / 'archive.sqlite3'}"
        result = subprocess.run(
            gonghui_argv(
                "crawl", "sitea", "siteb", "sitec", database_url=database_url, warc_dir=tmp / "warc"
            ),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "GONGHUI_SEEDS_DIR": str(seeds)},
        )
        yield Crawl(result, a, b, c, elsewhere, database_url)


def archived_titles(database_url: str) -> dict[str, str]:
    """Page URL path -> title of its article version."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Page.url, ArticleVersion.title).join(ArticleVersion)).all()
    engine.dispose()
    return {"/" + url.split("/", 3)[3]: title for url, title in rows}


def run_drops(database_url: str) -> dict[str, dict]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        runs = session.scalars(select(Run)).all()
        drops = {r.site_id: dict(r.drops or {}) for r in runs}
    engine.dispose()
    return drops


pytestmark = pytest.mark.slow


def test_robots_txt_disallowed_article_is_never_requested_and_counted(crawl):
    assert crawl.a.of("/robots.txt"), "robots.txt was not read"
    assert not crawl.a.of("/private/a3.html")
    assert "robots_disallowed 1" in crawl.summary_row("sitea")
    assert run_drops(crawl.database_url)["sitea"].get("robots_disallowed") == 1


def test_crawl_delay_spaces_requests_to_the_site_a_second_apart(crawl):
    times = sorted(h.at for h in crawl.a.log)
    assert len(times) >= 4  # robots.txt, the list, two articles
    gaps = [later - earlier for earlier, later in pairwise(times)]
    # The seed asks 0.05 s; robots.txt asks 1 s, and AutoThrottle must not go below it.
    assert min(gaps) >= 0.95, gaps


def test_429_and_503_are_retried_after_their_retry_after_and_archived(crawl):
    for path, status in (("/news/b1.html", 429), ("/news/b2.html", 503)):
        hits = crawl.b.of(path)
        assert [h.status for h in hits] == [status, 200], path
        assert hits[1].at - hits[0].at >= 0.98, (path, hits[1].at - hits[0].at)
    titles = archived_titles(crawl.database_url)
    assert titles["/news/b1.html"] == "乙1市总工会举办职工职业技能大赛"
    assert titles["/news/b2.html"] == "乙2市总工会举办职工职业技能大赛"


def test_failing_site_is_stopped_with_its_reason_and_the_others_are_archived(crawl):
    out = crawl.result.stdout
    assert crawl.result.returncode != 0
    assert "crawl did not finish for: sitec" in crawl.result.stderr
    reason = f"stopped after {MAX_ERRORS_C} consecutive failed requests (last: http_500)"
    assert f"sitec: {reason}" in out
    assert "too_many_errors" in crawl.summary_row("sitec")
    # robots.txt and two pages, each tried three times (RETRY_TIMES 2), then nothing more.
    assert len(crawl.c.log) <= (MAX_ERRORS_C + 1) * 3 < PAGES_C, len(crawl.c.log)
    assert "finished" in crawl.summary_row("sitea") and "finished" in crawl.summary_row("siteb")
    titles = archived_titles(crawl.database_url)
    expected = {f"/news/{k}.html" for k in ("a1", "a2", "b1", "b2", "b3")}
    assert set(titles) == expected, titles


def test_redirects_to_another_host_are_not_followed(crawl):
    assert [h.status for h in crawl.b.of("/list/away.html")] == [302]
    # Retried after a 503, the request is dont_filter, which Scrapy's own filter waves through.
    assert [h.status for h in crawl.b.of("/list/flaky.html")] == [503, 302]
    assert crawl.elsewhere.log == [], crawl.elsewhere.log


# -- Retry-After without a network -----------------------------------------------------------

NOW = dt.datetime(2024, 5, 1, 8, 0, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (b" 3 ", 3.0),
        ("0", 0.0),
        (format_datetime(NOW + dt.timedelta(seconds=90), usegmt=True), 90.0),  # HTTP-date
        ("Wed, 01 May 2024 08:00:30 -0000", 30.0),
        (format_datetime(NOW - dt.timedelta(hours=1), usegmt=True), 0.0),  # already past
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
        ("Wed, 99 Foo 2024 25:00:00 GMT", None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates_and_refuses_garbage(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


def test_backoff_doubles_from_the_base_and_stops_at_the_cap():
    assert [backoff_delay(n, 2.0, 60.0) for n in range(7)] == [2, 4, 8, 16, 32, 60, 60]
    assert backoff_delay(10_000, 2.0, 60.0) == 60.0


def test_crawl_delay_is_the_larger_of_the_two_and_capped():
    assert crawl_delay_floor(0.05, 1.0, 60.0) == (1.0, False)
    assert crawl_delay_floor(2.0, 1.0, 60.0) == (2.0, False)
    assert crawl_delay_floor(2.0, 86400.0, 60.0) == (60.0, True)


def test_seed_politeness_limits_reach_the_crawl_settings(tmp_path):
    from crawler.runner import crawl_settings
    from crawler.seeds import load_seed_file

    politeness_seed(
        tmp_path,
        "sited",
        "丁市总工会",
        "http://127.0.0.1:1",
        ["/list/d.html"],
        max_errors=5,
        max_crawl_delay=10,
        max_retry_after=30,
    )
    seed = load_seed_file(tmp_path / "sited.toml")
    settings = crawl_settings(seed, database_url="sqlite://", warc_dir=tmp_path, user_agent="UA")
    assert settings.getint("GONGHUI_MAX_ERRORS") == 5
    assert settings.getfloat("GONGHUI_MAX_CRAWL_DELAY") == 10.0
    assert settings.getfloat("GONGHUI_MAX_RETRY_AFTER") == 30.0
    assert settings.getint("CONCURRENT_REQUESTS") == 1  # nothing buffered past a stop


def retry_middleware(max_retry_after: float = 300.0) -> tuple[RetryAfterMiddleware, object]:
    """The middleware on a crawler with a stand-in downloader holding one slot."""
    from scrapy import Spider
    from scrapy.core.downloader import Downloader, Slot
    from scrapy.utils.test import get_crawler

    settings = {k: v for k, v in vars(project_settings).items() if k.isupper()}
    settings["GONGHUI_MAX_RETRY_AFTER"] = max_retry_after
    crawler = get_crawler(Spider, settings_dict=settings)
    crawler.spider = Spider.from_crawler(crawler, name="x")
    slot = Slot(1, 0.05, 0.0)
    crawler.engine = SimpleNamespace(  # type: ignore[assignment]
        downloader=SimpleNamespace(slots={"h": slot}, DOWNLOAD_SLOT=Downloader.DOWNLOAD_SLOT)
    )
    return RetryAfterMiddleware.from_crawler(crawler), slot


def answer(status: int, retry_after: str | None = None):
    from scrapy import Request
    from scrapy.http import Response

    request = Request("http://127.0.0.1:1/news/1.html", meta={"download_slot": "h"})
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return request, Response(request.url, status=status, headers=headers, request=request)


def test_retry_after_holds_the_site_and_returns_a_retry():
    mw, slot = retry_middleware()
    request, response = answer(429, "7")
    before = time.monotonic()
    retry = mw.process_response(request, response)
    assert retry is not response and retry.meta["retry_times"] == 1
    assert slot.lastseen >= before + 7  # the site is sent nothing for 7 s
    assert mw.crawler.stats.get_value("retry/count") == 1


def test_without_retry_after_the_wait_is_the_backoff():
    mw, slot = retry_middleware()
    request, response = answer(503)
    before = time.monotonic()
    mw.process_response(request, response)
    assert before + 2.0 <= slot.lastseen <= time.monotonic() + 2.0


def test_a_retry_after_past_the_cap_gives_the_request_up_counted():
    mw, slot = retry_middleware(max_retry_after=300)
    request, response = answer(429, "3600")
    assert mw.process_response(request, response) is response  # to the errback: http_429
    assert mw.crawler.stats.get_value("gonghui/retry_after_too_long") == 1
    assert slot.lastseen == 0 and not mw.crawler.stats.get_value("retry/count")


def test_other_statuses_pass_through_untouched():
    mw, _ = retry_middleware()
    for status in (200, 404, 500):
        request, response = answer(status, "1")
        assert mw.process_response(request, response) is response
