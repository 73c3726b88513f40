"""A read-only engine on the archive, with every statement bounded in time: for the web view.

- SQLite: ``PRAGMA query_only`` on every connection (a write fails: "attempt to write a
  readonly database"), and a progress handler that interrupts a statement running longer than
  the timeout (SQLite has no statement timeout of its own).
- PostgreSQL: ``default_transaction_read_only`` and ``statement_timeout`` set on every
  connection as it is made.

The caller checks first that the database is an archive at this release's schema (the CLI's
``open_engine``); this module only connects.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import Engine, event

from archive.db import make_engine

DEFAULT_TIMEOUT_S = 5.0
_DEADLINE = "gonghui_deadline"


def readonly_engine(database_url: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> Engine:
    engine = make_engine(database_url)
    if engine.dialect.name == "sqlite":
        _sqlite_readonly(engine, timeout_s)
    else:
        _postgres_readonly(engine, timeout_s)
    return engine


def _sqlite_readonly(engine: Engine, timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only=ON")
        record.info[_DEADLINE] = [float("inf")]
        deadline = record.info[_DEADLINE]
        # Called every 10k virtual machine steps; a non-zero answer interrupts the statement.
        dbapi_connection.set_progress_handler(lambda: int(time.monotonic() > deadline[0]), 10_000)

    @event.listens_for(engine, "before_cursor_execute")
    def _start(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        deadline = conn.info.get(_DEADLINE)
        if deadline is not None:
            deadline[0] = time.monotonic() + timeout_s


def _postgres_readonly(engine: Engine, timeout_s: float) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET default_transaction_read_only = on")
                cursor.execute(f"SET statement_timeout = {int(timeout_s * 1000)}")
        finally:
            dbapi_connection.autocommit = autocommit
