"""A page's capture, text and version are one transaction (issue 19, point 1).

The archive pipeline stores a page as ``with archive.transaction(): record_capture(...);
record_article(...)`` after writing its WARC record. Traced on SQLite and PostgreSQL, that is
one BEGIN ... COMMIT holding the capture, the text and the version; and a process killed
after any one of its statements leaves either all three or none (SQLite, the kill swept over
every statement in a forked child).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from archive.store import Archive
from tests.fixtures_db import make_fetch, make_fields
from tests.statement_killer import install, uninstall
from tests.test_store_atomic import traced, transactions

SITE = ("acftu", "中华全国总工会", "https://www.acftu.org/")


def store_page(archive: Archive, run_id: int, n: int = 1) -> None:
    """What the pipeline does for one article page (the n-th: its own URL and text)."""
    fetch = make_fetch(url=f"http://www.acftu.org/xwdt/202405/t20240501_{n}.html")
    fields = make_fields(body=f"中华全国总工会今天召开第{n}次座谈会。\n与会劳模代表发言。")
    location = archive.write_warc(run_id, SITE[0], fetch)
    with archive.transaction():
        capture_id = archive.record_capture(run_id, SITE[0], fetch, location=location)
        archive.record_article(capture_id, fields)


def rows(archive: Archive) -> dict[str, int]:
    tables = ("capture", "article_text", "article_version")
    with archive.engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in tables}


def test_capture_text_and_version_are_one_transaction(archive: Archive, tmp_path: Path) -> None:
    archive.ensure_site(*SITE)
    run_id = archive.start_run(SITE[0])
    with traced(archive, tmp_path) as statements:
        store_page(archive, run_id)
    [whole] = [g for g in transactions(statements) if any("INSERT INTO capture" in s for s in g)]
    assert whole[0].upper().startswith("BEGIN") and whole[-1].upper() == "COMMIT", whole
    for table in ("article_text", "article_version"):
        assert any(s.startswith(f"INSERT INTO {table}") for s in whole), (table, whole)
    assert rows(archive) == {"capture": 1, "article_text": 1, "article_version": 1}


def test_a_failure_inside_the_page_leaves_no_capture_without_its_version(
    archive: Archive,
) -> None:
    archive.ensure_site(*SITE)
    run_id = archive.start_run(SITE[0])
    fetch = make_fetch()
    with pytest.raises(RuntimeError), archive.transaction():
        capture_id = archive.record_capture(run_id, SITE[0], fetch)
        archive.record_article(capture_id, make_fields())
        raise RuntimeError("the process fails before the commit")
    assert rows(archive) == {"capture": 0, "article_text": 0, "article_version": 0}
    store_page(archive, run_id)  # and the page is stored whole the next time
    assert rows(archive) == {"capture": 1, "article_text": 1, "article_version": 1}


def test_a_kill_after_any_statement_of_a_page_leaves_all_of_it_or_none(tmp_path: Path) -> None:
    base = tmp_path / "base.sqlite3"
    with Archive.open(f"sqlite:///{base}", tmp_path / "warc") as archive:
        archive.ensure_site(*SITE)
        run_id = archive.start_run(SITE[0])
        store_page(archive, run_id, 1)

    def copy(name: str) -> str:
        path = tmp_path / name
        path.write_bytes(base.read_bytes())  # closed cleanly: no -wal file beside it
        return f"sqlite:///{path}"

    counting = copy("count.sqlite3")
    with Archive.open(counting, tmp_path / "warc", migrate=False) as archive:
        counter = install()
        store_page(archive, run_id, 2)
        uninstall(counter)
    total = len(counter.statements)
    assert total >= 6
    none = {"capture": 0, "article_text": 0, "article_version": 0}
    whole = {"capture": 1, "article_text": 1, "article_version": 1}
    seen = []
    # k = total + 1: no kill (the COMMIT is the connection's, not a counted statement)
    for k in range(1, total + 2):
        url = copy(f"k{k}.sqlite3")
        pid = os.fork()
        if pid == 0:  # the child stores the second page and dies right after statement k
            try:
                with Archive.open(url, tmp_path / "warc", migrate=False) as archive:
                    install(k)
                    store_page(archive, run_id, 2)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        with Archive.open(url, tmp_path / "warc", migrate=False) as after:
            added = {t: n - 1 for t, n in rows(after).items()}
        assert added in (none, whole), (k, counter.statements[k - 1], added)
        seen.append(added == whole)
    assert seen == [False] * total + [True]  # every kill left nothing; the whole run, all
