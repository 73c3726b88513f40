"""The search index behind the web view (archive.search), on SQLite and PostgreSQL: kept by
the store as versions are written, built by migration 0007 for an archive made before it,
filters, zh-Hant pages found by zh-Hans words, snippets marked in the text."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect

from archive import db, search, search_query
from archive.search_query import SearchFilters
from tests.fixtures_db import T0, make_fetch, make_fields

URL = "http://www.acftu.org/xwdt/202405/t20240501_{}.html"


@pytest.fixture
def run_id(archive):
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    return archive.start_run("acftu", trigger="manual")


def _store(archive, run_id, n, at=T0, **fields):
    capture_id = archive.record_capture(run_id, "acftu", make_fetch(URL.format(n), at=at))
    return archive.record_article(capture_id, make_fields(**fields)).page_id


def _found(archive, query, **filters):
    with archive.engine.connect() as conn:
        result = search_query.search(conn, query, SearchFilters(**filters))
    return {hit.page_id for hit in result.hits}


def test_a_new_version_replaces_what_the_page_is_found_by(archive, run_id):
    first = _store(archive, run_id, 1, body="与会劳模代表发言。")
    other = _store(
        archive,
        run_id,
        2,
        title="职工书屋开放",
        body="全市职工书屋今日开放。",
        source="西宁市总工会",
    )
    assert _found(archive, "劳模") == {first}
    assert _found(archive, "工会") == {other}  # its 来源, 西宁市总工会
    assert _found(archive, "劳模代表") == {first} and _found(archive, "代表劳模") == set()
    _store(archive, run_id, 1, at=T0 + dt.timedelta(days=1), body="与会职工代表发言。")
    assert _found(archive, "劳模") == {first}  # still in its title
    assert _found(archive, "劳模代表") == set()  # the body that said it is gone
    assert _found(archive, "职工 代表") == {first}


def test_filters_and_a_zh_hant_page_found_by_zh_hans_words(archive, run_id):
    old = _store(archive, run_id, 1, published=dt.date(2023, 1, 5), source="工人日报")
    hant = _store(
        archive,
        run_id,
        2,
        title="全總召開勞模座談會",
        body="西寧市總工會舉辦職工書屋活動。",
        title_hans="全总召开劳模座谈会",
        body_hans="西宁市总工会举办职工书屋活动。",
        script="hant",
        source="青海工人報",
    )
    assert _found(archive, "劳模座谈") == {old, hant}
    assert _found(archive, "勞模") == {old, hant}  # a zh-Hant query reads as zh-Hans too
    assert _found(archive, "工人报") == {hant}  # its 来源, read as zh-Hans
    assert _found(archive, "劳模", date_to=dt.date(2023, 12, 31)) == {old}
    assert _found(archive, "劳模", source="工人日报") == {old}
    assert _found(archive, "劳模", site_id="nowhere") == set()
    assert _found(archive, "劳模", removed=True) == set()
    assert _found(archive, "劳模", reprinted=False) == {old, hant}
    assert _found(archive, "劳模", reprinted=True) == set()
    with archive.engine.connect() as conn:
        (hit,) = search_query.search(conn, "职工书屋").hits
    assert hit.page_id == hant
    assert ("职工书屋", True) in hit.snippet  # marked in the zh-Hans reading it matched


def test_migration_0007_indexes_an_archive_made_before_it(archive, run_id, database_url):
    page = _store(archive, run_id, 1)
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    with archive.engine.connect() as conn:  # back to revision 0006, as before the index
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006")
        conn.commit()
        assert not inspect(conn).has_table(search.SEARCH_TABLE)
    db.migrate(database_url)
    assert _found(archive, "座谈会") == {page}


def test_snippets_are_parts_for_the_template_to_escape():
    parts = search_query.snippet("<b>工会</b>召开会议", None, ["工会"])
    assert parts == [("<b>", False), ("工会", True), ("</b>召开会议", False)]
