"""Engines, migrations and the one-line database errors a user sees.

Nothing here runs at import time: engines are made by the caller (``Archive.open``, the CLI,
the tests) from a URL that ``archive.config`` read from the environment.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from archive.errors import DatabaseError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
PG_CONNECT_TIMEOUT_S = 10
# Any constant will do; it only has to be the same in every process that migrates.
_PG_MIGRATION_LOCK = 0x676F6E67


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
    and a CLI export can share one file. PostgreSQL gets a connect timeout so an unreachable
    host fails in seconds rather than hanging a scheduled job.
    """
    url = normalise_url(database_url)
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql" and "connect_timeout" not in url.query:
        connect_args["connect_timeout"] = PG_CONNECT_TIMEOUT_S
    try:
        engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise DatabaseError(
            f"cannot open database {display_url(url)}: {short_reason(exc)}"
        ) from exc
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")  # a no-op for :memory: databases
    finally:
        cursor.close()


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
    then finds the schema current.
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

    SQLite has no advisory locks, and Alembic's DDL does not take the database's write lock
    before it reads the schema version, so two processes would both create the tables.
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
