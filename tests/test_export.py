"""Exports (archive.export) and the read-only queries behind the CLI (archive.queries)."""

import csv
import datetime as dt
import json

import pytest

from archive import export as export_module
from archive import export_query
from archive.errors import StorageError
from archive.export import EXPORT_FIELDS, export_articles
from archive.queries import latest_runs, list_articles, site_overview, versions_for_url
from archive.records import RunCounts
from archive.store import Archive
from tests.fixtures_db import T0, make_fetch, make_fields

A_URL = "http://www.acftu.org/xwdt/202405/t20240501_1.html"
B_URL = "http://www.acftu.org/xwdt/202404/t20240410_2.html"
UNDATED_URL = "http://www.acftu.org/xwdt/undated.html"
W_URL = "https://www.workercn.cn/c/2024-05-03/1.shtml"
LATER = T0 + dt.timedelta(days=3)


@pytest.fixture(scope="module")
def filled(module_database_url, tmp_path_factory):
    """Two sites; one article with two versions, one dated April, one undated, one elsewhere.
    Written once per module and backend: the tests using it only read."""
    archive = Archive.open(module_database_url, tmp_path_factory.mktemp("warc"))
    try:
        yield _fill(archive)
    finally:
        archive.close()


def _fill(archive):
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    archive.ensure_site("workercn", "中工网", "https://www.workercn.cn/")
    run = archive.start_run("acftu")

    def record(site_run, site, url, fields, at=T0):
        capture_id = archive.record_capture(site_run, site, make_fetch(url, at=at))
        return capture_id, archive.record_article(capture_id, fields)

    record(run, "acftu", A_URL, make_fields())
    record(run, "acftu", A_URL, make_fields(title="劳模座谈会召开（更新）"), at=LATER)
    record(run, "acftu", B_URL, make_fields(title="四月新闻", published=dt.date(2024, 4, 10)))
    record(
        run,
        "acftu",
        UNDATED_URL,
        make_fields(title="无日期", published=None, published_time=None, captions=()),
        at=LATER,
    )
    archive.finish_run(run, "finished", RunCounts(pages_fetched=4, articles_archived=4))
    other = archive.start_run("workercn", trigger="schedule")
    record(other, "workercn", W_URL, make_fields(title="中工网报道", source="中工网"))
    return archive


def _jsonl(archive, tmp_path, **kwargs):
    out = tmp_path / "articles.jsonl"
    count = export_articles(archive.engine, "jsonl", out, **kwargs)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert count == len(rows)
    return rows


def test_jsonl_export_round_trips_chinese_text_of_current_versions(filled, tmp_path):
    rows = _jsonl(filled, tmp_path)
    assert [list(row) for row in rows] == [list(EXPORT_FIELDS)] * 4
    by_url = {row["url"]: row for row in rows}
    a = by_url[A_URL]
    assert a["title"] == "劳模座谈会召开（更新）"
    assert a["body"] == "中华全国总工会今天召开座谈会。\n与会劳模代表发言。"
    assert (a["version_no"], a["versions"]) == (2, 2)
    assert a["site_id"] == "acftu" and a["site_name"] == "中华全国总工会"
    assert a["published"] == "2024-05-01" and a["published_clock"] == "08:00:00"
    assert a["captions"] == ["座谈会现场"]
    assert a["first_seen_at"] == "2024-05-01T08:00:00Z"
    assert a["last_seen_at"] == "2024-05-04T08:00:00Z"
    assert a["warc_filename"].startswith("acftu/") and isinstance(a["warc_offset"], int)
    assert filled.read_capture_payload(a["capture_id"]) == make_fetch().body
    assert by_url[UNDATED_URL]["published"] is None
    assert "工会" in (tmp_path / "articles.jsonl").read_bytes().decode("utf-8")  # not \\u escapes
    assert not list(tmp_path.glob(".*.part"))  # the temp file was renamed into place


def test_csv_export_round_trips_with_a_header_and_json_captions(filled, tmp_path):
    out = tmp_path / "articles.csv"
    assert export_articles(filled.engine, "csv", out) == 4
    with open(out, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = [dict(zip(header, row, strict=True)) for row in reader]
    assert tuple(header) == EXPORT_FIELDS
    a = next(row for row in rows if row["url"] == A_URL)
    assert a["title"] == "劳模座谈会召开（更新）"
    assert a["body"] == "中华全国总工会今天召开座谈会。\n与会劳模代表发言。"
    assert json.loads(a["captions"]) == ["座谈会现场"]
    assert a["versions"] == "2"
    undated = next(row for row in rows if row["url"] == UNDATED_URL)
    assert undated["published"] == "" and json.loads(undated["captions"]) == []


def test_since_keeps_articles_published_on_or_after_the_date(filled, tmp_path):
    rows = _jsonl(filled, tmp_path, since=dt.date(2024, 5, 1))
    # B was published in April; the undated one was first seen on 4 May, so it stays
    assert {row["url"] for row in rows} == {A_URL, UNDATED_URL, W_URL}


def test_since_judges_undated_articles_by_first_sight(filled, tmp_path):
    rows = _jsonl(filled, tmp_path, since=dt.date(2024, 5, 5))
    assert rows == []
    rows = _jsonl(filled, tmp_path, since=dt.date(2024, 5, 4))
    assert {row["url"] for row in rows} == {UNDATED_URL}


def test_site_filter_exports_one_site(filled, tmp_path):
    rows = _jsonl(filled, tmp_path, site_id="workercn")
    assert [(row["site_id"], row["title"]) for row in rows] == [("workercn", "中工网报道")]


def test_export_to_stdout_writes_utf8(filled, capsysbinary):
    assert export_articles(filled.engine, "jsonl", None, site_id="workercn") == 1
    out = capsysbinary.readouterr().out.decode("utf-8")
    assert json.loads(out)["source"] == "中工网"


def test_export_crosses_streaming_batches_without_losing_rows(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(export_query, "BATCH_ROWS", 7)
    archive.ensure_site("acftu", "全总", "https://www.acftu.org/")
    run = archive.start_run("acftu")
    for i in range(30):
        capture_id = archive.record_capture(run, "acftu", make_fetch(f"{A_URL}?id={i}"))
        archive.record_article(capture_id, make_fields(title=f"第{i}篇"))
    rows = _jsonl(archive, tmp_path)
    assert sorted(row["title"] for row in rows) == sorted(f"第{i}篇" for i in range(30))


def test_export_to_a_missing_folder_raises_storage_error(filled, tmp_path):
    target = tmp_path / "no-such-folder" / "articles.csv"
    with pytest.raises(StorageError) as err:
        export_articles(filled.engine, "csv", target)
    assert str(err.value) == (
        f"cannot write export {target}: folder {target.parent} does not exist"
    )


def test_export_to_an_unwritable_path_raises_storage_error(filled, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError, match="cannot write export"):
        export_articles(filled.engine, "csv", blocker / "articles.csv")
    with pytest.raises(StorageError, match="it is a folder"):
        export_articles(filled.engine, "csv", tmp_path)


def test_a_failed_export_leaves_the_previous_file_and_no_partial_file(
    filled, tmp_path, monkeypatch
):
    folder = tmp_path / "exports"
    folder.mkdir()
    out = folder / "articles.jsonl"
    out.write_text("previous export\n", encoding="utf-8")
    real_rows = export_module.table_rows

    def failing_rows(*args):
        rows = real_rows(*args)
        yield next(rows)
        raise RuntimeError("database went away")

    monkeypatch.setattr(export_module, "table_rows", failing_rows)
    with pytest.raises(RuntimeError):
        export_articles(filled.engine, "jsonl", out)
    assert out.read_text(encoding="utf-8") == "previous export\n"
    assert [p.name for p in folder.iterdir()] == ["articles.jsonl"]


def test_unknown_format_is_refused(filled):
    with pytest.raises(ValueError, match="unknown export format"):
        export_articles(filled.engine, "xml", None)  # type: ignore[arg-type]


def test_export_fields_start_with_identity_and_end_with_provenance_and_memory():
    assert EXPORT_FIELDS[:3] == ("site_id", "site_name", "url")
    assert EXPORT_FIELDS[-7:] == (
        "capture_id",
        "warc_filename",
        "warc_offset",
        "change_class",
        "removed_at",
        "removal",
        "cluster_id",
    )
    assert len(set(EXPORT_FIELDS)) == len(EXPORT_FIELDS) == 31


def test_export_gives_the_zh_hans_reading_and_the_original_where_none_is_stored(archive, tmp_path):
    archive.ensure_site("tibet3", "中國藏族網通", "http://www.tibet3.com/")
    run = archive.start_run("tibet3")
    hant = make_fields(
        title="勞動(dòng)者之歌",
        body="中國藏族網(wǎng)通訊 工會?7月",
        title_hans="劳动者之歌",
        body_hans="中国藏族网通讯 工会?7月",
        artefacts_removed=2,
        lost_chars=1,
        script="hant",
    )
    hans = make_fields(title="劳动者之歌", artefacts_removed=0, lost_chars=0, script="hans")
    old = make_fields(title="旧版本")  # archived before the reading existed
    for url, fields in ((A_URL, hant), (B_URL, hans), (UNDATED_URL, old)):
        archive.record_article(archive.record_capture(run, "tibet3", make_fetch(url)), fields)
    rows = {row["url"]: row for row in _jsonl(archive, tmp_path)}
    a, b, u = rows[A_URL], rows[B_URL], rows[UNDATED_URL]
    assert (a["title"], a["body"]) == ("勞動(dòng)者之歌", "中國藏族網(wǎng)通訊 工會?7月")
    assert (a["title_hans"], a["body_hans"]) == ("劳动者之歌", "中国藏族网通讯 工会?7月")
    assert (a["script"], a["artefacts_removed"], a["lost_chars"]) == ("hant", 2, 1)
    assert (b["title_hans"], b["body_hans"]) == (b["title"], b["body"])
    assert (b["script"], b["artefacts_removed"], b["lost_chars"]) == ("hans", 0, 0)
    assert (u["title_hans"], u["body_hans"]) == ("旧版本", u["body"])
    assert (u["script"], u["artefacts_removed"], u["lost_chars"]) == (None, None, None)
    out = tmp_path / "articles.csv"
    export_articles(archive.engine, "csv", out)
    with open(out, encoding="utf-8", newline="") as fh:
        csv_rows = {row["url"]: row for row in csv.DictReader(fh)}
    assert csv_rows[A_URL]["body_hans"] == "中国藏族网通讯 工会?7月"
    assert csv_rows[A_URL]["lost_chars"] == "1" and csv_rows[UNDATED_URL]["script"] == ""


# -- queries -------------------------------------------------------------------------------------


def test_site_overview_counts_pages_articles_versions_and_last_run(filled):
    overview = {site.site_id: site for site in site_overview(filled.engine)}
    acftu, workercn = overview["acftu"], overview["workercn"]
    assert (acftu.pages, acftu.articles, acftu.versions) == (3, 3, 4)
    assert acftu.last_run_status == "finished" and acftu.last_run_at.tzinfo is not None
    assert (workercn.pages, workercn.versions, workercn.last_run_status) == (1, 1, "running")


def test_site_overview_of_a_site_never_crawled(archive):
    archive.ensure_site("acftu", "全总", "https://www.acftu.org/")
    [site] = site_overview(archive.engine)
    assert (site.pages, site.articles, site.versions, site.last_run_at) == (0, 0, 0, None)


def test_list_articles_shows_current_versions_newest_first(filled):
    rows = list_articles(filled.engine, site_id="acftu")
    assert [(r.url, r.title, r.versions) for r in rows] == [
        (A_URL, "劳模座谈会召开（更新）", 2),
        (B_URL, "四月新闻", 1),
        (UNDATED_URL, "无日期", 1),
    ]
    assert len(list_articles(filled.engine, limit=2)) == 2
    assert len(list_articles(filled.engine)) == 4


def test_latest_runs_newest_first_with_counts(filled):
    runs = latest_runs(filled.engine)
    assert [(r.site_id, r.status, r.trigger) for r in runs] == [
        ("workercn", "running", "schedule"),
        ("acftu", "finished", "manual"),
    ]
    assert runs[1].pages_fetched == 4 and runs[1].drops == {}


def test_versions_for_url_lists_versions_oldest_first_for_any_spelling(filled):
    spelled = A_URL.replace("http://www.acftu.org", "HTTP://WWW.ACFTU.ORG:80") + "#x"
    versions = versions_for_url(filled.engine, spelled)
    assert [(v.version_no, v.title) for v in versions] == [
        (1, "全总召开劳模座谈会"),
        (2, "劳模座谈会召开（更新）"),
    ]
    assert versions[0].content_sha256 != versions[1].content_sha256
    assert versions_for_url(filled.engine, "http://www.acftu.org/unknown.html") == []
