"""`gonghui serve` in a real browser (Debian's Chromium through pytest-playwright), over the
replica crawled on day 0 and again on its last day (edits, removals, reposts, the zh-Hant
mirror), on SQLite and PostgreSQL: search, an article's versions and diff, a reprint followed
to its original, the raw capture with its scripts stopped, the sites page's coverage against
the database, the Atom feed, JSON. Screenshots of each page go to a temp folder (printed)."""

from __future__ import annotations

import json
import re
import subprocess
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.bigrams import to_hans
from archive.db import make_engine
from archive.models import ArticleVersion, Capture, Page, ReprintCluster, Run
from crawler.replica.server import ReplicaServer
from crawler.replica.timeline import LAST_DAY
from tests.test_crawl import gonghui, gonghui_argv

pytestmark = pytest.mark.slow


@dataclass
class Served:
    url: str  # http://127.0.0.1:PORT
    database_url: str
    shots: Path


@pytest.fixture(scope="module")
def served(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The replica crawled on day 0 and on its last day, then `gonghui serve --port 0`."""
    tmp = tmp_path_factory.mktemp("web")
    warc = tmp / "warc"
    with ReplicaServer() as replica:
        origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
        for day in (0, LAST_DAY):
            replica.set_day(day)
            done = gonghui(
                "crawl", "--all", *origins, database_url=module_database_url, warc_dir=warc
            )
            assert done.returncode == 0, done.stderr[-3000:]
    argv = gonghui_argv("serve", "--port", "0", database_url=module_database_url, warc_dir=warc)
    server = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        line = server.stderr.readline()
        found = re.search(r"on (http://127\.0\.0\.1:\d+)/", line)
        assert found, line + server.stderr.read()[-3000:]
        shots = tmp / "screenshots"
        shots.mkdir()
        print(f"\nweb screenshots: {shots}")
        yield Served(found.group(1), module_database_url, shots)
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def db(served: Served) -> Iterator[Session]:
    engine = make_engine(served.database_url)
    with Session(engine) as session:
        yield session
    engine.dispose()


def _get(url: str, accept: str = "application/json") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def _current(db: Session) -> dict[int, ArticleVersion]:
    newest = (
        select(ArticleVersion.page_id, func.max(ArticleVersion.version_no).label("no"))
        .group_by(ArticleVersion.page_id)
        .subquery()
    )
    rows = db.scalars(
        select(ArticleVersion).join(
            newest,
            (newest.c.page_id == ArticleVersion.page_id)
            & (newest.c.no == ArticleVersion.version_no),
        )
    )
    return {v.page_id: v for v in rows}


def _searchable(v: ArticleVersion) -> str:
    source = to_hans(v.source) if v.source and v.script == "hant" else v.source or ""
    return "\n".join((v.title_hans or v.title, v.body_hans or v.body, source))


def _search_ids(served: Served, query: str) -> set[int]:
    ids: set[int] = set()
    for number in range(1, 50):
        q = urllib.parse.quote(query)
        _, _, body = _get(f"{served.url}/search.json?q={q}&page={number}")
        result = json.loads(body)["result"]
        ids |= {hit["page_id"] for hit in result["hits"]}
        if number >= -(-result["total"] // 20):
            return ids
    raise AssertionError("more than 49 pages of results")


def test_search_finds_every_article_holding_a_two_character_word(served, db, page):
    expected = {pid for pid, v in _current(db).items() if "工会" in _searchable(v)}
    assert len(expected) > 10
    assert _search_ids(served, "工会") == expected
    page.goto(served.url + "/")
    page.fill("input[name=q]", "工会")
    page.click("button[type=submit]")
    assert page.inner_text("#count").startswith(f"{len(expected)} articles")
    assert page.locator("li.hit mark").first.inner_text() == "工会"
    page.screenshot(path=served.shots / "search.png")


def test_a_zh_hans_query_finds_the_mirrors_zh_hant_copy(served, db, page):
    mirrored = [v for v in _current(db).values() if v.script == "hant" and v.body_hans]
    assert mirrored
    version = min(mirrored, key=lambda v: v.page_id)
    # four characters standing together in the zh-Hans reading, never in the zh-Hant text
    runs = re.findall(r"[\u4e00-\u9fff]{4,}", version.body_hans)
    phrase = next(
        run[i : i + 4]
        for run in runs
        for i in range(len(run) - 3)
        if run[i : i + 4] not in version.body
    )
    page.goto(served.url + "/search?q=" + urllib.parse.quote(phrase))
    links = page.locator("li.hit a.title")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert f"/article/{version.page_id}" in hrefs
    page.screenshot(path=served.shots / "search-hant.png")


def test_stepping_through_an_articles_versions_and_their_diff(served, db, page):
    edited = db.scalars(
        select(ArticleVersion).where(ArticleVersion.change_class == "substantive_edit")
    ).first()
    assert edited is not None
    versions = db.scalars(
        select(ArticleVersion)
        .where(ArticleVersion.page_id == edited.page_id)
        .order_by(ArticleVersion.version_no)
    ).all()
    page.goto(f"{served.url}/article/{edited.page_id}")
    assert page.locator("#timeline tbody tr").count() == len(versions)
    assert page.inner_text("#title") == versions[-1].title
    for older in reversed(versions[:-1]):  # step back to the first version
        page.click("#prev-version")
        assert f"version {older.version_no} of {len(versions)}" in page.inner_text("#version-nav")
        assert page.inner_text("#title") == older.title
    page.screenshot(path=served.shots / "article.png", full_page=True)
    page.goto(
        f"{served.url}/article/{edited.page_id}/diff?a={edited.version_no - 1}&b={edited.version_no}"
    )
    assert page.locator("#diff p.insert, #diff ins").count() > 0  # the paragraph added
    page.screenshot(path=served.shots / "diff.png", full_page=True)


def test_a_reprint_leads_to_its_likely_original(served, db, page):
    cluster = db.scalars(select(ReprintCluster).where(ReprintCluster.size > 1)).first()
    assert cluster is not None
    copy = db.scalars(
        select(Page).where(Page.cluster_id == cluster.id, Page.id != cluster.original_page_id)
    ).first()
    page.goto(f"{served.url}/article/{copy.id}")
    assert page.locator("#reprints li").count() == cluster.size
    page.click("#reprints li.original a")
    assert page.url.endswith(f"/article/{cluster.original_page_id}")
    original = _current(db)[cluster.original_page_id]
    assert page.inner_text("#title") == original.title
    page.screenshot(path=served.shots / "reprints.png", full_page=True)


def test_the_raw_capture_shows_the_page_without_running_its_scripts(served, db, page):
    # a qhzgh article: its page calls showDate() inline and loads /js/common.js
    capture = db.scalars(
        select(Capture)
        .join(Page, Page.id == Capture.page_id)
        .join(ArticleVersion, ArticleVersion.capture_id == Capture.id)
        .where(Page.site_id == "qhzgh", Capture.http_status == 200)
    ).first()
    assert capture is not None
    requests: list[str] = []
    console: list[str] = []
    blocked: dict[str, str] = {}
    page.on("request", lambda r: requests.append(r.url))
    page.on("requestfailed", lambda r: blocked.__setitem__(r.url, r.failure or ""))
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{served.url}/capture/{capture.id}")
    assert page.get_attribute("#raw", "sandbox") == ""
    frame_text = page.frame_locator("#raw").locator("body").inner_text()
    version = db.scalars(
        select(ArticleVersion).where(ArticleVersion.capture_id == capture.id)
    ).one()
    assert version.title in frame_text  # decoded right: the Chinese title reads
    assert page.inner_text("#chosen-encoding") == capture.chosen_encoding
    assert any("Blocked script execution" in m for m in console), console
    # what the archived page names (its CSS, images, scripts) was stopped in the browser
    # by the capture's CSP: never fetched, from our server or the site's
    own = {f"{served.url}/capture/{capture.id}", f"{served.url}/capture/{capture.id}/raw"}
    theirs = {r for r in requests if "/static/" not in r and r not in own}
    assert theirs, "the capture names no resource: the test proves nothing"
    assert {url: blocked.get(url, "fetched") for url in theirs} == dict.fromkeys(theirs, "csp")
    _, headers, _ = _get(f"{served.url}/capture/{capture.id}/raw", "text/html")
    assert headers["Content-Security-Policy"].startswith("default-src 'none';")
    page.screenshot(path=served.shots / "capture.png", full_page=True)


def test_the_sites_page_shows_each_runs_field_coverage_from_the_database(served, db, page):
    page.goto(f"{served.url}/sites")
    page.screenshot(path=served.shots / "sites.png", full_page=True)
    for run in db.scalars(
        select(Run).where(Run.id.in_(select(func.max(Run.id)).group_by(Run.site_id)))
    ):
        # the last run confirmed or made each current version it saw
        seen = [
            v
            for v in db.scalars(
                select(ArticleVersion)
                .join(Capture, Capture.id == ArticleVersion.last_capture_id)
                .where(Capture.run_id == run.id, ArticleVersion.change_class != "removed")
            )
        ]
        row = page.locator(f"tr.run[data-run='{run.id}']")
        if not seen:
            assert "no article" in row.inner_text()
            continue

        def share(has, seen=seen):  # type: ignore[no-untyped-def]
            return f"{sum(1 for v in seen if has(v)) / len(seen) * 100:.0f}%"

        assert row.locator(".cov-date").inner_text() == share(lambda v: v.published)
        assert row.locator(".cov-source").inner_text() == share(lambda v: v.source)
        assert row.locator(".cov-author").inner_text() == share(lambda v: v.author)
        lengths = sorted(len(v.body) for v in seen)
        mid = len(lengths) // 2
        median = lengths[mid] if len(lengths) % 2 else (lengths[mid - 1] + lengths[mid]) / 2
        assert row.locator(".cov-median").inner_text() == f"{median:.0f}"


def test_changes_as_an_atom_feed_per_site(served, db):
    _, headers, body = _get(f"{served.url}/feeds/changes.atom?site=bcrb", "*/*")
    assert headers["Content-Type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ET.fromstring(body).findall("a:entry", ns)
    expected = db.scalar(
        select(func.count())
        .select_from(ArticleVersion)
        .join(Page, Page.id == ArticleVersion.page_id)
        .where(Page.site_id == "bcrb")
    )
    assert len(entries) == expected  # everything was first seen today, within the feed's days
    titles = [e.find("a:title", ns).text for e in entries]
    assert any(t.startswith("[removed]") for t in titles), titles


def test_every_page_is_also_json(served, db):
    article = next(iter(_current(db)))
    for path in (
        f"/article/{article}.json",
        "/sites.json",
        "/changes.json",
        "/search.json?q=%E5%8A%B3%E6%A8%A1",
    ):
        _, headers, body = _get(served.url + path, "text/html")
        assert headers["Content-Type"] == "application/json", path
        json.loads(body)
    _, headers, body = _get(f"{served.url}/article/{article}")  # Accept: application/json
    assert json.loads(body)["article"]["page_id"] == article
