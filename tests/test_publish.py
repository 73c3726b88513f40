"""The datasette-ready archive (archive.publish): one small archive per backend (SQLite and
PostgreSQL), published once, served by one real `datasette serve` process, searched through
its JSON API for two-character Chinese words and longer phrases."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from archive.bigrams import fts5_query
from archive.db import make_engine
from archive.errors import DatabaseError, StorageError
from archive.export_schema import field_names
from archive.publish import publish_sqlite
from archive.publish_views import SEARCH_TERMS_SQL
from archive.records import RunCounts
from archive.store import Archive
from tests.fixtures_db import T0, make_fetch, make_fields

pytestmark = pytest.mark.slow

A_URL = "http://www.acftu.org/xwdt/a.html"  # 劳模 + 总工会, retitled on day 1
B_URL = "http://www.acftu.org/xwdt/b.html"  # neither 工会 nor 劳模
GONE_URL = "http://www.acftu.org/xwdt/gone.html"  # removed on day 1
HANT_URL = "http://www.tibet3.com/news/hant.html"  # published in traditional characters
REPOST_URL = "http://www.workercn.cn/c/repost.html"  # B reposted on another site, day 1
B_BODY = "\n".join(
    [
        "春季职工运动会今天在市体育中心开幕，来自全市各行业的两千余名运动员参加了开幕式。",
        "本届运动会设田径、游泳、篮球、拔河等十二个大项，比赛将持续五天，闭幕式定于周日举行。",
        "组委会表示，运动会旨在丰富职工业余文化生活，增强体质，展现新时代职工的精神风貌。",
    ]
)


def _record(archive: Archive, run: int, site: str, url: str, fields, at: dt.datetime) -> None:
    capture = archive.record_capture(run, site, make_fetch(url, at=at))
    archive.record_article(capture, fields)


def _build(url: str, warc_dir: Path) -> dict[str, int]:
    """Day 0: four articles (one in zh-Hant); day 1: a retitle, a removal, a repost."""
    day1 = T0 + dt.timedelta(days=1)
    with Archive.open(url, warc_dir) as archive:
        archive.ensure_site("acftu", "中华全国总工会", "http://www.acftu.org/")
        archive.ensure_site("workercn", "中工网", "http://www.workercn.cn/")
        archive.ensure_site("tibet3", "西藏职工", "http://www.tibet3.com/")
        first = archive.start_run("acftu")
        _record(archive, first, "acftu", A_URL, make_fields(), T0)
        _record(archive, first, "acftu", B_URL, make_fields(title="职工运动会开幕", body=B_BODY,
                source="体育报", captions=("开幕式现场",)), T0)  # fmt: skip
        _record(archive, first, "acftu", GONE_URL, make_fields(title="即将删除的通知",
                body="本通知稍后撤下。", source=None), T0)  # fmt: skip
        hant = make_fields(title="勞動者之歌", title_hans="劳动者之歌", body="職工代表發言。",
                           body_hans="职工代表发言。", source="西藏日報", script="hant")  # fmt: skip
        archive.finish_run(first, "finished", RunCounts())
        mirror = archive.start_run("tibet3")
        _record(archive, mirror, "tibet3", HANT_URL, hant, T0)
        archive.finish_run(mirror, "finished", RunCounts())
        second = archive.start_run("acftu")
        _record(archive, second, "acftu", A_URL, make_fields(title="全总召开劳动模范座谈会"), day1)
        gone = archive.record_capture(second, "acftu", make_fetch(GONE_URL, at=day1, status=404))
        archive.record_removal(gone, "http_404")
        archive.finish_run(second, "finished", RunCounts())
        third = archive.start_run("workercn")
        _record(archive, third, "workercn", REPOST_URL, make_fields(title="职工运动会开幕",
                body=B_BODY, source="中工网"), day1)  # fmt: skip
        archive.finish_run(third, "finished", RunCounts())
        return {"day0": mirror, "day1": second}


@pytest.fixture(scope="module")
def published(module_database_url, tmp_path_factory):
    folder = tmp_path_factory.mktemp("publish")
    runs = _build(module_database_url, folder / "warc")
    with Archive.open(module_database_url, folder / "warc", migrate=False) as archive:
        counts = publish_sqlite(archive.engine, folder / "public.sqlite3")
        since = publish_sqlite(archive.engine, folder / "since.sqlite3", since_run=runs["day0"])
    return {"folder": folder, "counts": counts, "since": since, "url": module_database_url}


@pytest.fixture(scope="module")
def db(published):
    conn = sqlite3.connect(published["folder"] / "public.sqlite3")
    conn.row_factory = sqlite3.Row
    yield conn
    conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def datasette(published):
    """`datasette serve public.sqlite3 -m public.metadata.json` on 127.0.0.1: a GET helper."""
    folder = published["folder"]
    port = _free_port()
    log = open(folder / "datasette.log", "wb")  # closed at teardown
    proc = subprocess.Popen(
        [sys.executable, "-m", "datasette", "serve", "public.sqlite3", "-m",
         "public.metadata.json", "--host", "127.0.0.1", "--port", str(port)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"

    def get(path: str, **params: str):
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{base}{path}?{query}", timeout=30) as response:
            text = response.read().decode("utf-8")
        return json.loads(text) if path.endswith(".json") else text

    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                get("/-/versions.json")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        f"datasette did not start: {(folder / 'datasette.log').read_text()}"
                    )
                time.sleep(0.2)
        yield get
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


# -- through datasette ---------------------------------------------------------------------------


def _titles(rows) -> set[str]:
    return {row["title"] for row in rows}


def test_datasette_search_box_finds_two_character_words(datasette):
    rows = datasette("/public/current_articles.json", _search="工会", _shape="array")
    assert _titles(rows) == {"全总召开劳动模范座谈会"}  # 中华全国总工会 in its body
    rows = datasette("/public/current_articles.json", _search="劳模", _shape="array")
    assert _titles(rows) == {"全总召开劳动模范座谈会"}  # 与会劳模代表 in its body
    assert "职工运动会开幕" not in _titles(rows)
    # two words: both must be there
    rows = datasette("/public/current_articles.json", _search="劳模 座谈", _shape="array")
    assert [row["url"] for row in rows] == [A_URL]
    assert datasette("/public/current_articles.json", _search="劳模 运动", _shape="array") == []
    rows = datasette("/public/articles_fts.json", _search="工会", _shape="array")
    assert len(rows) == 1


def test_search_query_finds_a_phrase_typed_whole(datasette):
    def search(q: str) -> list[str]:
        return [row["url"] for row in datasette("/public/search.json", q=q, _shape="array")]

    assert search("劳动模范") == [A_URL]
    assert search("劳模") == [A_URL]
    assert sorted(search("运动会开幕")) == sorted([B_URL, REPOST_URL])
    assert search("劳动模范 工会") == [A_URL]
    assert search("劳动 模范 运动会") == []  # no article has all three
    assert search("模范劳动") == []  # the characters must stand together, in order
    assert search("勞動者") == [HANT_URL]  # the page's own traditional script
    assert search("劳动者") == [HANT_URL]  # and its zh-Hans reading
    assert search("") == []  # an empty box is no error


def test_datasette_serves_the_descriptions(datasette):
    meta = datasette("/-/metadata.json")
    tables = meta["databases"]["public"]["tables"]
    assert "current_articles" in tables and tables["current_articles"]["fts_table"]
    page = datasette("/public/current_articles", _search="工会")
    assert 'name="_search"' in page  # the search box
    assert '<a href="search">the search query</a>' in page  # and the way to a longer phrase
    page = datasette("/public/changes.json", _shape="array")
    assert [(r["previous_title"], r["title"]) for r in page if r["change_class"] == "retitle"] == [
        ("全总召开劳模座谈会", "全总召开劳动模范座谈会")
    ]


# -- the file itself -----------------------------------------------------------------------------


def test_only_public_tables_views_and_the_index_are_published(db):
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    public = {
        "site",
        "run",
        "page",
        "article_text",
        "reprint_cluster",
        "capture",
        "article_version",
    }
    assert public <= names
    assert not names & {"minhash", "lsh_band", "owed_page", "alembic_version", "site_lease"}
    derived = {n for n in names - public if not n.startswith("articles_fts")}
    assert derived == {"current_articles", "sqlite_stat1"}
    views = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'view'")}
    assert views == {"changes", "removals", "reprints"}


def test_json_columns_are_readable_utf8_and_timestamps_iso(db):
    row = db.execute("SELECT captions, first_seen_at FROM current_articles WHERE url = ?", [B_URL])
    captions, first_seen = row.fetchone()
    assert captions == '["开幕式现场"]'  # not "\\u5f00..."
    assert first_seen == "2024-05-01T08:00:00Z"
    (headers,) = db.execute("SELECT headers FROM capture LIMIT 1").fetchone()
    assert json.loads(headers) == [["Content-Type", "text/html"]]


def test_foreign_keys_are_declared_and_hold(db):
    keys = {
        (table, row["from"], row["table"])
        for table in ("page", "capture", "article_version", "reprint_cluster", "run")
        for row in db.execute(f"PRAGMA foreign_key_list({table})")
    }
    assert ("reprint_cluster", "original_page_id", "page") in keys
    assert ("article_version", "text_id", "article_text") in keys
    assert ("page", "cluster_id", "reprint_cluster") in keys
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


def test_views_answer_what_people_ask(db, published):
    current = {r["url"]: r for r in db.execute("SELECT * FROM current_articles")}
    assert current[A_URL]["title"] == "全总召开劳动模范座谈会" and current[A_URL]["versions"] == 2
    assert current[A_URL]["published_clock"] == "08:00:00"
    # the columns of the articles export, in its order: one schema for every format
    assert list(current[A_URL].keys()) == list(field_names("articles"))
    removed = db.execute("SELECT url, removal, title FROM removals").fetchall()
    assert [tuple(r) for r in removed] == [(GONE_URL, "http_404", "即将删除的通知")]
    reprints = db.execute("SELECT url, is_original FROM reprints ORDER BY url").fetchall()
    assert [tuple(r) for r in reprints] == [(B_URL, 1), (REPOST_URL, 0)]
    counts = published["counts"]
    assert counts["current_articles"] == counts["articles_fts"] == 5
    assert counts["article_version"] == 7 and counts["bytes"] > 0


def test_metadata_describes_every_table_view_and_column(published, db):
    meta = json.loads((published["folder"] / "public.metadata.json").read_text("utf-8"))
    tables = meta["databases"]["public"]["tables"]
    listed = db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    for (name,) in listed:
        if name.startswith("articles_fts_") or name == "sqlite_stat1":
            continue  # FTS5's shadow tables and ANALYZE's statistics: datasette hides them
        assert tables[name]["description"], name
        columns = [row[1] for row in db.execute(f'PRAGMA table_info("{name}")')]
        undescribed = [c for c in columns if not tables[name]["columns"].get(c)]
        assert not undescribed, f"{name}: describe {undescribed} in archive/publish_schema.py"
    assert "search" in meta["databases"]["public"]["queries"]


def test_since_run_publishes_only_what_later_runs_changed(published):
    conn = sqlite3.connect(published["folder"] / "since.sqlite3")
    try:
        urls = {row[0] for row in conn.execute("SELECT url FROM current_articles")}
        assert urls == {A_URL, GONE_URL, REPOST_URL}  # retitled, removed, new
        versions = conn.execute("SELECT change_class FROM article_version ORDER BY id").fetchall()
        assert sorted(v for (v,) in versions) == ["new", "removed", "retitle"]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    assert published["since"]["article_version"] == 3


def test_changed_since_publishes_the_versions_first_seen_from_then(published, tmp_path):
    engine = make_engine(published["url"])
    try:
        since = T0 + dt.timedelta(hours=12)  # between day 0 and day 1
        counts = publish_sqlite(engine, tmp_path / "day1.sqlite3", changed_since=since)
    finally:
        engine.dispose()
    assert counts["article_version"] == 3 and counts["current_articles"] == 3


# -- failures leave nothing half-written ---------------------------------------------------------


def test_a_failed_publication_leaves_the_old_file_whole(published, tmp_path):
    from sqlalchemy import create_engine

    old = published["folder"] / "public.sqlite3"
    before = old.read_bytes()
    empty = create_engine(f"sqlite:///{tmp_path / 'not-an-archive.sqlite3'}")
    with pytest.raises(DatabaseError):
        publish_sqlite(empty, old)
    assert old.read_bytes() == before
    assert not list(published["folder"].glob(".*.part"))
    with pytest.raises(StorageError, match="it is a folder"):
        publish_sqlite(empty, tmp_path)
    (tmp_path / "link.sqlite3").symlink_to(old)
    with pytest.raises(StorageError, match="it is a symlink"):
        publish_sqlite(empty, tmp_path / "link.sqlite3")
    assert old.read_bytes() == before  # the file the link points to is untouched too
    with pytest.raises(StorageError, match="does not exist"):
        publish_sqlite(empty, tmp_path / "missing" / "x.sqlite3")


# -- the search query's SQL builds what archive.bigrams builds in Python -------------------------


@pytest.mark.parametrize(
    "query", ["工会", "劳动模范", "会", "中华全国总工会", "ACFTU", "劳动，模范", "工会 劳模", ""]
)
def test_search_sql_builds_the_same_fts5_query_as_python(query):
    conn = sqlite3.connect(":memory:")
    (built,) = conn.execute(SEARCH_TERMS_SQL + "SELECT expr FROM query", {"q": query}).fetchone()
    expected = fts5_query(query)
    if expected is None:
        assert built is None
    else:
        assert sorted(built.split(" AND ")) == sorted(expected.split(" AND "))


# -- through the CLI -----------------------------------------------------------------------------


def test_gonghui_export_format_sqlite_writes_the_publication(published, tmp_path):
    """`gonghui export --format sqlite -o PATH` (crawler/cli/export.py) publishes the same."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
    env["GONGHUI_DATABASE_URL"] = published["url"]
    result = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "export", "--format", "sqlite", "-o",
         "out.sqlite3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    conn = sqlite3.connect(tmp_path / "out.sqlite3")
    try:
        count = conn.execute("SELECT count(*) FROM current_articles").fetchone()[0]
    finally:
        conn.close()
    assert count == published["counts"]["current_articles"]
    meta = json.loads((tmp_path / "out.metadata.json").read_text("utf-8"))
    assert "out" in meta["databases"]
