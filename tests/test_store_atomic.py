"""``record_article`` writes a new text and its version in one transaction (issue 19, point 1).

On SQLite, pysqlite's legacy transaction handling sent no BEGIN before the SELECTs and the
SAVEPOINT that ``_text_for`` opens around the new ``article_text`` row, so its RELEASE
committed that row alone: a failure before the version was written left a text no version
points to. ``archive.db.make_engine`` now begins SQLite transactions itself.

The statements are traced where the database sees them: SQLite's own trace callback, and
libpq's protocol trace for PostgreSQL (psycopg sends BEGIN and COMMIT there, not SQLAlchemy).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from archive.db import make_engine, migrate
from archive.models import Site
from archive.store import Archive
from tests.fixtures_db import T0, make_fetch, make_fields

_PG_STATEMENT = re.compile(r'^F\t\d+\t(?:Query\t "|Parse\t "[^"]*" ")(.*)')


@contextmanager
def traced(archive: Archive, tmp_path: Path) -> Iterator[list[str]]:
    """The statements the database receives inside the block, in order (first line each)."""
    engine = archive.engine
    statements: list[str] = []
    if engine.dialect.name == "sqlite":

        def on_checkout(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.set_trace_callback(
                lambda sql: statements.append(sql.strip().splitlines()[0])
            )

        def on_checkin(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.set_trace_callback(None)

    else:
        from psycopg import pq

        log = open(tmp_path / "libpq.trace", "w+b")  # closed below

        def on_checkout(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.pgconn.trace(log.fileno())
            dbapi_connection.pgconn.set_trace_flags(
                pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
            )

        def on_checkin(dbapi_connection: Any, *_: Any) -> None:
            dbapi_connection.pgconn.untrace()

    event.listen(engine, "checkout", on_checkout)
    event.listen(engine, "checkin", on_checkin)
    try:
        yield statements
    finally:
        event.remove(engine, "checkout", on_checkout)
        event.remove(engine, "checkin", on_checkin)
        if engine.dialect.name != "sqlite":
            log.seek(0)
            for line in log.read().decode("utf-8", "replace").splitlines():
                match = _PG_STATEMENT.match(line)
                if match:
                    statements.append(match.group(1).rstrip('"').strip())
            log.close()


def transactions(statements: list[str]) -> list[list[str]]:
    """The statements grouped by transaction: BEGIN ... COMMIT/ROLLBACK, each group whole. A
    statement outside any BEGIN is a group of its own (autocommitted)."""
    groups: list[list[str]] = []
    current: list[str] | None = None
    for statement in statements:
        word = statement.split()[0].upper() if statement.split() else ""
        if word == "BEGIN":
            assert current is None, f"BEGIN inside a transaction: {statements}"
            current = [statement]
        elif current is None:
            groups.append([statement])
        else:
            current.append(statement)
            if word in ("COMMIT", "END") or (word == "ROLLBACK" and " TO " not in statement):
                groups.append(current)
                current = None
    assert current is None, f"a transaction was left open: {statements}"
    return groups


@pytest.fixture
def capture_id(archive: Archive) -> int:
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    run_id = archive.start_run("acftu", trigger="manual")
    return archive.record_capture(run_id, "acftu", make_fetch())


def counts(archive: Archive) -> dict[str, int]:
    """Rows of text and version, and the broken pairs either way."""
    queries = {
        "texts": "SELECT count(*) FROM article_text",
        "versions": "SELECT count(*) FROM article_version",
        "texts_without_version": "SELECT count(*) FROM article_text t WHERE NOT EXISTS"
        " (SELECT 1 FROM article_version v WHERE v.text_id = t.id)",
        "versions_without_text": "SELECT count(*) FROM article_version v WHERE NOT EXISTS"
        " (SELECT 1 FROM article_text t WHERE t.id = v.text_id)",
    }
    with archive.engine.connect() as conn:
        return {name: conn.execute(text(sql)).scalar_one() for name, sql in queries.items()}


def test_text_and_version_are_written_in_one_transaction(
    archive: Archive, capture_id: int, tmp_path: Path
) -> None:
    with traced(archive, tmp_path) as statements:
        outcome = archive.record_article(capture_id, make_fields())
    assert outcome.is_new_version
    [whole] = [
        group
        for group in transactions(statements)
        if any(s.startswith("INSERT INTO article_text") for s in group)
    ]
    assert whole[0].upper().startswith("BEGIN") and whole[-1].upper() == "COMMIT", whole
    assert any(s.startswith("INSERT INTO article_version") for s in whole), whole
    if archive.engine.dialect.name == "sqlite":
        # A session writes under SQLite's write lock from its first read (see archive.db).
        assert whole[0].upper() == "BEGIN IMMEDIATE"
    assert counts(archive) == {
        "texts": 1,
        "versions": 1,
        "texts_without_version": 0,
        "versions_without_text": 0,
    }


def fail_before(archive: Archive, prefix: str) -> Callable[..., None]:
    """Raise when the archive is about to run a statement holding ``prefix``."""

    def before_cursor_execute(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if prefix in statement:
            raise RuntimeError(f"injected failure before {prefix}")

    event.listen(archive.engine, "before_cursor_execute", before_cursor_execute)
    return before_cursor_execute


@pytest.mark.parametrize(
    "prefix",
    [
        # the text is inserted and its savepoint released; the version is next
        "INSERT INTO article_version",
        # text and version are flushed; the reprint index (the last writes) is next: on
        # PostgreSQL one statement (a CTE) looks up candidates and stores the keys
        "INTO minhash",
    ],
)
def test_a_failure_before_commit_leaves_neither_text_nor_version(
    archive: Archive, capture_id: int, prefix: str
) -> None:
    hook = fail_before(archive, prefix)
    try:
        with pytest.raises(RuntimeError, match="injected failure"):
            archive.record_article(capture_id, make_fields())
    finally:
        event.remove(archive.engine, "before_cursor_execute", hook)
    nothing = {"texts": 0, "versions": 0, "texts_without_version": 0, "versions_without_text": 0}
    assert counts(archive) == nothing
    # and the archive carries on: the same article is stored whole the next time
    assert archive.record_article(capture_id, make_fields()).is_new_version
    assert counts(archive) == nothing | {"texts": 1, "versions": 1}


def test_sqlite_writers_queue_and_a_long_read_blocks_none(tmp_path: Path) -> None:
    """The BEGIN that ``archive.db`` chooses on SQLite. A Core read (an export) holds a DEFERRED
    snapshot, so a session writes meanwhile; two sessions that read and then write queue for
    the write lock (BEGIN IMMEDIATE) where DEFERRED would fail the second at once with
    ``database is locked`` (a read transaction cannot wait for the lock, busy timeout or not).
    """
    url = f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    migrate(url)
    one, two = make_engine(url), make_engine(url)
    try:
        with one.connect() as export:
            export.execute(select(Site.id)).all()  # the read transaction stays open
            with Session(two) as session, session.begin():
                session.add(Site(id="a", name="A", base_url="http://a/", created_at=T0))
            assert export.execute(select(Site.id)).all() == []  # its snapshot, unblocking

        errors: list[BaseException] = []

        def second_writer() -> None:
            try:
                with Session(two) as session, session.begin():
                    session.get(Site, "a")
                    session.add(Site(id="b", name="B", base_url="http://b/", created_at=T0))
            except BaseException as exc:  # reported below
                errors.append(exc)

        with Session(one) as first, first.begin():
            first.get(Site, "a")  # holds the write lock from here
            writer = threading.Thread(target=second_writer)
            writer.start()
            writer.join(0.5)
            assert writer.is_alive()  # waiting for the lock, not failed
            first.add(Site(id="c", name="C", base_url="http://c/", created_at=T0))
        writer.join(30)
        assert errors == []
        with one.connect() as conn:
            assert conn.execute(select(Site.id).order_by(Site.id)).scalars().all() == [
                "a",
                "b",
                "c",
            ]
    finally:
        one.dispose()
        two.dispose()


def test_sqlite_checkouts_send_no_ping(tmp_path: Path) -> None:
    """pool_pre_ping is for PostgreSQL only: on SQLite it was a ``SELECT 1`` before every
    transaction of a crawl, and a local file's connection does not go stale."""
    engine = make_engine(f"sqlite:///{tmp_path / 'archive.sqlite3'}")
    statements: list[str] = []
    event.listen(engine, "connect", lambda dbapi, _: dbapi.set_trace_callback(statements.append))
    try:
        for _ in range(3):
            with Session(engine) as session, session.begin():
                session.execute(text("SELECT 2"))
    finally:
        engine.dispose()
    assert statements == ["BEGIN IMMEDIATE", "SELECT 2", "COMMIT"] * 3
    assert make_engine("postgresql://postgres@127.0.0.1:5432/postgres").pool._pre_ping
