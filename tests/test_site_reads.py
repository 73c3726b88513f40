"""What a crawl of one site reads at its start (the site's known articles, what a resumed run
may skip) costs what that site holds, not what the whole archive holds: a new site added to
an archive of 100 k articles starts as fast as in an empty one (issue 14, point 5)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import event

from archive.known import known_articles
from archive.store import Archive, PageWrite
from tests.fixtures_db import T0, make_fetch, make_fields


def fill(archive: Archive, site: str, first: int, count: int) -> None:
    """``count`` archived articles on ``site``, stored as the crawl stores them."""
    run = archive.start_run(site)
    writes = []
    for n in range(first, first + count):
        fetch = make_fetch(f"http://{site}.example/a/{n}.html", at=T0 + dt.timedelta(seconds=n))
        where = archive.write_warc(run, site, fetch)
        fields = make_fields(title=f"标题{n}", body=f"第{n}篇文章的正文，内容各不相同。" * 3)
        writes.append(PageWrite(run, site, fetch, where, fields=fields))
    archive.store_pages(writes)


def sqlite_steps(archive: Archive, work: Callable[[], object]) -> int:
    """SQLite virtual-machine instructions (in thousands) the statements of ``work`` ran."""
    steps = 0

    def tick() -> int:
        nonlocal steps
        steps += 1
        return 0

    def hook(conn, cursor, *_: object) -> None:
        cursor.connection.set_progress_handler(tick, 1000)

    event.listen(archive.engine, "before_cursor_execute", hook)
    try:
        work()
    finally:
        event.remove(archive.engine, "before_cursor_execute", hook)
    return steps


def test_reading_a_sites_known_articles_does_not_read_the_other_sites(tmp_path: Path) -> None:
    archive = Archive.open(f"sqlite:///{tmp_path / 'archive.sqlite3'}", tmp_path / "warc")
    try:
        for site in ("big", "new"):
            archive.ensure_site(site, site, f"http://{site}.example/")
        fill(archive, "big", 0, 20)
        fill(archive, "new", 0, 3)
        before = sqlite_steps(archive, lambda: known_articles(archive.engine, "new"))
        fill(archive, "big", 20, 400)
        after = sqlite_steps(archive, lambda: known_articles(archive.engine, "new"))
        assert len(known_articles(archive.engine, "new")) == 3
        assert len(known_articles(archive.engine, "big")) == 420
        assert after <= before + 2, (before, after)
    finally:
        archive.close()
