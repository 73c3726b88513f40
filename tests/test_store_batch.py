"""The crawl's batched write path (Archive.store_pages) keeps what the page-by-page path kept.

Four nights of one site go through both paths, on two archives: a batch of first versions
with a shared text and a reprint, then unchanged pages (same text, and a 304), an edit, a
page that comes twice in one batch, a removal and a page that comes back. The archives must
end up the same, page for page and version for version, and each page's outcome (confirmed,
new version and its change class, removal) must be the same.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from archive.config import load_settings
from archive.store import Archive, PageWrite
from tests.fixtures_db import T0, make_fetch, make_fields
from tests.statement_killer import install, uninstall

SITE = ("qhzgh", "青海省总工会", "http://www.qhzgh.cn/")
BASE = "http://www.qhzgh.cn/xwzx/"
SHARED = "全省各级工会组织开展职工技能竞赛活动。\n参赛职工来自全省八个市州的一线岗位。"


def url(n: int) -> str:
    return f"{BASE}{n}.html"


def nights() -> list[list[dict[str, Any]]]:
    """Each night's pages: (n, status, what) where what is fields, "confirm" or a removal."""
    edited = make_fields(
        title="第四篇", body="一篇将要修改的文章。\n第二段落有二十个字左右的内容。"
    )
    return [
        [  # night 1: first versions; 2 shares 1's text (one text row, a reprint cluster)
            {"n": 1, "fields": make_fields(title="第一篇", body=SHARED)},
            {"n": 2, "fields": make_fields(title="第一篇转载", body=SHARED)},
            {"n": 3},  # a page that is no article
            {"n": 4, "fields": make_fields(title="第四篇", body="一篇将要修改的文章。")},
        ],
        [  # night 2: unchanged (same text; a 304), an edit, a new page, 1 twice in the batch
            {"n": 1, "fields": make_fields(title="第一篇", body=SHARED)},
            {"n": 2, "status": 304, "confirm": True},
            {"n": 4, "fields": edited},
            {"n": 5, "fields": make_fields(title="第五篇", body="新的一篇文章。")},
            {"n": 1, "fields": make_fields(title="第一篇", body=SHARED)},
            {"n": 6, "status": 304, "confirm": True},  # a 304 with nothing to confirm
        ],
        [  # night 3: 4 is gone; 5 too, twice
            {"n": 4, "status": 404, "removal": "http_404"},
            {"n": 5, "status": 410, "removal": "http_410"},
            {"n": 5, "status": 410, "removal": "http_410"},
        ],
        [  # night 4: 4 is back as it was (restored)
            {"n": 4, "fields": edited},
        ],
    ]


def writes_for(archive: Archive, night: int, pages: list[dict[str, Any]]) -> list[PageWrite]:
    run_id = archive.start_run(SITE[0], "manual")
    out = []
    for i, page in enumerate(pages):
        at = T0 + dt.timedelta(days=night, seconds=i)
        fetch = make_fetch(url(page["n"]), status=page.get("status", 200), at=at)
        where = archive.write_warc(run_id, SITE[0], fetch)
        out.append(
            PageWrite(
                run_id,
                SITE[0],
                fetch,
                where,
                confirm=page.get("confirm", False),
                removal=page.get("removal"),
                fields=page.get("fields"),
            )
        )
    return out


def page_by_page(archive: Archive, writes: list[PageWrite]) -> list[tuple[Any, ...]]:
    """What the pipeline did before batches: a transaction a page, through the ORM path."""
    outcomes = []
    for w in writes:
        with archive.transaction():
            capture_id = archive.record_capture(w.run_id, w.site_id, w.fetch, location=w.location)
            confirmed = w.confirm and archive.confirm_unchanged(capture_id)
            removal = article = None
            if not w.confirm:
                if w.removal is not None:
                    removal = archive.record_removal(capture_id, w.removal)
                if w.fields is not None:
                    article = archive.record_article(capture_id, w.fields)
        outcomes.append(outcome(confirmed, removal, article))
    return outcomes


def batched(archive: Archive, writes: list[PageWrite]) -> list[tuple[Any, ...]]:
    return [outcome(s.confirmed, s.removal, s.article) for s in archive.store_pages(writes)]


def outcome(confirmed: bool, removal: Any, article: Any) -> tuple[Any, ...]:
    return (
        confirmed,
        None if removal is None else (removal.version_no, removal.is_new_version),
        None
        if article is None
        else (article.version_no, article.is_new_version, article.change_class),
    )


def snapshot(archive: Archive) -> dict[str, list[tuple[Any, ...]]]:
    queries = {
        "pages": "SELECT canonical_url, last_seen_at, last_status, removed_at, removal,"
        " cluster_id IS NOT NULL FROM page ORDER BY canonical_url",
        "versions": "SELECT p.canonical_url, v.version_no, v.change_class, v.removal,"
        " v.content_sha256, v.title, v.first_seen_at, v.last_seen_at, c.fetched_at,"
        " l.fetched_at, t.body_sha256 FROM article_version v JOIN page p ON p.id = v.page_id"
        " JOIN capture c ON c.id = v.capture_id JOIN capture l ON l.id = v.last_capture_id"
        " JOIN article_text t ON t.id = v.text_id ORDER BY p.canonical_url, v.version_no",
        "captures": "SELECT p.canonical_url, c.fetched_at, c.http_status, c.payload_sha256"
        " FROM capture c JOIN page p ON p.id = c.page_id ORDER BY c.fetched_at",
        "texts": "SELECT body_sha256 FROM article_text ORDER BY body_sha256",
        "clusters": "SELECT size FROM reprint_cluster ORDER BY size",
    }
    with archive.engine.connect() as conn:
        return {name: [tuple(row) for row in conn.execute(text(q))] for name, q in queries.items()}


def test_batches_keep_what_pages_one_by_one_kept(database_url: str, tmp_path: Path) -> None:
    one = Archive.open(database_url, tmp_path / "one")
    try:
        one.ensure_site(*SITE)
        expected = [page_by_page(one, writes_for(one, n, p)) for n, p in enumerate(nights())]
        reference = snapshot(one)
    finally:
        one.close()
    if database_url.startswith("sqlite"):
        other_url = f"sqlite:///{tmp_path / 'batched.sqlite3'}"
    else:  # the test database again, emptied
        from sqlalchemy import create_engine

        engine = create_engine(database_url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
        other_url = database_url
    two = Archive.open(other_url, tmp_path / "two")
    try:
        two.ensure_site(*SITE)
        got = [batched(two, writes_for(two, n, p)) for n, p in enumerate(nights())]
        assert got == expected
        assert snapshot(two) == reference
    finally:
        two.close()
    # What the nights were meant to show, so the comparison cannot pass on two empty archives.
    assert expected[0] == [
        (False, None, (1, True, "new")),
        (False, None, (1, True, "new")),
        (False, None, None),
        (False, None, (1, True, "new")),
    ]
    assert expected[1][1] == (True, None, None)  # the 304 confirmed page 2
    assert expected[1][2] == (False, None, (2, True, "substantive_edit"))
    assert expected[1][4] == (False, None, (1, False, None))  # page 1 again: unchanged
    assert expected[1][5] == (False, None, None)  # a 304 with no version to confirm
    assert expected[2][0] == (False, (3, True), None)
    assert expected[3][0][2][2] == "restored"
    assert reference["clusters"] == [(2,)] and len(reference["texts"]) == 4


def test_a_page_twice_in_one_batch_is_stored_in_order(archive: Archive) -> None:
    archive.ensure_site(*SITE)
    run_id = archive.start_run(SITE[0], "manual")
    first, second = make_fields(body="第一稿。"), make_fields(body="第二稿，改过了。")
    writes = []
    for i, fields in enumerate((first, second)):
        fetch = make_fetch(url(1), at=T0 + dt.timedelta(seconds=i))
        writes.append(
            PageWrite(
                run_id, SITE[0], fetch, archive.write_warc(run_id, SITE[0], fetch), fields=fields
            )
        )
    stored = archive.store_pages(writes)
    assert [s.article.version_no for s in stored] == [1, 2]  # type: ignore[union-attr]
    assert stored[0].page_id == stored[1].page_id


def store_batch(archive: Archive, run_id: int, numbers: range) -> None:
    """What the pipeline does with a batch: WARC records, then one transaction."""
    fetches = [make_fetch(url(n), at=T0 + dt.timedelta(seconds=n)) for n in numbers]
    where = archive.write_warcs(run_id, SITE[0], fetches)
    archive.store_pages(
        [
            PageWrite(run_id, SITE[0], f, w, fields=make_fields(body=f"第{n}篇文章的正文。"))
            for n, f, w in zip(numbers, fetches, where, strict=True)
        ]
    )


def test_a_kill_after_any_statement_of_a_batch_leaves_all_of_it_or_none(tmp_path: Path) -> None:
    """SQLite, the kill swept over every statement of a batch of three pages in a forked
    child: the archive holds the whole batch or nothing of it."""
    base = tmp_path / "base.sqlite3"
    with Archive.open(f"sqlite:///{base}", tmp_path / "warc") as archive:
        archive.ensure_site(*SITE)
        run_id = archive.start_run(SITE[0])
        store_batch(archive, run_id, range(1, 3))

    def copy(name: str) -> str:
        path = tmp_path / name
        path.write_bytes(base.read_bytes())  # closed cleanly: no -wal file beside it
        return f"sqlite:///{path}"

    def rows(database: str) -> dict[str, int]:
        with Archive.open(database, tmp_path / "warc", migrate=False) as after:
            with after.engine.connect() as conn:
                return {
                    t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() - 2
                    for t in ("page", "capture", "article_text", "article_version")
                }

    batch = range(3, 6)
    counting = copy("count.sqlite3")
    with Archive.open(counting, tmp_path / "warc", migrate=False) as archive:
        counter = install()
        store_batch(archive, run_id, batch)
        uninstall(counter)
    total = len(counter.statements)
    assert total >= 6
    none = dict.fromkeys(("page", "capture", "article_text", "article_version"), 0)
    whole = dict.fromkeys(none, 3)
    seen = []
    for k in range(1, total + 2):  # total + 1: no kill
        database = copy(f"k{k}.sqlite3")
        pid = os.fork()
        if pid == 0:  # the child stores the batch and dies right after statement k
            try:
                with Archive.open(database, tmp_path / "warc", migrate=False) as archive:
                    install(k)
                    store_batch(archive, run_id, batch)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        added = rows(database)
        assert added in (none, whole), (k, counter.statements[k - 1], added)
        seen.append(added == whole)
    assert seen == [False] * total + [True]


@pytest.mark.parametrize("value", ["0", "-3", "many", "2.5"])
def test_a_batch_size_that_is_not_a_whole_number_is_one_error_line(value: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "sites"],
        capture_output=True,
        text=True,
        env={**os.environ, "GONGHUI_BATCH_PAGES": value},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: GONGHUI_BATCH_PAGES={value!r}: must be a whole number of at least 1"
    ]


def test_batch_settings_are_read_from_the_environment() -> None:
    settings = load_settings({"GONGHUI_BATCH_PAGES": "1", "GONGHUI_BATCH_SECONDS": "0.5"})
    assert (settings.batch_pages, settings.batch_seconds) == (1, 0.5)
    assert (load_settings({}).batch_pages, load_settings({}).batch_seconds) == (50, 2.0)
