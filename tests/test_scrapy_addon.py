"""Plain `scrapy crawl gonghui -a site=ID` (README) crawls as politely as `gonghui crawl`: the
seed's [politeness] and the archive's User-Agent, not Scrapy's defaults. A small site of our
own on 127.0.0.1 records each request's User-Agent and arrival time."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from crawler.addon import GonghuiAddon, seed_settings
from crawler.runner import crawl_settings
from crawler.seeds import load_seed_file
from tests.hostile_server import HostileServer, city_article, list_page, text, write_seed

ROOT = Path(__file__).resolve().parent.parent
USER_AGENT = "GonghuiAddonTest/1.0 (+mailto:archive@example.org)"
DELAY = 0.6  # the seed's download_delay: not the project's 2.0, not Scrapy's 0
ARTICLES = ["z1", "z2", "z3"]
SITE = {  # robots.txt 404, /list/z.html links to three articles
    "/robots.txt": text(404, "not found"),
    "/list/z.html": list_page([f"/news/{key}.html" for key in ARTICLES]),
    **{f"/news/{key}.html": city_article(key) for key in ARTICLES},
}


def sitez_seed(folder: Path, origin: str) -> Path:
    return write_seed(
        folder,
        "sitez",
        origin,
        name="戊市总工会",
        start="/list/z.html",
        lists=[r"/list/\w+\.html$"],
        articles=[r"/news/\w+\.html$"],
        politeness={"download_delay": DELAY, "timeout": 12, "max_pages": 40},
    )


@dataclass
class Crawled:
    result: subprocess.CompletedProcess[str]
    site: HostileServer


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Crawled]:
    tmp = tmp_path_factory.mktemp("scrapy_addon")
    with HostileServer(SITE) as site:
        seeds = sitez_seed(tmp / "seeds", site.origin)
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
    paths = crawled.site.paths()
    assert "/robots.txt" in paths and "/list/z.html" in paths, paths
    assert {hit.headers.get("User-Agent", "") for hit in crawled.site.log} == {USER_AGENT}


def test_requests_are_spaced_by_the_seeds_delay(crawled):
    times = sorted(hit.at for hit in crawled.site.log if hit.path != "/robots.txt")
    assert len(times) == 1 + len(ARTICLES), crawled.site.log
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
    sitez_seed(tmp_path, "http://127.0.0.1:1")
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
