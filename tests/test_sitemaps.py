"""Sitemaps: an incremental crawl finds edits and removals of old articles that no list shows,
by the sitemap's <lastmod> and its gaps, asking only for those pages; a partial or broken
sitemap changes nothing it cannot vouch for."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from archive.known import KnownArticle
from crawler.replica.server import SITEMAP_SITES, ReplicaServer
from crawler.replica.timeline import day_truth
from crawler.seeds import Seed, load_seeds
from crawler.sitemaps import SitemapError, absent, parse_lastmod, parse_sitemap, robots_sitemaps
from crawler.spiders.site import SiteSpider
from tests.test_crawl import gonghui_argv
from tests.test_incremental import version_classes

SEEDS_DIR = Path(__file__).resolve().parent.parent / "seeds"
SEEDS = load_seeds(SEEDS_DIR)
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
CHECKED = dt.datetime(2025, 7, 1, 12, 0, tzinfo=dt.UTC)  # 20:00 in China


def urlset(*entries: tuple[str, str | None]) -> bytes:
    urls = "".join(
        f"<url><loc>{loc}</loc>{f'<lastmod>{m}</lastmod>' if m else ''}</url>"
        for loc, m in entries
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS}>{urls}</urlset>'.encode()


# -- reading sitemaps --------------------------------------------------------------------------


def test_a_sitemap_index_and_a_gzipped_urlset_are_read_with_their_lastmod():
    index = parse_sitemap(
        f"<sitemapindex {NS}><sitemap><loc>http://a.cn/s1.xml.gz</loc></sitemap>"
        f"</sitemapindex>".encode()
    )
    assert index.kind == "sitemapindex"
    assert [e.loc for e in index.entries] == ["http://a.cn/s1.xml.gz"]
    document = parse_sitemap(
        gzip.compress(urlset(("http://a.cn/1.html", "2025-07-02"), ("http://a.cn/2.html", None)))
    )
    assert document.kind == "urlset"
    assert [(e.loc, e.lastmod is not None) for e in document.entries] == [
        ("http://a.cn/1.html", True),
        ("http://a.cn/2.html", False),
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "not XML"),
        (b"<html><body>404</body></html>", "not a sitemap"),
        (b"\x1f\x8b\x08\x00broken", "broken gzip"),
    ],
)
def test_what_is_not_a_sitemap_is_an_error_naming_why(body, message):
    with pytest.raises(SitemapError, match=message):
        parse_sitemap(body)


@pytest.mark.parametrize(
    ("text", "changed"),
    [
        ("2025-07-01T20:00:01+08:00", True),  # a second after our look
        ("2025-07-01T12:00:00Z", False),  # the very instant
        ("2025-07-01T19:59:59", False),  # no offset: China time, before our look
        ("2025-07-01", True),  # that day (China time): cannot tell, ask
        ("2025-06-30", False),
        ("yesterday", None),
        ("", None),
    ],
)
def test_lastmod_is_compared_with_our_last_look_in_china_time(text, changed):
    lastmod = parse_lastmod(text)
    assert (None if lastmod is None else lastmod.after(CHECKED)) is changed


def test_robots_txt_names_the_sitemaps_absolute():
    robots = b"User-agent: *\nDisallow: /admin/\nSitemap: /sitemap.xml\nsitemap: http://b.cn/s.xml\n"
    assert robots_sitemaps(robots, "http://a.cn/robots.txt") == [
        "http://a.cn/sitemap.xml",
        "http://b.cn/s.xml",
    ]


def test_absence_counts_only_when_the_sitemap_lists_nearly_every_archived_article():
    live = [f"u{n}" for n in range(100)]
    assert absent(live, set(live[:90])) == live[90:]
    assert absent(live, set(live[:50])) == []  # the newest 50 only: says nothing
    assert absent(live[:8], set(live[:1])) == []
    assert absent(live[:8], set(live[:3])) == live[3:8]  # a small site: a few are cheap to ask
    assert absent([], set()) == []


# -- what the spider asks for ------------------------------------------------------------------


def _known(seed: Seed, n: int, removed: bool = False) -> KnownArticle:
    url = seed.absolute(f"/html/gzdt/20240101/{n}.html")
    return KnownArticle(url, url, f"标题{n}", dt.date(2024, 1, 1), CHECKED, removed, '"e"', None)


def _spider(known: list[KnownArticle], mode: str = "incremental") -> SiteSpider:
    seed = SEEDS["qhzgh"]
    spider = SiteSpider.from_crawler(get_crawler(SiteSpider), site=seed)
    spider.crawl_mode = mode
    spider.known = {k.canonical_url: k for k in known}
    return spider


def _answer(spider: SiteSpider, body: bytes, path: str = "/sitemap.xml") -> list[str]:
    """The article URLs the spider asks for after reading one sitemap."""
    url = spider.seed.absolute(path)
    request = spider._sitemap_request(url, depth=0)
    assert request is not None
    response = (TextResponse if path.endswith(".txt") else Response)(
        url, body=body, request=request
    )
    return [r.url for r in spider._sitemap(response) if isinstance(r, Request)]


def test_the_spider_asks_for_new_changed_and_vanished_articles_only():
    seed = SEEDS["qhzgh"]
    known = [_known(seed, n) for n in range(1, 21)]
    known.append(_known(seed, 99, removed=True))
    spider = _spider(known)
    listed = [(k.url, "2025-06-01") for k in known[:19]]  # 20 is gone from it
    listed[4] = (known[4].url, "2025-07-02T08:00:00+08:00")  # 5 edited after our look
    listed.append((seed.absolute("/html/gzdt/20250702/500.html"), None))  # new
    listed.append((seed.absolute("/list/gzdt.html"), None))  # a list page: not an article
    asked = _answer(spider, urlset(*listed))
    assert sorted(asked) == sorted(
        [known[4].url, known[19].url, seed.absolute("/html/gzdt/20250702/500.html")]
    )
    stats = spider.crawler.stats.get_stats()
    assert (stats["gonghui/sitemap/new"], stats["gonghui/sitemap/changed"]) == (1, 1)
    assert stats["gonghui/sitemap/absent"] == 1


def test_a_partial_or_unreadable_sitemap_marks_nothing_to_recheck_for_absence():
    seed = SEEDS["qhzgh"]
    known = [_known(seed, n) for n in range(1, 21)]
    partial = _spider(known)  # lists 10 of 20: more than a few gaps, too many to be whole
    assert _answer(partial, urlset(*[(k.url, "2025-06-01") for k in known[:10]])) == []
    broken = _spider(known)
    assert _answer(broken, b"<html>maintenance</html>") == []
    assert broken.crawler.stats.get_value("gonghui/error/sitemap_unreadable") == 1


def test_a_robots_txt_without_sitemaps_or_without_a_file_asks_for_nothing_and_is_no_error():
    seed = SEEDS["qhzgh"]
    few = [_known(seed, n) for n in range(1, 4)]  # few enough for any gap to be asked about
    spider = _spider(few)
    assert _answer(spider, b"User-agent: *\nDisallow: /admin/\n", "/robots.txt") == []
    missing = _spider(few)
    request = missing._sitemap_request(seed.absolute("/robots.txt"), depth=0)
    response = Response(request.url, status=404, request=request)
    failure = Failure(HttpError(response))
    failure.request = request
    assert list(missing._sitemap_failed(failure)) == []
    assert not [k for k in missing.crawler.stats.get_stats() if k.startswith("gonghui/error/")]
    gone = _spider(few)  # a sitemap itself answering 404 is an error: the seed names it
    request = gone._sitemap_request(seed.absolute("/sitemap.xml"), depth=0)
    failure = Failure(HttpError(Response(request.url, status=404, request=request)))
    failure.request = request
    assert list(gone._sitemap_failed(failure)) == []
    assert gone.crawler.stats.get_value("gonghui/error/http_404") == 1


def test_robots_txt_leads_to_its_sitemaps_on_allowed_hosts_only_once_each():
    spider = _spider([])
    robots = (
        b"Sitemap: http://127.0.0.1:8601/sitemap.xml\nSitemap: http://127.0.0.1:8601/sitemap.xml\n"
        b"Sitemap: http://elsewhere.example/sitemap.xml\n"
    )
    assert _answer(spider, robots, "/robots.txt") == ["http://127.0.0.1:8601/sitemap.xml"]


# -- a real incremental crawl ------------------------------------------------------------------


@pytest.mark.slow
def test_an_incremental_crawl_finds_old_edits_and_removals_through_the_sitemap(tmp_path):
    """The sitemap sites are set to re-check almost nothing by themselves (no recent window, a
    1/1000 rotation, no small-site rule): the next day's edits and removals of old articles
    are found all the same, and the article pages asked for are those, the new ones, the newest
    day's and one rotation turn per site."""
    seeds = tmp_path / "seeds"
    shutil.copytree(SEEDS_DIR, seeds, ignore=shutil.ignore_patterns("live", "*.py", "*.md"))
    for site_id in SITEMAP_SITES:
        path = seeds / f"{site_id}.toml"
        text = path.read_text(encoding="utf-8")
        text = re.sub(
            r"\[revisit\]\n",
            "[revisit]\nrecent_days = 0\nrecheck_days = 1000\nrecheck_all_up_to = 0\n",
            text,
        )
        path.write_text(text, encoding="utf-8")
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    logs, outputs = [], []
    with ReplicaServer() as replica:
        origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
        for day in (0, 1):
            replica.set_day(day)
            mark = len(replica.request_log)
            argv = gonghui_argv(
                "crawl",
                "--all",
                *origins,
                database_url=database_url,
                warc_dir=tmp_path / "warc",
                seeds_dir=seeds,
            )
            done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
            assert done.returncode == 0, done.stderr[-3000:]
            logs.append(list(replica.request_log[mark:]))
            outputs.append(done.stdout)

    # What the sitemap showed is said under the crawl table: qhzgh's day 1 is a new article,
    # an edit and a removal of old ones.
    assert re.search(
        r"qhzgh: sitemap listed \d+ articles: 1 not archived yet, 1 changed since last "
        r"checked; 1 archived ones no longer listed",
        re.sub(r"\s+", " ", outputs[1]),
    ), outputs[1]
    truth = day_truth(1)
    classes = version_classes(database_url)
    for key, page in truth.pages.items():
        assert tuple(classes[key]) == page.versions, key

    before = day_truth(0).pages
    for site_id in SITEMAP_SITES:
        changed = {
            path
            for (site, path), page in truth.pages.items()
            if site == site_id
            and (
                (site, path) not in before
                or (before[(site, path)].versions, before[(site, path)].removal)
                != (page.versions, page.removal)
            )
        }
        asked = {
            e.path
            for e in logs[1]
            if e.site_id == site_id and SEEDS[site_id].is_article(e.path)
        }
        assert "/sitemap.xml" in {e.path for e in logs[1] if e.site_id == site_id}
        assert changed <= asked, site_id
        # Besides: the newest day's articles (recent_days = 0) and one rotation turn.
        dated = [(p.article.published, path) for (s, path), p in before.items() if s == site_id]
        newest = {path for day, path in dated if day == max(dated)[0]}
        assert len(asked - changed - newest) <= 1, (site_id, asked - changed)
