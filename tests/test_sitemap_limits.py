"""Sitemaps from a server we do not control cost bounded memory and work: read as streams,
at most ``max_pages`` articles asked for a run and the rest counted, at most MAX_DOCUMENTS
documents, and a SIGTERM met in the middle of a huge sitemap ends the crawl in seconds.

The crawls are real `gonghui crawl` subprocesses against a small site on 127.0.0.1 whose
sitemap index names six sitemaps of 100,000 URLs each (generated once per session into temp
files); benchmarks/sitemap_memory.py runs the same with six of 450,000.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.test import get_crawler
from sqlalchemy import select
from sqlalchemy.orm import Session
from twisted.python.failure import Failure

from archive.db import make_engine
from archive.models import Run
from archive.urls import canonical_url
from crawler import sitemaps
from crawler.seeds import Seed
from crawler.sitemaps import SitemapError, SitemapReader
from crawler.spiders.site import SiteSpider
from crawler.spiders.sitemap_mixin import PAUSE
from tests.hostile_server import Hit, HostileServer, Reply, html, page, write_seed
from tests.test_crawl import gonghui_argv
from tests.test_sitemaps import SEEDS, _known, urlset

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
SITEMAPS = 6
URLS_PER_SITEMAP = 100_000
MAX_PAGES = 40
ARTICLE = "/html/gzdt/20240101/{n}.html"


# -- the site: a sitemap index naming large sitemaps ---------------------------------------------


def write_urlset(path: Path, origin: str, first: int, count: int) -> None:
    """A sitemap of ``count`` article URLs numbered from ``first``, each with a <lastmod>."""
    entry = f"<url><loc>{origin}{ARTICLE}</loc><lastmod>2025-06-01</lastmod></url>\n"
    with path.open("wb") as out:
        out.write(f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {NS}>\n'.encode())
        for start in range(first, first + count, 10_000):
            stop = min(start + 10_000, first + count)
            out.write("".join(entry.format(n=n) for n in range(start, stop)).encode())
        out.write(b"</urlset>\n")


class SitemapSite(HostileServer):
    """A site on 127.0.0.1 (ephemeral port): a start page, a sitemap index naming
    ``sitemaps`` sitemaps of ``urls`` articles each (files under ``folder``), the articles."""

    def __init__(self, folder: Path, sitemaps: int, urls: int):
        super().__init__(
            {
                "/robots.txt": Reply(404),
                "/": html("<html><head><title>home</title></head><body><p>home</p></body></html>"),
                "/sitemap_index.xml": self.index,
                "/sitemaps/*": self.sitemap,
                "/html/gzdt/20240101/*": self.article,
            }
        )
        self.folder, self.sitemaps, self.urls = folder, sitemaps, urls
        self.folder.mkdir(parents=True, exist_ok=True)
        for i in range(self.sitemaps):
            write_urlset(self.folder / f"{i}.xml", self.origin, i * self.urls, self.urls)

    def index(self, hit: Hit) -> Reply:
        names = "".join(
            f"<sitemap><loc>{self.origin}/sitemaps/{i}.xml</loc></sitemap>"
            for i in range(self.sitemaps)
        )
        body = f"<sitemapindex {NS}>{names}</sitemapindex>".encode()
        return Reply(200, {"Content-Type": "text/xml"}, body)

    def sitemap(self, hit: Hit) -> Reply:
        if not (m := re.fullmatch(r"/sitemaps/(\d+)\.xml", hit.path)):
            return Reply(404)
        return Reply(200, {"Content-Type": "text/xml"}, file=self.folder / f"{m[1]}.xml")

    def article(self, hit: Hit) -> Reply:
        if not (m := re.fullmatch(r"/html/gzdt/20240101/(\d+)\.html", hit.path)):
            return Reply(404)
        title = f"第{m[1]}号职工技能大赛报道"
        paragraph = "市总工会举办职工职业技能大赛，三百余名职工参加比赛。" * 4
        return page(
            f"<h1>{title}</h1><p>发布时间：2024-01-01</p><div class='content'><p>{paragraph}</p></div>",
            title=title,
        )

    @property
    def hits(self) -> list[tuple[float, str]]:
        """(arrival time, path) of every request, in order (benchmarks/sitemap_memory.py)."""
        return [(hit.at, hit.path) for hit in self.log]

    def sitemaps_served(self, since: int = 0) -> list[str]:
        return [p for _, p in self.hits[since:] if p.startswith("/sitemaps/")]


# -- a crawl measured from outside ---------------------------------------------------------------

# The crawl is started by this small helper, not by pytest itself: Linux carries a parent's
# peak resident set into its child's ru_maxrss (fork, vfork, exec), so a child of a large
# pytest would report pytest's size. The helper reports the crawl's pid at once, then samples
# its RSS, then its exit: status, ru_maxrss (KiB) from wait4, the monotonic end.
_HELPER = r"""
import json, os, subprocess, sys, time
job = json.loads(sys.argv[1])
with open(job["log"], "wb") as log:
    child = subprocess.Popen(job["argv"], stdout=log, stderr=subprocess.STDOUT)
print(json.dumps({"pid": child.pid}), flush=True)
samples = []
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    try:
        with open(f"/proc/{child.pid}/status") as proc:
            rss = int(next(l for l in proc if l.startswith("VmRSS")).split()[1])
        samples.append((time.monotonic(), rss))
    except (OSError, StopIteration, ValueError):
        pass
    time.sleep(0.05)
print(json.dumps({"returncode": os.waitstatus_to_exitcode(status), "maxrss_kb": usage.ru_maxrss,
                  "ended": time.monotonic(), "samples": samples}), flush=True)
"""


@dataclass
class Measured:
    returncode: int
    peak_mb: float  # the crawl process's peak RSS
    wall: float
    ended: float  # time.monotonic() when it exited
    samples: list[tuple[float, float]]  # (monotonic, RSS MB)
    log: str

    def rss_at(self, moment: float) -> float:
        """The largest RSS sampled up to ``moment``."""
        return max((mb for at, mb in self.samples if at <= moment), default=0.0)


class MeasuredCrawl:
    """A `gonghui crawl` run through the helper; ``pid`` is the crawl's own process."""

    def __init__(self, argv: list[str], log: Path):
        self.log = log
        self.started = time.monotonic()
        job = json.dumps({"argv": argv, "log": str(log)})
        self.helper = subprocess.Popen(
            [sys.executable, "-c", _HELPER, job], stdout=subprocess.PIPE, text=True
        )
        assert self.helper.stdout is not None
        self.pid = json.loads(self.helper.stdout.readline())["pid"]

    def wait(self, timeout: float = 240) -> Measured:
        out, _ = self.helper.communicate(timeout=timeout)
        done = json.loads(out.strip().splitlines()[-1])
        return Measured(
            returncode=done["returncode"],
            peak_mb=done["maxrss_kb"] / 1024,
            wall=done["ended"] - self.started,
            ended=done["ended"],
            samples=[(at, kb / 1024) for at, kb in done["samples"]],
            log=self.log.read_text(encoding="utf-8", errors="replace"),
        )


def crawl_argv(site: SitemapSite, folder: Path, max_pages: int = MAX_PAGES) -> list[str]:
    """`gonghui crawl bigmap -v` on a fresh archive in ``folder`` (-v: Scrapy's log, whose
    closing stats dump says what the sitemaps counted)."""
    seeds = write_seed(
        folder / "seeds",
        "bigmap",
        site.origin,
        name="大站点地图",
        lists=[r"/list/\w+\.html$"],
        articles=[r"/html/gzdt/\d{8}/\d+\.html$"],
        politeness={"download_delay": 0, "autothrottle": False, "max_pages": max_pages},
        revisit={"sitemaps": ["/sitemap_index.xml"]},
    )
    return gonghui_argv(
        "crawl",
        "bigmap",
        "-v",
        database_url=f"sqlite:///{folder / 'archive.sqlite3'}",
        warc_dir=folder / "warc",
        seeds_dir=seeds,
    )


def stat(log: str, name: str) -> int:
    found = re.search(rf"'gonghui/sitemap/{name}': (\d+)", log)
    return int(found[1]) if found else 0


@pytest.fixture(scope="session")
def big_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SitemapSite]:
    folder = tmp_path_factory.mktemp("sitemaps")
    with SitemapSite(folder, SITEMAPS, URLS_PER_SITEMAP) as site:
        yield site


# -- the crawl ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_six_large_sitemaps_cost_flat_memory_and_ask_for_max_pages_articles(big_site, tmp_path):
    mark = len(big_site.hits)
    done = MeasuredCrawl(crawl_argv(big_site, tmp_path), tmp_path / "crawl.log").wait()
    assert done.returncode == 0, done.log[-3000:]
    assert "Traceback" not in done.log, done.log[-3000:]
    served = big_site.sitemaps_served(mark)
    assert sorted(served) == [f"/sitemaps/{i}.xml" for i in range(SITEMAPS)], served
    articles = [p for _, p in big_site.hits[mark:] if p.startswith("/html/")]
    assert 0 < len(articles) <= MAX_PAGES
    # Every entry was read and counted; only max_pages of them were asked for.
    total = SITEMAPS * URLS_PER_SITEMAP
    assert stat(done.log, "listed") == total
    assert stat(done.log, "new") == MAX_PAGES
    assert stat(done.log, "over_cap") == total - MAX_PAGES
    # Memory: far below what 600,000 queued requests took, and flat while the sitemaps are read:
    # sitemaps 2-6 add nothing to what the index and the first one took (the articles fetched
    # after them bring in the extractor, which is not the sitemaps' doing).
    assert done.peak_mb < 300, done.peak_mb
    times = [at for at, p in big_site.hits[mark:] if p.startswith("/sitemaps/")]
    first_article = next(at for at, p in big_site.hits[mark:] if p.startswith("/html/"))
    second, read = done.rss_at(times[1]), done.rss_at(first_article)
    assert first_article - times[1] > 2  # seconds of reading lie between them
    assert read - second < 20, (second, read)


@pytest.mark.slow
def test_sigterm_in_the_middle_of_a_huge_sitemap_ends_the_crawl_in_seconds(big_site, tmp_path):
    mark = len(big_site.hits)
    database = tmp_path / "archive.sqlite3"
    crawl = MeasuredCrawl(crawl_argv(big_site, tmp_path), tmp_path / "crawl.log")
    deadline = time.monotonic() + 60
    while len(big_site.sitemaps_served(mark)) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert big_site.sitemaps_served(mark), "no sitemap was asked for"
    time.sleep(0.5)  # the second sitemap is being read now
    sent = time.monotonic()
    os.kill(crawl.pid, signal.SIGTERM)
    done = crawl.wait(timeout=60)
    assert done.ended - sent < 5, (done.ended - sent, done.log[-3000:])
    assert done.returncode != 0
    assert "Traceback" not in done.log, done.log[-3000:]
    assert len(big_site.sitemaps_served(mark)) < SITEMAPS
    assert stat(done.log, "stopped") == 1  # the sitemap being read was left there
    with Session(make_engine(f"sqlite:///{database}")) as session:
        status, reason = session.execute(select(Run.status, Run.stop_reason)).one()
    assert status == "failed" and reason, (status, reason)


# -- reading one sitemap ------------------------------------------------------------------------


def _rss_kb() -> int:
    with open("/proc/self/status") as proc:
        return int(next(line for line in proc if line.startswith("VmRSS")).split()[1])


def test_a_sitemap_is_read_entry_by_entry_and_leaves_no_tree_behind(big_site):
    body = (big_site.folder / "0.xml").read_bytes()
    before = _rss_kb()
    reader = SitemapReader(body)
    count = sum(1 for _ in reader)
    grown_mb = (_rss_kb() - before) / 1024
    assert (count, reader.kind, reader.whole) == (URLS_PER_SITEMAP, "urlset", True)
    assert grown_mb < 15, grown_mb  # a tree of its 100,000 entries holds ~80 MB


def test_what_a_cut_sitemap_lists_before_the_cut_is_read_but_it_is_not_whole():
    body = urlset(*[(f"http://a.cn/{n}.html", None) for n in range(1000)])
    reader = SitemapReader(body[: len(body) // 2])
    entries = list(reader)
    assert 300 < len(entries) < 1000 and not reader.whole
    bad = SitemapReader(b"<urlset><url><loc>http://a.cn/?a=1&b=2</loc></url></urlset>")
    assert len(list(bad)) == 1 and not bad.whole  # read past a stray &, but not vouched for


def test_a_gzipped_sitemap_is_read_member_after_member():
    body = urlset(*[(f"http://a.cn/{n}.html", None) for n in range(100)])
    cut = body.index(b"<url>", len(body) // 2)
    reader = SitemapReader(gzip.compress(body[:cut]) + gzip.compress(body[cut:]))
    assert [e.loc for e in reader] == [f"http://a.cn/{n}.html" for n in range(100)]
    assert reader.whole
    with pytest.raises(SitemapError, match="broken gzip"):
        list(SitemapReader(gzip.compress(body)[:-100]))


def test_a_gzip_bomb_stops_at_50_mb_after_giving_what_came_before():
    entry = b"<url><loc>http://a.cn/1.html</loc></url>" + b" " * 1000
    bomb = gzip.compress(b"<urlset>" + entry * (sitemaps.MAX_SIZE // len(entry) + 100))
    assert len(bomb) < 1024 * 1024
    reader, seen = SitemapReader(bomb), 0
    with pytest.raises(SitemapError, match="larger than 50 MB"):
        for _ in reader:
            seen += 1
    assert seen > 40_000


def test_entities_are_neither_expanded_nor_fetched():
    entities = "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    laughs = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a0 "{"x" * 100}">{entities}]>'
        "<urlset><url><loc>http://a.cn/&a9;</loc></url></urlset>"
    ).encode()
    started = time.monotonic()
    with pytest.raises(SitemapError, match="not XML"):  # libxml2 refuses the amplification
        list(SitemapReader(laughs))
    assert time.monotonic() - started < 1
    external = (
        b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">'
        b'<!ENTITY y "http://a.cn/y.html">]>'
        b"<urlset><url><loc>http://a.cn/&x;</loc></url><url><loc>&y;</loc></url></urlset>"
    )
    assert [e.loc for e in SitemapReader(external)] == ["http://a.cn/"]


# -- what the spider asks for -------------------------------------------------------------------


def _spider(
    seed: Seed, known: list, max_pages: int = 5000, origin: str | None = None
) -> SiteSpider:
    crawler = get_crawler(SiteSpider, {"CLOSESPIDER_PAGECOUNT": max_pages})
    spider = SiteSpider.from_crawler(crawler, site=seed, origin=origin)
    spider.crawl_mode = "incremental"
    spider.known = {k.canonical_url: k for k in known}
    return spider


def _read(spider: SiteSpider, body: bytes, path: str = "/sitemap.xml") -> list:
    request = spider._sitemap_request(spider.seed.absolute(path), depth=0)
    assert request is not None
    return list(spider._sitemap(Response(request.url, body=body, request=request)))


def test_a_run_asks_for_at_most_max_pages_articles_and_counts_the_rest():
    seed = SEEDS["qhzgh"]
    known = [_known(seed, n) for n in range(1, 21)]
    new = [(seed.absolute(f"/html/gzdt/20250702/{n}.html"), None) for n in range(500, 600)]
    listed = [(k.url, "2025-06-01") for k in known[:19]]  # 20 is gone: absent if it were whole
    spider = _spider(seed, known, max_pages=10)
    asked = [r for r in _read(spider, urlset(*new, *listed)) if isinstance(r, Request)]
    assert [r.url for r in asked] == [url for url, _ in new[:10]]
    stats = spider.crawler.stats
    assert stats.get_value("gonghui/sitemap/over_cap") == 90
    assert stats.get_value("gonghui/sitemap/listed") == 119
    assert stats.get_value("gonghui/sitemap/absent") is None  # over the cap: not whole
    assert spider._sitemaps.listed == {k.canonical_url for k in known[:19]}  # archived only


def test_an_index_naming_thousands_leads_to_max_documents_sitemaps():
    seed = SEEDS["qhzgh"]
    spider = _spider(seed, [])
    names = "".join(
        f"<sitemap><loc>{seed.absolute(f'/s{n}.xml')}</loc></sitemap>" for n in range(3000)
    )
    out = _read(spider, f"<sitemapindex {NS}>{names}</sitemapindex>".encode(), "/index.xml")
    asked = [r for r in out if isinstance(r, Request)]
    assert len(asked) == sitemaps.MAX_DOCUMENTS - 1  # the index itself is one
    skipped = spider.crawler.stats.get_value("gonghui/sitemap/documents_skipped")
    assert skipped == 3000 - len(asked)
    assert not spider._sitemaps.whole


def test_reading_gives_the_reactor_turns_and_stops_when_the_crawl_stops(big_site):
    spider = _spider(SEEDS["qhzgh"], [], origin=big_site.origin)  # its article URLs
    engine = SimpleNamespace(running=True, _slot=None)
    spider.crawler._engine = engine
    spider.crawler.crawling = True
    body = (big_site.folder / "0.xml").read_bytes()
    request = spider._sitemap_request(big_site.origin + "/sitemaps/0.xml", depth=0)
    output = spider._sitemap(Response(request.url, body=body, request=request))
    started = time.monotonic()
    for item in output:
        if item is PAUSE:
            break
    assert time.monotonic() - started < 0.5  # a turn comes within a slice of reading
    engine.running = False  # SIGTERM: Scrapy's engine stops
    asked = [r for r in output if isinstance(r, Request)]
    assert time.monotonic() - started < 1
    assert len(asked) <= 256  # what it read before its next look, at most
    assert spider.crawler.stats.get_value("gonghui/sitemap/stopped") == 1
    assert not spider._sitemaps.whole and spider._sitemaps.read == 0


def test_a_sitemap_may_be_50_mb_and_one_inflating_past_it_is_counted():
    spider = _spider(SEEDS["qhzgh"], [])
    request = spider._sitemap_request(spider.seed.absolute("/sitemap.xml"), depth=0)
    assert request.meta["download_maxsize"] == 50 * 1024 * 1024  # pages stop at 32 MB
    failure = Failure(  # Content-Encoding: gzip past download_maxsize, as Scrapy says it
        IgnoreRequest(
            "Ignored response <200 http://x/sitemap.xml> because its body (60000 B compressed, "
            "52428801 B decompressed so far) exceeded DOWNLOAD_MAXSIZE (52428800 B) during "
            "decompression."
        )
    )
    failure.request = request
    assert list(spider._sitemap_failed(failure)) == []
    assert spider.crawler.stats.get_value("gonghui/drop/decompression_limit") == 1
    assert not spider._sitemaps.whole


@pytest.mark.parametrize(
    "url",
    [
        "http://a.cn/html/gzdt/20240101/1.html",
        "http://127.0.0.1:8601/x/1.html",
        "HTTP://A.cn/1.html",
        "http://a.cn:80/1.html",
        "https://a.cn:443/1.html",
        "http://a.cn:443/1.html",
        "http://a.cn/a/./b/../c.html",
        "http://a.cn/.well-known/x",
        "http://a.cn/新闻/1.html",
        "http://a.cn/a b.html",
        "http://a.cn/a%2fb.html",
        "http://a.cn/1.html?b=2&a=1",
        "http://a.cn/1.html#top",
        "http://a.cn",
        "http://a.cn//x.html",
        "http://a.cn/~u/x.html",
    ],
)
def test_the_cheap_canonical_url_is_the_archives(url):
    assert sitemaps.canonical(url) == canonical_url(url)
