"""Incremental crawling against the replica: the first crawl is full, the next ones stop walking
lists at the first page of known articles and re-check known articles conditionally (304) where
the server supports it, yet still find the next day's edits, removals and new articles; `--deep`
asks for a full crawl. SQLite and PostgreSQL."""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import ArticleVersion, Page, Run
from crawler.replica.server import CONDITIONAL_SITES, ReplicaServer, RequestLogEntry
from crawler.replica.timeline import day_truth
from crawler.seeds import load_seeds
from tests.test_crawl import gonghui

pytestmark = pytest.mark.slow

SEEDS = load_seeds(Path(__file__).resolve().parent.parent / "seeds")


@dataclass
class Crawls:
    database_url: str
    logs: list[list[RequestLogEntry]]  # the replica's requests of each crawl
    outputs: list[str]


def is_article(entry: RequestLogEntry) -> bool:
    return SEEDS[entry.site_id].is_article(entry.path)


@pytest.fixture(scope="module")
def crawls(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Crawls:
    """Day 0 crawled twice, then day 1 once, then day 1 with --deep."""
    warc = tmp_path_factory.mktemp("incremental") / "warc"
    logs, outputs = [], []
    with ReplicaServer() as replica:
        origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
        for day, extra in ((0, ()), (0, ()), (1, ()), (1, ("--deep",))):
            replica.set_day(day)
            mark = len(replica.request_log)
            done = gonghui(
                "crawl", "--all", *extra, *origins, database_url=module_database_url, warc_dir=warc
            )
            assert done.returncode == 0, done.stderr[-3000:]
            logs.append(list(replica.request_log[mark:]))
            outputs.append(done.stdout)
    return Crawls(module_database_url, logs, outputs)


def runs_by_crawl(database_url: str) -> list[set[str]]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
    engine.dispose()
    per_crawl: dict[int, set[str]] = collections.defaultdict(set)
    seen: collections.Counter[str] = collections.Counter()
    for run in runs:
        per_crawl[seen[run.site_id]].add(run.mode or "")
        seen[run.site_id] += 1
    return [per_crawl[n] for n in sorted(per_crawl)]


def test_the_first_crawl_is_full_the_next_incremental_and_deep_is_full(crawls: Crawls):
    assert runs_by_crawl(crawls.database_url) == [
        {"full"},
        {"incremental"},
        {"incremental"},
        {"full"},
    ]


def test_an_unchanged_site_is_rechecked_with_304s_and_lists_are_not_walked(crawls: Crawls):
    first, second = crawls.logs[0], crawls.logs[1]
    known = {(e.site_id, e.path) for e in first if is_article(e) and e.status == 200}
    bodies = [e for e in second if is_article(e) and e.status == 200]
    not_modified = [e for e in second if is_article(e) and e.status == 304]
    # On the sites that answer conditional requests no article page is downloaded again.
    assert not [e for e in bodies if e.site_id in CONDITIONAL_SITES]
    assert {(e.site_id, e.path) for e in not_modified} == {
        k for k in known if k[0] in CONDITIONAL_SITES
    }
    # The mirror sends no validator: its articles (a small site: all re-checked) come again.
    assert {e.path for e in bodies} == {p for s, p in known if s == "tibet3"}
    # Stop-when-seen: fewer list pages than the full crawl read.
    lists = [e for e in first if not is_article(e)]
    assert len([e for e in second if not is_article(e)]) < len(lists)


def version_classes(database_url: str) -> dict[tuple[str, str], list[str]]:
    """(site_id, path) -> the change classes of the page's versions, oldest first."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        classes: dict[tuple[str, str], list[str]] = collections.defaultdict(list)
        for page, change in session.execute(
            select(Page, ArticleVersion.change_class)
            .join(ArticleVersion)
            .order_by(Page.id, ArticleVersion.version_no)
        ):
            classes[(page.site_id, "/" + page.url.split("/", 3)[3])].append(change)
    engine.dispose()
    return classes


def test_the_next_days_changes_are_found_by_an_incremental_crawl(crawls: Crawls):
    truth = day_truth(1)
    classes = version_classes(crawls.database_url)
    for key, page in truth.pages.items():
        assert tuple(classes[key]) == page.versions, key
    assert {k for k, p in truth.pages.items() if p.versions != ("new",)}  # there were changes


def test_deep_walks_every_list_page_again(crawls: Crawls):
    first_lists = {(e.site_id, e.path) for e in crawls.logs[0] if not is_article(e)}
    deep_lists = {(e.site_id, e.path) for e in crawls.logs[3] if not is_article(e)}
    incremental_lists = {(e.site_id, e.path) for e in crawls.logs[2] if not is_article(e)}
    assert first_lists - {k for k in first_lists if k[1].endswith("robots.txt")} <= deep_lists
    assert len(incremental_lists) < len(deep_lists)


def _article(n: int, published: dt.date, checked: dt.datetime, removed: bool = False):
    from archive.known import KnownArticle

    url = f"http://www.tibet3.com/news/zangqu/{published:%Y-%m/%d}/content_{n}.htm"
    return KnownArticle(url, url, f"标题{n}", published, checked, removed, None, None)


def test_a_large_site_rechecks_recent_removed_and_a_rotating_share():
    """1,000 known articles: the incremental crawl re-checks the removed ones, those within
    recent_days of the newest, and the 1/recheck_days least recently checked of the rest."""
    from scrapy.utils.test import get_crawler

    from crawler.spiders.site import SiteSpider

    spider = SiteSpider.from_crawler(get_crawler(SiteSpider), site=SEEDS["tibet3"])
    spider.crawl_mode = "incremental"
    newest = dt.date(2025, 6, 30)
    base = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    known = [
        _article(n, newest - dt.timedelta(days=n), base + dt.timedelta(minutes=n % 97))
        for n in range(1000)
    ]
    known[500] = _article(500, newest - dt.timedelta(days=500), base, removed=True)
    due = {k.canonical_url for k in spider._due(known)}
    revisit = SEEDS["tibet3"].revisit
    recent = {k.canonical_url for k in known if (newest - k.published).days <= revisit.recent_days}
    assert recent | {known[500].canonical_url} <= due
    share = -(-1000 // revisit.recheck_days)
    assert len(due) == len(recent) + 1 + share
    assert len(due) <= 0.05 * 1000
    rotated = [k for k in known if k.canonical_url in due - recent - {known[500].canonical_url}]
    assert max(k.last_seen_at for k in rotated) <= min(
        k.last_seen_at for k in known if k.canonical_url not in due
    )
    spider.crawl_mode = "full"
    assert len(spider._due(known)) == 1000


@pytest.mark.parametrize(
    ("text", "title", "changed"),
    [
        ("西宁市总工会召开十四届三次全委会议", "西宁市总工会召开十四届二次全委会议", True),
        ("西宁市总工会召开…", "西宁市总工会召开十四届二次全委会议", False),  # cut by the list
        (
            "西宁市总工会召开十四届二次全委会议 2024-05-01",
            "西宁市总工会召开十四届二次全委会议",
            False,
        ),
        (
            "图为疫情防控期间职工志愿者在社区值守",
            "西宁市总工会召开十四届二次全委会议",
            False,
        ),  # a caption
        ("[详情]", "西宁市总工会召开十四届二次全委会议", False),
    ],
)
def test_a_retitle_shows_on_a_list_but_captions_and_teasers_do_not(text, title, changed):
    from crawler.spiders.revisit_mixin import listing_changed

    assert listing_changed(text, title) is changed
