"""End to end: the real spider crawls the replica sites (a `gonghui crawl` subprocess, as a
user runs it) into SQLite and PostgreSQL, twice; the archive is checked against the replica's
ground truth."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import ArticleVersion, Capture, Page, Run
from archive.store import Archive
from crawler.replica.server import SITE_IDS, ReplicaServer
from crawler.replica.truth import TruthArticle, all_truth

pytestmark = pytest.mark.slow

NOISE = (
    "ICP备",
    "版权所有",
    "上一篇",
    "下一篇",
    "版面导航",
    "浏览",
    "瀏覽",
    ".jpg",
    "[详情]",
    "[詳情]",
    "微博 微信",
    "放大 缩小",
    "站内检索",
    "关闭",
    "更多>",
)
TABLES = (Page, ArticleVersion, Capture, Run)
TONE_MARKS = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü"


@dataclass
class Crawled:
    database_url: str
    warc_dir: Path
    replica: ReplicaServer
    first: dict[str, int]  # rows per table after the first crawl
    second: dict[str, int]  # ... after the second
    second_output: str
    crawl_log: list  # the replica's request log right after the two crawls


def gonghui_argv(
    *args: str, database_url: str, warc_dir: Path, seeds_dir: Path | None = None
) -> list[str]:
    """The command line of `gonghui ARGS` on this archive (and seeds folder), as a user types it."""
    seeds = ["--seeds-dir", str(seeds_dir)] if seeds_dir is not None else []
    return [
        sys.executable,
        "-m",
        "crawler.cli.main",
        "--database",
        database_url,
        "--warc-dir",
        str(warc_dir),
        *seeds,
        *args,
    ]


def gonghui(*args: str, database_url: str, warc_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        gonghui_argv(*args, database_url=database_url, warc_dir=warc_dir),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def warcio_index_names_a_response_in_each(files: list[Path]) -> bool:
    """`warcio index` reads every file to the end (one process for all of them, each line
    naming its file) and finds a response record in each."""
    warcio = Path(sys.executable).parent / "warcio"
    argv = [str(warcio), "index", "-f", "warc-type,filename", *map(str, files)]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    with_response = {e["filename"] for e in lines if e["warc-type"] == "response"}
    return with_response == {path.name for path in files}


def row_counts(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    with Session(engine) as session:
        counts = {
            t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
            for t in TABLES
        }
    engine.dispose()
    return counts


@pytest.fixture(scope="module")
def crawled(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crawled]:
    url = module_database_url
    tmp = tmp_path_factory.mktemp("crawl")
    with ReplicaServer() as replica:  # its own, so its request log holds only these crawls
        origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
        first = gonghui("crawl", "--all", *origins, database_url=url, warc_dir=tmp / "warc")
        assert first.returncode == 0, first.stderr[-3000:]
        counts1 = row_counts(url)
        second = gonghui("crawl", "--all", *origins, database_url=url, warc_dir=tmp / "warc")
        assert second.returncode == 0, second.stderr[-3000:]
        yield Crawled(
            url,
            tmp / "warc",
            replica,
            counts1,
            row_counts(url),
            second.stdout,
            list(replica.request_log),
        )


def current_versions(database_url: str) -> dict[str, ArticleVersion]:
    """Page URL path -> latest version."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(select(Page, ArticleVersion).join(ArticleVersion)).all()
        latest: dict[str, ArticleVersion] = {}
        for page, version in rows:
            path = "/" + page.url.split("/", 3)[3]
            if path not in latest or version.version_no > latest[path].version_no:
                latest[path] = version
            session.expunge(version)
    engine.dispose()
    return latest


def by_site(truth: list[TruthArticle], versions: dict[str, ArticleVersion]) -> None:
    missing = [t.path for t in truth if t.path not in versions]
    assert not missing, f"articles not archived: {missing}"


def test_every_replica_article_is_archived_with_title_date_and_source_of_the_ground_truth(crawled):
    versions = current_versions(crawled.database_url)
    truth = all_truth()
    assert {t.site_id for t in truth} == set(SITE_IDS)
    by_site(truth, versions)
    for t in truth:
        v = versions[t.path]
        assert (v.title, str(v.published), v.source) == (t.title, t.published, t.source), t.path


def test_subtitle_kicker_author_and_captions_match_the_ground_truth(crawled):
    versions = current_versions(crawled.database_url)
    for t in all_truth():
        v = versions[t.path]
        assert (v.kicker, v.subtitle, v.author) == (t.kicker, t.subtitle, t.author), t.path
        assert tuple(v.captions or ()) == t.captions, t.path


def test_bodies_hold_every_paragraph_and_none_of_the_page_noise(crawled):
    versions = current_versions(crawled.database_url)
    for t in all_truth():
        body = versions[t.path].body
        assert body.split("\n") == list(t.body), t.path
        for noise in (*NOISE, *t.must_not_contain):
            assert noise not in body, f"{t.path}: {noise!r} in body"
        for caption in t.captions:
            assert caption not in body.split("\n"), f"{t.path}: caption {caption!r} in body"


def test_legitimate_parentheses_stay_in_the_body(crawled):
    bodies = "\n".join(v.body for v in current_versions(crawled.database_url).values())
    assert "(西宁市总工会)" in bodies
    assert "150场(次)" in bodies


def test_tibet3_versions_keep_a_zh_hans_reading_and_count_the_lost_characters(crawled):
    versions = current_versions(crawled.database_url)
    tibet3 = [t for t in all_truth() if t.site_id == "tibet3"]
    for t in tibet3:
        v = versions[t.path]
        assert v.body.split("\n") == list(t.body), t.path  # the published text, untouched
        assert v.script == "hant" and v.body_hans and v.title_hans, t.path
        hans = v.title_hans + "\n" + v.body_hans
        assert not re.search(f"[{TONE_MARKS}]", hans), t.path
        assert not set("網勞會動進關實個務業") & set(hans), t.path
        # Every ? the mirror printed stands for a lost character: its truth asks no question.
        planted = sum(s.count("?") for s in (t.title, *t.body))
        assert v.lost_chars == planted, t.path
        assert v.artefacts_removed and v.artefacts_removed > 0, t.path
    assert sum(versions[t.path].lost_chars or 0 for t in tibet3) > 0


def test_zh_hans_sites_store_no_second_copy_and_keep_their_parentheses(crawled):
    versions = current_versions(crawled.database_url)
    others = [versions[t.path] for t in all_truth() if t.site_id != "tibet3"]
    assert all(v.script == "hans" and v.body_hans is None for v in others)
    assert all(v.lost_chars == 0 and v.artefacts_removed == 0 for v in others)
    bodies = "\n".join(v.body_hans or v.body for v in others)
    assert "(西宁市总工会)" in bodies and "150场(次)" in bodies


def test_second_crawl_adds_no_version_and_only_captures_and_runs(crawled):
    first, second = crawled.first, crawled.second
    assert second["article_version"] == first["article_version"]
    assert second["page"] == first["page"]
    # The second crawl is incremental: known articles are re-checked (304s on the sites that
    # answer conditional requests), lists are not walked past known articles.
    assert first["capture"] < second["capture"] < 2 * first["capture"]
    assert second["run"] == 2 * first["run"] == 2 * len(SITE_IDS)
    assert "new versions" in crawled.second_output


def test_each_run_counts_its_drops_by_reason(crawled):
    engine = make_engine(crawled.database_url)
    with Session(engine) as session:
        runs = session.scalars(select(Run)).all()
        assert {r.status for r in runs} == {"finished"}
        full = [r for r in runs if r.mode == "full"]
        assert len(full) == len(SITE_IDS)  # the first crawl; the second was incremental
        # Each site links one missing page; the full crawl reaches it and says why it dropped.
        assert all(r.drops.get("http_404") == 1 for r in full), [r.drops for r in full]
        assert sum(r.new_versions for r in runs) == len(all_truth())
    engine.dispose()


def test_warc_files_pass_warcio_index_and_captures_read_back_byte_identical(crawled):
    files = sorted(crawled.warc_dir.rglob("*.warc.gz"))
    assert len(files) == 2 * len(SITE_IDS)
    assert warcio_index_names_a_response_in_each(files)
    archive = Archive.open(crawled.database_url, crawled.warc_dir, migrate=False)
    try:
        with Session(archive.engine) as session:
            rows = session.execute(
                select(ArticleVersion.capture_id, Capture.url).join(
                    Capture, Capture.id == ArticleVersion.capture_id
                )
            ).all()
        for capture_id, url in rows:
            with urllib.request.urlopen(url) as served:  # the replica serves fixed bytes
                assert archive.read_capture_payload(capture_id) == served.read(), url
    finally:
        archive.close()


def test_crawl_obeys_robots_txt_sends_an_honest_user_agent_and_stays_on_the_site(crawled):
    log = crawled.crawl_log
    assert log, "the replica saw no request"
    assert not [e for e in log if e.path.startswith(("/search", "/admin/"))]
    assert all("GonghuiArchive" in (e.user_agent or "") for e in log)
    assert {e.path for e in log if e.path == "/robots.txt"}
