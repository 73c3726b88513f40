"""Plain `scrapy crawl gonghui -a site=ID` (README) crawls as politely as `gonghui crawl`: the
seed's [politeness] and the archive's User-Agent, not Scrapy's defaults. A small site of our
own on 127.0.0.1 records each request's User-Agent and arrival time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest

from crawler.addon import GonghuiAddon, seed_settings
from crawler.runner import crawl_settings
from crawler.seeds import load_seed_file
from tests.test_politeness import Answer, article, list_page

ROOT = Path(__file__).resolve().parent.parent
USER_AGENT = "GonghuiAddonTest/1.0 (+mailto:archive@example.org)"
DELAY = 0.6  # the seed's download_delay: not the project's 2.0, not Scrapy's 0
SEED = """\
id = "sitez"
name = "戊市总工会"
base_url = "{origin}/"
start_urls = ["/list/z.html"]
list_patterns = ['/list/\\w+\\.html$']
article_patterns = ['/news/\\w+\\.html$']

[politeness]
download_delay = {delay}
timeout = 12
max_pages = 40
"""
ARTICLES = ["z1", "z2", "z3"]


@dataclass(frozen=True)
class Request:
    at: float
    path: str
    user_agent: str


class RecordingSite:
    """Answers robots.txt with 404, /list/z.html with links to three articles, and the articles;
    records every request."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.requests.append(
                    Request(time.monotonic(), self.path, self.headers.get("User-Agent", ""))
                )
                status, headers, body = site.route(self.path)
                self.send_response(status)
                for name, value in {"Content-Length": str(len(body)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def route(path: str) -> Answer:
        if path == "/list/z.html":
            return list_page([f"/news/{key}.html" for key in ARTICLES])
        if (m := re.fullmatch(r"/news/(\w+)\.html", path)) and m.group(1) in ARTICLES:
            return article(m.group(1))
        return 404, {"Content-Type": "text/plain"}, b"not found"


@dataclass
class Crawled:
    result: subprocess.CompletedProcess[str]
    site: RecordingSite


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    tmp = tmp_path_factory.mktemp("scrapy_addon")
    seeds = tmp / "seeds"
    seeds.mkdir()
    site = RecordingSite()
    site.thread.start()
    try:
        (seeds / "sitez.toml").write_text(
            SEED.format(origin=site.origin, delay=DELAY), encoding="utf-8"
        )
        env = {
            **os.environ,
            "GONGHUI_DATABASE_URL": f"sqlite:///{tmp / 'archive.sqlite3'}",
            "GONGHUI_WARC_DIR": str(tmp / "warc"),
            "GONGHUI_SEEDS_DIR": str(seeds),
            "GONGHUI_USER_AGENT": USER_AGENT,
        }
        # -s on the command line still beats the seed (the seed says timeout = 12).
        argv = ["crawl", "gonghui", "-a", "site=sitez", "-s", "DOWNLOAD_TIMEOUT=17"]
        result = subprocess.run(
            [sys.executable, "-m", "scrapy", *argv, "-s", "LOG_LEVEL=INFO"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,  # scrapy.cfg names the project settings
            env=env,
        )
        yield Crawled(result, site)
    finally:
        site.server.shutdown()
        site.server.server_close()


pytestmark = pytest.mark.slow


def overridden_settings(log: str) -> str:
    """The block Scrapy logs at INFO once the crawler's settings are final."""
    m = re.search(r"Overridden settings:\n(\{.*?\})", log, re.S)
    assert m, log[-3000:]
    return m.group(1)


def test_scrapy_crawl_finishes_and_archives_the_articles(crawled):
    assert crawled.result.returncode == 0, crawled.result.stderr[-3000:]
    assert "'finish_reason': 'finished'" in crawled.result.stderr
    assert "'gonghui/articles_archived': 3" in crawled.result.stderr
    assert "Enabled addons:\n[crawler.addon.GonghuiAddon]" in crawled.result.stderr


def test_every_request_carries_the_archives_user_agent(crawled):
    paths = [r.path for r in crawled.site.requests]
    assert "/robots.txt" in paths and "/list/z.html" in paths, paths
    assert {r.user_agent for r in crawled.site.requests} == {USER_AGENT}


def test_requests_are_spaced_by_the_seeds_delay(crawled):
    times = sorted(r.at for r in crawled.site.requests if r.path != "/robots.txt")
    assert len(times) == 1 + len(ARTICLES), crawled.site.requests
    gaps = [later - earlier for earlier, later in pairwise(times)]
    # Scrapy waits between 0.5 and 1.5 times DOWNLOAD_DELAY (its default jitter).
    assert min(gaps) >= 0.5 * DELAY - 0.02, gaps


def test_the_crawlers_settings_are_the_seeds_and_the_command_lines(crawled):
    settings = overridden_settings(crawled.result.stderr)
    assert f"'DOWNLOAD_DELAY': {DELAY}" in settings, settings
    assert f"'USER_AGENT': '{USER_AGENT}'" in settings, settings
    assert "'CLOSESPIDER_PAGECOUNT': 40" in settings, settings
    assert "'CONCURRENT_REQUESTS': 1," in settings, settings
    assert "'DOWNLOAD_TIMEOUT': '17'" in settings, settings  # -s beats the seed's 12


# -- one mapping for both paths, without a crawl -------------------------------------------------


def test_gonghui_crawl_and_scrapy_crawl_share_one_seed_mapping(tmp_path):
    (tmp_path / "sitez.toml").write_text(
        SEED.format(origin="http://127.0.0.1:1", delay=DELAY), encoding="utf-8"
    )
    seed = load_seed_file(tmp_path / "sitez.toml")
    settings = crawl_settings(seed, database_url="sqlite://", warc_dir=tmp_path, user_agent="UA")
    for name, value in seed_settings(seed).items():
        assert settings[name] == value, name
        assert settings.getpriority(name) == 30, name  # "spider"


def test_addon_sets_the_user_agent_below_the_project_and_command_line(monkeypatch):
    from scrapy.settings import Settings

    monkeypatch.setenv("GONGHUI_USER_AGENT", USER_AGENT)
    settings = Settings()
    GonghuiAddon().update_settings(settings)
    assert settings["USER_AGENT"] == USER_AGENT
    assert settings.getpriority("USER_AGENT") == 15  # "addon"
    settings.set("USER_AGENT", "from -s", priority="cmdline")
    GonghuiAddon().update_settings(settings)
    assert settings["USER_AGENT"] == "from -s"
