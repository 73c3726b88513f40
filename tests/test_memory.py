"""The archive's memory at the store level: change classes, removals and restorations, one
stored copy of a text, reprint clusters that persist. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from archive.models import ArticleText, ArticleVersion, LshBand, Page, ReprintCluster
from archive.queries import page_history, reprint_clusters
from archive.store import Archive
from crawler.replica.data import load_site
from tests.fixtures_db import T0, make_fetch, make_fields

# A real article body (xnzgh), long enough for a fair reprint test.
_XN = load_site("xnzgh").articles[4]  # five paragraphs
BODY = "\n".join(_XN.body)
TITLE = _XN.title
OTHER = load_site("xazgh").articles[2]  # a different article, same kind of union news


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


@pytest.fixture
def runs(archive: Archive) -> dict[str, int]:
    archive.ensure_site("xnzgh", "西宁市总工会", "http://www.xnzgh.org.cn/")
    archive.ensure_site("qhzgh", "青海省总工会", "http://www.qhzgh.cn/")
    archive.ensure_site("xazgh", "西安市总工会", "http://www.xazgh.org/")
    return {s: archive.start_run(s) for s in ("xnzgh", "qhzgh", "xazgh")}


def store(archive, runs, site, url, fields=None, *, at=T0, status=200, removal=None):
    capture = archive.record_capture(runs[site], site, make_fetch(url, at=at, status=status))
    if removal:
        return archive.record_removal(capture, removal)
    return archive.record_article(capture, fields)


def classes(archive, url):
    return [v.change_class for v in page_history(archive.engine, url).versions]


XN_URL = "http://www.xnzgh.org.cn/info/1021/3458.htm"
QH_URL = "http://www.qhzgh.cn/html/gzdt/20231001/2001.html"
XA_URL = "http://www.xazgh.org/xwzx/ghdt/202310/t20231012_5791.html"


def test_each_kind_of_change_gets_its_class(archive, runs):
    base = make_fields(title=TITLE, body=BODY, source="西宁市总工会")
    store(archive, runs, "xnzgh", XN_URL, base)
    typo = make_fields(title=TITLE, body=BODY.replace("工会", "公会", 1), source="西宁市总工会")
    store(archive, runs, "xnzgh", XN_URL, typo, at=day(1))
    longer = make_fields(
        title=TITLE,
        body=typo.body
        + "\n会议要求，各级工会要把握新形势新任务，推动工会工作不断迈上新台阶，为职工群众办实事解难题。",
        source="西宁市总工会",
    )
    store(archive, runs, "xnzgh", XN_URL, longer, at=day(2))
    retitled = make_fields(title=TITLE + "（图）", body=longer.body, source="西宁市总工会")
    store(archive, runs, "xnzgh", XN_URL, retitled, at=day(3))
    assert classes(archive, XN_URL) == ["new", "minor_edit", "substantive_edit", "retitle"]


def test_whitespace_only_changes_make_no_version(archive, runs):
    store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=BODY))
    respaced = "\n\n".join("\u3000\u3000" + p.replace("，", "， ") for p in _XN.body)
    outcome = store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=respaced))
    assert not outcome.is_new_version
    assert classes(archive, XN_URL) == ["new"]


def test_a_removed_page_keeps_its_last_text_and_a_restore_is_a_version(archive, runs):
    store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=BODY))
    gone = store(archive, runs, "xnzgh", XN_URL, at=day(1), status=404, removal="http_404")
    assert gone.is_new_version and gone.change_class == "removed"
    again = store(archive, runs, "xnzgh", XN_URL, at=day(2), status=404, removal="http_404")
    assert not again.is_new_version  # still gone: nothing new
    history = page_history(archive.engine, XN_URL)
    assert history.removal == "http_404" and history.removed_at == day(1)
    assert history.versions[-1].body == BODY  # the text is never deleted
    back = store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=BODY), at=day(3))
    assert back.change_class == "restored"
    assert classes(archive, XN_URL) == ["new", "removed", "restored"]
    assert page_history(archive.engine, XN_URL).removed_at is None


def test_removal_of_a_page_never_archived_records_nothing(archive, runs):
    assert store(archive, runs, "xnzgh", XN_URL, status=410, removal="http_410") is None


def test_identical_text_on_two_pages_is_stored_once(archive, runs):
    fields = make_fields(title=TITLE, body=BODY)
    store(archive, runs, "xnzgh", XN_URL, fields)
    store(
        archive, runs, "qhzgh", QH_URL, make_fields(title=TITLE, body=BODY, source="西宁市总工会")
    )
    with archive.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ArticleText)) == 1
        assert conn.scalar(select(func.count()).select_from(ArticleVersion)) == 2


def test_a_repost_on_another_site_joins_a_cluster_that_names_the_original(archive, runs):
    store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=BODY, source=None))
    repost = make_fields(
        title=TITLE,
        # the shortest paragraph dropped, the reposting site's tag added
        body="\n".join(p for i, p in enumerate(_XN.body) if i != 3) + "\n（西宁市总工会）",
        source="西宁市总工会",
        published=dt.date(2024, 5, 3),
    )
    store(archive, runs, "qhzgh", QH_URL, repost, at=day(1))
    store(
        archive, runs, "xazgh", XA_URL, make_fields(title=OTHER.title, body="\n".join(OTHER.body))
    )
    [cluster] = reprint_clusters(archive.engine)
    assert {m.url for m in cluster.members} == {XN_URL, QH_URL}
    assert cluster.original.url == XN_URL
    assert [c.id for c in reprint_clusters(archive.engine, site_id="xazgh")] == []


def test_clusters_and_the_index_survive_a_restart(archive, runs, database_url, tmp_path):
    store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=BODY))
    archive.close()
    reopened = Archive.open(database_url, tmp_path / "warc")
    try:
        run = reopened.start_run("qhzgh")
        capture = reopened.record_capture(run, "qhzgh", make_fetch(QH_URL, at=day(1)))
        reopened.record_article(capture, make_fields(title=TITLE, body=BODY, source="西宁市总工会"))
        with reopened.engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(ReprintCluster)) == 1
            assert conn.scalar(select(func.count(func.distinct(LshBand.page_id)))) == 2
            assert (
                conn.scalar(
                    select(func.count()).select_from(Page).where(Page.cluster_id.is_not(None))
                )
                == 2
            )
    finally:
        reopened.close()


def test_reindex_clusters_an_archive_written_before_the_index(
    archive, runs, database_url, tmp_path
):
    """An upgraded archive has versions but no band keys or signatures: --reindex builds them."""
    from sqlalchemy import delete, update

    from archive.models import MinHashSignature
    from tests.test_crawl import gonghui

    store(archive, runs, "xnzgh", XN_URL, make_fields(title=TITLE, body=BODY))
    store(
        archive, runs, "qhzgh", QH_URL, make_fields(title=TITLE, body=BODY + "\n（西宁市总工会）")
    )
    store(
        archive, runs, "xazgh", XA_URL, make_fields(title=OTHER.title, body="\n".join(OTHER.body))
    )
    with archive.engine.begin() as conn:  # what 0003 and 0004 leave: an empty index
        conn.execute(update(Page).values(cluster_id=None))
        for table in (LshBand, MinHashSignature, ReprintCluster):
            conn.execute(delete(table))
    assert reprint_clusters(archive.engine) == []

    done = gonghui("reprints", "--reindex", database_url=database_url, warc_dir=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "indexed 3 page(s)" in done.stderr
    assert "Reprint clusters: 1" in done.stdout
    [cluster] = reprint_clusters(archive.engine)
    assert {m.url for m in cluster.members} == {XN_URL, QH_URL}
    again = gonghui("reprints", "--reindex", database_url=database_url, warc_dir=tmp_path)
    assert "indexed 0 page(s)" in again.stderr
    assert [len(c.members) for c in reprint_clusters(archive.engine)] == [2]


def test_migration_0003_moves_bodies_into_shared_texts_and_rehashes(database_url):
    """An archive written before 0003 keeps every version; equal bodies become one text."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from archive import db
    from archive.versioning import content_sha256

    engine = db.make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0002")
            now = "2024-05-01 08:00:00"
            conn.execute(
                text("INSERT INTO site VALUES ('xnzgh', '西宁市总工会', 'http://x/', :t)"),
                {"t": now},
            )
            conn.execute(
                text(
                    "INSERT INTO run (id, site_id, trigger, status, started_at, pages_fetched,"
                    " articles_archived, new_versions, errors, drops)"
                    " VALUES (1, 'xnzgh', 'manual', 'finished', :t, 0, 0, 0, 0, '{}')"
                ),
                {"t": now},
            )
            for pid in (1, 2):
                conn.execute(
                    text(
                        "INSERT INTO page (id, site_id, canonical_url, url, first_seen_at,"
                        " last_seen_at, last_status) VALUES (:p, 'xnzgh', :u, :u, :t, :t, 200)"
                    ),
                    {"p": pid, "u": f"http://x/{pid}.htm", "t": now},
                )
                conn.execute(
                    text(
                        "INSERT INTO capture (id, page_id, run_id, url, fetched_at, http_status,"
                        " headers, payload_sha256, payload_length, warc_filename, warc_offset,"
                        " warc_length) VALUES (:p, :p, 1, 'u', :t, 200, '[]', 'x', 1, 'f', 0, 1)"
                    ),
                    {"p": pid, "t": now},
                )
            rows = [
                (1, 1, 1, "第一段。\n第二段。"),
                (2, 1, 2, "第一段。\n第二段，改了。"),
                (3, 2, 1, "  第一段。\r\n第二段。"),
            ]
            for vid, pid, no, body in rows:
                conn.execute(
                    text(
                        "INSERT INTO article_version (id, page_id, version_no, capture_id,"
                        " last_capture_id, content_sha256, title, body, captions, first_seen_at,"
                        " last_seen_at) VALUES (:v, :p, :n, :p, :p, 'old', '标题', :b, '[]', :t, :t)"
                    ),
                    {"v": vid, "p": pid, "n": no, "b": body, "t": now},
                )
        db.migrate(engine)
        with engine.connect() as conn:
            got = conn.execute(
                text(
                    "SELECT v.id, v.change_class, v.text_id, v.content_sha256, t.body"
                    " FROM article_version v JOIN article_text t ON t.id = v.text_id ORDER BY v.id"
                )
            ).all()
    finally:
        engine.dispose()
    assert [(r[0], r[1]) for r in got] == [(1, "new"), (2, "substantive_edit"), (3, "new")]
    assert got[0][2] == got[2][2] != got[1][2]  # whitespace-only difference: one text
    assert got[0][3] == content_sha256(
        make_fields(title="标题", body="第一段。\n第二段。", source=None)
    )
