import datetime as dt

import pytest
from sqlalchemy import func, select

from archive import db
from archive.errors import ConfigError, DatabaseError, StorageError
from archive.models import ArticleText, ArticleVersion, Capture, Page, Run
from archive.records import RunCounts
from archive.store import Archive
from tests.fixtures_db import GBK_PAGE, T0, make_fetch, make_fields

URL = "http://www.acftu.org/xwdt/202405/t20240501_1.html"
LATER = T0 + dt.timedelta(days=1)


@pytest.fixture
def run_id(archive):
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    return archive.start_run("acftu", trigger="manual")


def _versions(archive):
    with archive.engine.connect() as conn:
        return conn.execute(
            select(
                ArticleVersion.version_no, ArticleVersion.title, ArticleVersion.last_seen_at
            ).order_by(ArticleVersion.version_no)
        ).all()


def _record(archive, run_id, fields, *, at=T0, url=URL):
    capture_id = archive.record_capture(run_id, "acftu", make_fetch(url, at=at))
    return capture_id, archive.record_article(capture_id, fields)


def test_same_content_recorded_twice_keeps_one_version(archive, run_id):
    _, first = _record(archive, run_id, make_fields())
    second_capture, second = _record(archive, run_id, make_fields(), at=LATER)
    assert first.is_new_version and first.version_no == 1
    assert not second.is_new_version
    assert (second.version_id, second.version_no) == (first.version_id, 1)
    [(_, _, last_seen_at)] = _versions(archive)
    assert last_seen_at == LATER
    with archive.engine.connect() as conn:
        last_capture = conn.execute(select(ArticleVersion.last_capture_id)).scalar_one()
    assert last_capture == second_capture


def test_view_counter_byline_and_caption_changes_make_no_new_version(archive, run_id):
    _record(archive, run_id, make_fields())
    # the page around the article changed (view counter, footer) and so did byline and captions,
    # and the CMS re-wrapped the text with different whitespace
    reworked = make_fields(
        author="李四",
        captions=("新图注",),
        body="  中华全国总工会今天召开座谈会。\r\n\r\n与会劳模代表发言。 ",
    )
    capture_id = archive.record_capture(
        run_id, "acftu", make_fetch(body=GBK_PAGE + "阅读次数：1024".encode("gbk"), at=LATER)
    )
    outcome = archive.record_article(capture_id, reworked)
    assert not outcome.is_new_version
    assert len(_versions(archive)) == 1


def test_title_change_makes_version_2_and_a_revert_makes_version_3(archive, run_id):
    _record(archive, run_id, make_fields())
    _, changed = _record(archive, run_id, make_fields(title="全总召开劳模座谈会（更新）"), at=LATER)
    assert changed.is_new_version and changed.version_no == 2
    _, reverted = _record(archive, run_id, make_fields(), at=LATER + dt.timedelta(days=1))
    assert reverted.is_new_version and reverted.version_no == 3
    assert [v[1] for v in _versions(archive)] == [
        "全总召开劳模座谈会",
        "全总召开劳模座谈会（更新）",
        "全总召开劳模座谈会",
    ]


def test_versions_keep_the_fields_first_seen(archive, run_id):
    _record(archive, run_id, make_fields())
    _record(archive, run_id, make_fields(author="李四"), at=LATER)
    with archive.engine.connect() as conn:
        author, captions, published = conn.execute(
            select(ArticleVersion.author, ArticleVersion.captions, ArticleVersion.published)
        ).one()
    assert (author, captions, published) == ("张三", ["座谈会现场"], dt.date(2024, 5, 1))


HANT = {
    "title": "勞動(dòng)者之歌",
    "body": "中國藏族網(wǎng)通訊 工會?7月",
    "title_hans": "劳动者之歌",
    "body_hans": "中国藏族网通讯 工会?7月",
    "artefacts_removed": 2,
    "lost_chars": 1,
    "script": "hant",
}


def _hans_columns(archive):
    with archive.engine.connect() as conn:
        return conn.execute(
            select(
                ArticleVersion.title_hans,
                ArticleText.body_hans,
                ArticleVersion.artefacts_removed,
                ArticleVersion.lost_chars,
                ArticleVersion.script,
            )
            .join(ArticleText)
            .order_by(ArticleVersion.version_no)
        ).all()


def test_the_zh_hans_reading_is_stored_beside_the_text_as_published(archive, run_id):
    _record(archive, run_id, make_fields(**HANT))
    with archive.engine.connect() as conn:
        title, body = conn.execute(
            select(ArticleVersion.title, ArticleText.body).join(ArticleText)
        ).one()
    assert (title, body) == (HANT["title"], HANT["body"])
    assert _hans_columns(archive) == [("劳动者之歌", "中国藏族网通讯 工会?7月", 2, 1, "hant")]


def test_a_different_zh_hans_reading_alone_makes_no_new_version(archive, run_id):
    _record(archive, run_id, make_fields(**HANT))
    # a better converter or normaliser reads the same published text differently
    reread = make_fields(**{**HANT, "body_hans": "中国藏族网通讯 工会7月", "lost_chars": 0})
    _, outcome = _record(archive, run_id, reread, at=LATER)
    assert not outcome.is_new_version
    assert _hans_columns(archive) == [("劳动者之歌", "中国藏族网通讯 工会?7月", 2, 1, "hant")]


def test_a_version_stored_before_the_reading_existed_gets_it_when_next_confirmed(
    archive, run_id
):
    never_normalised = {k: v for k, v in HANT.items() if k in ("title", "body")}
    _record(archive, run_id, make_fields(**never_normalised))
    assert _hans_columns(archive) == [(None, None, None, None, None)]
    _, outcome = _record(archive, run_id, make_fields(**HANT), at=LATER)
    assert not outcome.is_new_version
    assert _hans_columns(archive) == [("劳动者之歌", "中国藏族网通讯 工会?7月", 2, 1, "hant")]


def test_the_script_column_takes_only_hans_or_hant(archive, run_id):
    with pytest.raises(DatabaseError):
        _record(archive, run_id, make_fields(script="latin"))


def test_capture_payload_reads_back_byte_identical(archive, run_id):
    capture_id = archive.record_capture(run_id, "acftu", make_fetch())
    assert archive.read_capture_payload(capture_id) == GBK_PAGE
    with archive.engine.connect() as conn:
        capture = conn.execute(select(Capture).where(Capture.id == capture_id)).one()
    assert capture.payload_length == len(GBK_PAGE)
    assert capture.chosen_encoding == "gb18030" and capture.meta_charset == "gbk"
    assert capture.headers == [["Content-Type", "text/html"]]
    assert capture.content_type == "text/html"
    assert capture.warc_filename.startswith("acftu/acftu-")
    assert (archive.warc_dir / capture.warc_filename).is_file()


def test_spellings_of_one_url_share_one_page(archive, run_id):
    first = archive.record_capture(run_id, "acftu", make_fetch(URL + "#top"))
    second = archive.record_capture(
        run_id, "acftu", make_fetch(URL.replace("http://www.acftu.org", "HTTP://WWW.ACFTU.ORG:80"))
    )
    with archive.engine.connect() as conn:
        pages = conn.execute(select(Page.canonical_url, Page.url)).all()
        page_ids = conn.execute(
            select(Capture.page_id).where(Capture.id.in_([first, second]))
        ).scalars()
        assert len(set(page_ids)) == 1
    assert pages == [(URL, URL + "#top")]


def test_page_url_names_the_page_while_the_capture_keeps_the_fetched_url(archive, run_id):
    fetched = "http://127.0.0.1:48213/xwdt/202405/t20240501_1.html"
    capture_id = archive.record_capture(run_id, "acftu", make_fetch(fetched, page_url=URL))
    with archive.engine.connect() as conn:
        assert conn.execute(select(Page.canonical_url)).scalar_one() == URL
        assert conn.execute(select(Capture.url)).scalar_one() == fetched
    assert archive.read_capture_payload(capture_id) == GBK_PAGE


def test_page_tracks_first_and_last_sight_and_last_status(archive, run_id):
    archive.record_capture(run_id, "acftu", make_fetch(at=T0))
    archive.record_capture(run_id, "acftu", make_fetch(at=LATER, status=404, body=b"gone"))
    with archive.engine.connect() as conn:
        page = conn.execute(select(Page)).one()
    assert (page.first_seen_at, page.last_seen_at, page.last_status) == (T0, LATER, 404)


def test_finish_run_stores_counts_and_an_unfinished_run_stays_running(archive, run_id):
    other = archive.start_run("acftu", trigger="schedule")
    counts = RunCounts(pages_fetched=5, articles_archived=3, new_versions=2, errors=1)
    counts.drops["http_404"] = 2
    archive.finish_run(run_id, "finished", counts)
    with archive.engine.connect() as conn:
        runs = {r.id: r for r in conn.execute(select(Run))}
    done = runs[run_id]
    assert done.status == "finished" and done.finished_at is not None
    assert done.finished_at.tzinfo is not None
    assert (done.pages_fetched, done.articles_archived, done.new_versions, done.errors) == (
        5,
        3,
        2,
        1,
    )
    assert done.drops == {"http_404": 2}
    assert runs[other].status == "running" and runs[other].finished_at is None
    with pytest.raises(ValueError, match="finishes as one of"):
        archive.finish_run(other, "running", RunCounts())


def test_each_call_is_committed_before_it_returns(archive, run_id, database_url):
    capture_id, _ = _record(archive, run_id, make_fields())
    # a second process looking at the database while the crawl is still going (or was killed)
    observer = db.make_engine(database_url)
    try:
        with observer.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Capture)).scalar() == 1
            assert conn.execute(select(func.count()).select_from(ArticleVersion)).scalar() == 1
            assert conn.execute(select(Run.status)).scalar_one() == "running"
    finally:
        observer.dispose()
    assert capture_id


def test_a_reopened_archive_appends_to_the_same_run_file(archive, run_id, database_url, tmp_path):
    first = archive.record_capture(run_id, "acftu", make_fetch())
    archive.close()
    with Archive.open(database_url, tmp_path / "warc", migrate=False) as again:
        second = again.record_capture(run_id, "acftu", make_fetch(body=b"second"))
        assert again.read_capture_payload(first) == GBK_PAGE
        assert again.read_capture_payload(second) == b"second"
        with again.engine.connect() as conn:
            files = set(conn.execute(select(Capture.warc_filename)).scalars())
    assert len(files) == 1


def test_ensure_site_updates_an_existing_site(archive):
    archive.ensure_site("acftu", "全总", "https://acftu.org/")
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    from archive.queries import site_overview

    [site] = site_overview(archive.engine)
    assert (site.site_id, site.name, site.base_url) == (
        "acftu",
        "中华全国总工会",
        "https://www.acftu.org/",
    )


@pytest.mark.parametrize("site_id", ["ACFTU", "1site", "acftu-news", ""])
def test_ensure_site_refuses_a_malformed_site_id(archive, site_id):
    with pytest.raises(ConfigError, match="invalid site_id"):
        archive.ensure_site(site_id, "x", "https://x.cn/")


def test_start_run_needs_a_known_site_and_trigger(archive, run_id):
    with pytest.raises(ValueError, match="unknown site"):
        archive.start_run("nosuchsite")
    with pytest.raises(ValueError, match="unknown run trigger"):
        archive.start_run("acftu", trigger="cron")


def test_a_capture_must_belong_to_its_runs_site(archive, run_id):
    archive.ensure_site("workercn", "中工网", "https://www.workercn.cn/")
    with pytest.raises(ValueError, match="belongs to site 'acftu'"):
        archive.record_capture(run_id, "workercn", make_fetch())


def test_open_with_unwritable_warc_dir_raises_storage_error(database_url, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError) as err:
        Archive.open(database_url, blocker / "warc")
    assert str(err.value).startswith(f"cannot use WARC dir {blocker / 'warc'}: ")
    assert "\n" not in str(err.value)


def test_open_with_unreachable_database_raises_one_line_database_error(tmp_path):
    with pytest.raises(DatabaseError) as err:
        Archive.open("postgresql://gonghui:pw@127.0.0.1:9/gonghui", tmp_path / "warc")
    assert str(err.value) == (
        "cannot open database postgresql://gonghui:***@127.0.0.1:9/gonghui: connection refused"
    )
