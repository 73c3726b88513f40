"""Engines, migrations and the one-line database errors a user sees.

Nothing here runs at import time: engines are made by the caller (``Archive.open``, the CLI,
the tests) from a URL that ``archive.config`` read from the environment.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session, SessionTransaction

from archive.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000  # unless the URL says ?timeout=SECONDS (sqlite3's own)
_SQLITE_URL_TIMEOUT = "gonghui_sqlite_url_timeout"
PG_CONNECT_TIMEOUT_S = 10
# Any constant will do; it only has to be the same in every process that migrates.
_PG_MIGRATION_LOCK = 0x676F6E67
# Marks a pooled SQLite connection whose transactions this module begins (see make_engine).
_SQLITE_OWN_BEGIN = "gonghui_sqlite_own_begin"
# Execution option: a Core connection that will write asks for BEGIN IMMEDIATE.
SQLITE_WRITE = "gonghui_sqlite_write"


def normalise_url(database_url: str | URL) -> URL:
    """Parse a URL, mapping bare ``postgresql://`` / ``postgres://`` to the psycopg 3 driver."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError) as exc:
        raise DatabaseError(
            f"cannot open database {_mask_raw(str(database_url))}: malformed URL"
        ) from exc
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def display_url(database_url: str | URL) -> str:
    """The URL with any password masked, for messages and logs."""
    try:
        url = make_url(database_url)
    except (ArgumentError, ValueError):
        return _mask_raw(str(database_url))
    if url.drivername == "postgresql+psycopg":  # show the spelling people write
        url = url.set(drivername="postgresql")
    return url.render_as_string(hide_password=True)


def make_engine(database_url: str | URL) -> Engine:
    """An engine for the archive database; does not connect yet (see ``check_connection``).

    SQLite gets foreign keys, WAL and a busy timeout on every connection, so a scheduled crawl
    and a CLI export can share one file, and real transactions (below). PostgreSQL gets a
    connect timeout so an unreachable host fails in seconds rather than hanging a scheduled
    job, and a pre-ping, since a pooled server connection can go stale (SQLite's cannot: the
    ping would only add a ``SELECT 1`` before every transaction of a crawl).
    """
    url = normalise_url(database_url)
    connect_args: dict[str, Any] = {}
    postgres = url.get_backend_name() == "postgresql"
    if postgres and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=postgres)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"cannot open database {display_url(url)}: {short_reason(exc)}"
        ) from exc
    if engine.dialect.name == "sqlite":
        if "timeout" in url.query:  # the URL's own busy timeout, e.g. ?timeout=5

            @event.listens_for(engine, "connect")
            def _url_timeout(dbapi_connection: Any, connection_record: Any) -> None:
                connection_record.info[_SQLITE_URL_TIMEOUT] = True

        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "before_cursor_execute", _sqlite_begin_core)
        if not event.contains(Session, "after_begin", _sqlite_begin_session):
            event.listen(Session, "after_begin", _sqlite_begin_session)
    return engine


# SQLite transactions. Left to itself, Python's sqlite3 ("legacy transaction control", the
# default up to 3.15) sends BEGIN only before INSERT/UPDATE/DELETE: SELECT, CREATE TABLE and
# SAVEPOINT run in autocommit. So Alembic's DDL committed statement by statement, and a
# savepoint opened before any write committed on RELEASE. SQLAlchemy's recipe ("Transactions
# with SQLite and the sqlite3 driver"): isolation_level=None, and we send BEGIN whenever
# SQLAlchemy begins a transaction (sqlite3 still sends COMMIT and ROLLBACK). Every
# transaction, a migration included, is then one real SQLite transaction.
#
# Which BEGIN. A DEFERRED transaction that reads and then writes (every store method does)
# cannot wait for the write lock: SQLite answers SQLITE_BUSY at once, busy_timeout or not, so
# two crawls or schedulers writing one file would fail each other. BEGIN IMMEDIATE takes the
# lock up front, where the busy timeout applies, and writers queue; but a mere read under it
# holds the lock too, and an export streaming the archive would stall a crawl. So ORM Session
# transactions (how the archive writes: store, ledger, reprints) and Core connections with
# the execution option SQLITE_WRITE (migrations) begin IMMEDIATE; other Core connections
# (export, queries, the read-only commands) begin DEFERRED, a WAL snapshot that blocks no
# writer. The BEGIN goes just before the transaction's first statement, once its kind is known.


def _sqlite_on_connect(dbapi_connection: Any, connection_record: Any) -> None:
    # Python 3.12+: keep "legacy" control (isolation_level is ignored otherwise; autocommit
    # =False would open transactions by itself and ours would fail to BEGIN).
    legacy = getattr(sqlite3, "LEGACY_TRANSACTION_CONTROL", None)
    if legacy is not None:
        dbapi_connection.autocommit = legacy
    dbapi_connection.isolation_level = None  # sqlite3 sends no BEGIN; we do
    connection_record.info[_SQLITE_OWN_BEGIN] = True
    cursor = dbapi_connection.cursor()
    try:
        # Outside any transaction, where these take effect (inside one they are no-ops).
        cursor.execute("PRAGMA foreign_keys=ON")
        # sqlite3.connect(timeout=) set it already when the URL names one (?timeout=SECONDS)
        if not connection_record.info.get(_SQLITE_URL_TIMEOUT):
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # a no-op for :memory: databases
        # In WAL mode NORMAL keeps the database consistent through any crash and every
        # committed transaction through a killed process; only a power cut or an OS crash can
        # take back the last commits (their pages are then fetched again: the run resumes).
        # FULL would fsync the WAL at every commit, the crawl's largest wait.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _needs_begin(conn: Connection, dbapi_connection: Any) -> bool:
    """SQLAlchemy is in a transaction on one of our connections and SQLite is not yet."""
    return (
        bool(conn.info.get(_SQLITE_OWN_BEGIN))
        and conn.in_transaction()
        and not dbapi_connection.in_transaction
        and conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT"
    )


def _sqlite_begin_core(conn: Connection, cursor: Any, statement: str, *_: Any) -> None:
    """before_cursor_execute: BEGIN before the first statement of a Core transaction."""
    if _needs_begin(conn, cursor.connection) and not statement.lstrip().upper().startswith("BEGIN"):
        write = conn.get_execution_options().get(SQLITE_WRITE)
        cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")


def _sqlite_begin_session(
    _session: Session, _transaction: SessionTransaction, connection: Connection
) -> None:
    """Session after_begin (before any statement of it): an ORM transaction may write."""
    if connection.dialect.name == "sqlite" and _needs_begin(
        connection, connection.connection.dbapi_connection
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def sqlite_foreign_keys(connection: Connection, on: bool) -> None:
    """Turn SQLite's foreign key enforcement on or off for this connection; only outside a
    transaction (inside one SQLite ignores the pragma).

    Migrations run with it off, as Alembic advises for batch mode and SQLite's "12 steps" for
    schema changes do: a batch copy drops the old table, which rows of other tables may
    reference, and renames the copy in its place. Turning it back on cannot fail the caller:
    a connection left without enforcement is dropped from the pool instead of reused.
    """
    dbapi_connection = connection.connection.dbapi_connection
    assert dbapi_connection is not None
    dbapi_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")
    (now,) = dbapi_connection.execute("PRAGMA foreign_keys").fetchone()
    if bool(now) == on:
        return
    if on:
        connection.invalidate()
        return
    raise DatabaseError(
        f"cannot migrate database {display_url(connection.engine.url)}: "
        "foreign keys cannot be turned off inside a transaction"
    )


def check_foreign_keys(connection: Connection) -> None:
    """Before a migration commits on SQLite: fail (and so roll back) on any row whose foreign
    key points nowhere, as SQLite's foreign key enforcement would have."""
    rows = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if rows:
        shown = ", ".join(
            f"{table} rowid {rowid} -> {parent}" for table, rowid, parent, _ in rows[:5]
        )
        raise DatabaseError(
            f"migration of {display_url(connection.engine.url)} left {len(rows)} rows with "
            f"a dangling foreign key ({shown}); nothing was changed"
        )


def check_connection(engine_or_url: Engine | str | URL) -> None:
    """Connect once and run ``SELECT 1``; DatabaseError with one line if that fails."""
    engine = engine_or_url if isinstance(engine_or_url, Engine) else make_engine(engine_or_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    finally:
        if engine is not engine_or_url:
            engine.dispose()


def migrate(database_url: str | URL | Engine) -> None:
    """Bring the database to the newest schema (``alembic upgrade head``), from any cwd.

    The Alembic config is built in code and points at this package's ``migrations`` folder,
    so it works from an installed package without ``alembic.ini``. Processes that start at
    the same moment (two schedulers, two scheduled crawls) are serialised: on PostgreSQL by an
    advisory lock, on an SQLite file by a lock on ``<file>-migrate.lock`` beside it; the second
    then finds the schema current. All pending revisions run in one transaction (see
    ``migrations/env.py``): interrupted anywhere, even by SIGKILL, the database is left as it
    was and the next migration starts over.
    """
    from alembic import command
    from alembic.config import Config
    from alembic.util.exc import CommandError

    engine = database_url if isinstance(database_url, Engine) else make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    try:
        with _sqlite_file_lock(engine), engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
            try:
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
                conn.commit()
            finally:
                if conn.in_transaction():
                    conn.rollback()  # a failed upgrade must not leave the unlock in an aborted tx
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    conn.commit()
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    except CommandError as exc:
        # e.g. the database was migrated by a newer release than this one
        reason = " ".join(str(exc).split())
        raise DatabaseError(f"cannot migrate database {display_url(engine.url)}: {reason}") from exc
    finally:
        if engine is not database_url:
            engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """An exclusive lock on a file beside an SQLite database while it is migrated.

    SQLite has no advisory locks. A migration holds SQLite's write lock from before it reads
    the schema version (BEGIN IMMEDIATE), but a second one would wait for it only as long as
    the busy timeout; this lock waits for the first migration however long it takes.
    """
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file:"):
        yield
        return
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock, as before
        yield
        return
    try:
        lock = open(f"{database}-migrate.lock", "a+b")
    except OSError:  # the folder is missing or read-only: connecting will say so
        yield
        return
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def database_error(engine_or_url: Engine | str | URL, exc: BaseException) -> DatabaseError:
    """Turn a driver/SQLAlchemy exception into the one-line DatabaseError users see."""
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else engine_or_url
    return DatabaseError(f"cannot open database {display_url(url)}: {short_reason(exc)}")


def short_reason(exc: BaseException) -> str:
    """The useful part of a driver message, on one line.

    libpq says ``connection failed: connection to server at "127.0.0.1", port 5999 failed:
    Connection refused\\n\\tIs the server running ...``; we keep ``connection refused``.
    """
    orig = getattr(exc, "orig", None)
    message = str(orig if orig is not None else exc)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    reason = lines[0] if lines else type(exc).__name__
    reason = re.sub(r"^\(.*?\)\s*", "", reason)  # SQLAlchemy's "(psycopg.OperationalError) "
    reason = re.sub(r"^connection failed:\s*", "", reason)
    reason = re.sub(r"^connection to server (at|on) .*? failed:\s*", "", reason)
    reason = re.sub(r"^FATAL:\s*", "", reason)
    reason = reason.rstrip(".").strip() or type(exc).__name__
    return reason[0].lower() + reason[1:] if reason[:2].istitle() else reason


def _mask_raw(url: str) -> str:
    """Mask ``user:password@`` in a URL SQLAlchemy could not parse."""
    return re.sub(r"(//[^/:@]*):[^/@]*@", r"\1:***@", url)
