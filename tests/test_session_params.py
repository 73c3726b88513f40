"""Session ids in links do not multiply pages: a session trap (an old Java/PHP CMS that puts a
fresh id in every link of every page it serves) crawled by a real `gonghui crawl` subprocess,
twice, archives its two articles as two pages and two versions, each page fetched once a crawl.
The seed field ``session_params`` is validated and reaches the spider."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.errors import ConfigError
from archive.models import ArticleVersion, Page
from crawler.seeds import load_seed_file
from tests.hostile_server import Hit, HostileServer, Reply, city_article, page, text
from tests.test_crawl import gonghui_argv

SEED = """\
id = "trap"
name = "会话陷阱市总工会"
base_url = "{origin}/"
start_urls = ["/list/index.jsp"]
list_patterns = ['/list/\\w+\\.jsp']  # unanchored: a link with an id matches too
article_patterns = ['/news/a\\d\\.jsp$']  # anchored: one with an id would not
session_params = ["Token"]

[politeness]
download_delay = 0.05
autothrottle = false
max_pages = 60  # where a trap not defused would end
"""


def fresh() -> str:
    return uuid.uuid4().hex.upper()


def trap_links() -> str:
    """The site's links, each with a session id of this page view (as a CMS rewrites them)."""
    links = [
        f"/list/index.jsp;jsessionid={fresh()}",
        f"/list/page2.jsp?sid={fresh()}&CFID={uuid.uuid4().int % 10**6}&CFTOKEN={fresh()}",
        f"/news/a1.jsp;JSESSIONID={fresh()}.node1",
        f"/news/a2.jsp?PHPSESSID={fresh()}&token={fresh()}",
        f"/news/a1.jsp?ASPSESSIONIDQSTRRQBA={fresh()}",
        f"/news/a2.jsp;jsessionid={fresh()}?Token={fresh()}",
    ]
    return "".join(f"<li><a href='{link}'>工会新闻 {i}</a></li>" for i, link in enumerate(links))


def route(hit: Hit) -> Reply:
    bare = hit.path.split("?")[0].split(";")[0]
    if bare in ("/list/index.jsp", "/list/page2.jsp"):
        return page(f"<ul>{trap_links()}</ul>")
    if bare in ("/news/a1.jsp", "/news/a2.jsp"):
        reply = city_article("陷" + bare[-5])
        nav = f"<ul class='nav'>{trap_links()}</ul></body>".encode()
        return replace(reply, body=reply.body.replace(b"</body>", nav))
    return text(404, "not found")


def counts(database_url: str) -> tuple[int, int, int]:
    """(pages, pages with a version, versions) in the archive."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        pages = session.scalar(select(func.count()).select_from(Page))
        articles = session.scalar(select(func.count(func.distinct(ArticleVersion.page_id))))
        versions = session.scalar(select(func.count()).select_from(ArticleVersion))
    engine.dispose()
    return pages, articles, versions


@pytest.mark.slow
def test_a_session_trap_archives_two_articles_as_two_pages_and_does_not_loop(tmp_path):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    database_url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    with HostileServer({"*": route}) as site:
        (seeds / "trap.toml").write_text(SEED.format(origin=site.origin), encoding="utf-8")
        for crawl in (1, 2):  # the second is incremental: re-checks and links meet again
            before = len(site.log)
            result = subprocess.run(
                gonghui_argv("crawl", "trap", database_url=database_url, warc_dir=tmp_path / "w"),
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env={**os.environ, "GONGHUI_SEEDS_DIR": str(seeds)},
            )
            assert result.returncode == 0, (crawl, result.stdout, result.stderr)
            assert counts(database_url) == (4, 2, 2), (crawl, result.stdout)
            # Every page once a crawl, asked for without the session ids the links carried.
            asked = Counter(hit.path for hit in site.log[before:])
            assert set(asked.values()) == {1}, asked
            assert set(asked) <= {
                "/robots.txt",
                "/list/index.jsp",
                "/list/page2.jsp",
                "/news/a1.jsp",
                "/news/a2.jsp",
            }, asked
    engine = make_engine(database_url)
    with Session(engine) as session:
        urls = set(session.scalars(select(Page.url)))
    engine.dispose()
    assert {u.split("/", 3)[3] for u in urls} == {
        "list/index.jsp",
        "list/page2.jsp",
        "news/a1.jsp",
        "news/a2.jsp",
    }


SEED_MINIMAL = """\
id = "s"
name = "s"
base_url = "http://127.0.0.1:1/"
start_urls = ["/"]
list_patterns = ['/list/']
article_patterns = ['/news/']
"""


def test_session_params_are_names_kept_lowercase_once(tmp_path: Path):
    path = tmp_path / "s.toml"
    path.write_text(SEED_MINIMAL + 'session_params = ["Token", "token", "TK_*"]\n', "utf-8")
    assert load_seed_file(path).session_params == ["token", "tk_*"]
    path.write_text(SEED_MINIMAL, "utf-8")
    assert load_seed_file(path).session_params == []


@pytest.mark.parametrize("bad", ['""', '"a=b"', '"*"', '"to ken"', '"a*b"', "3"])
def test_a_session_param_that_is_not_a_name_is_refused_naming_the_field(tmp_path, bad):
    path = tmp_path / "s.toml"
    path.write_text(SEED_MINIMAL + f"session_params = [{bad}]\n", "utf-8")
    with pytest.raises(ConfigError, match="field 'session_params"):
        load_seed_file(path)
