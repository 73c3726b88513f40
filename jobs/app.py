"""The procrastinate App on the archive's PostgreSQL, and its schema.

Procrastinate keeps its jobs, locks, events and worker heartbeats in its own tables
(``procrastinate_*``) in the queue database, by default the archive's own PostgreSQL database.
``ensure_schema`` applies procrastinate's schema (its own ``schema.sql``, as
``procrastinate schema --apply`` would) when the tables are missing; ``gonghui worker`` and
``gonghui enqueue`` call it, serialised by an advisory lock so two machines starting at once
apply it once. Upgrading procrastinate later follows its own migration notes.
"""

from __future__ import annotations

import procrastinate
import psycopg

from archive.db import short_reason
from archive.errors import DatabaseError
from jobs.config import QueueSettings
from jobs.tasks import blueprint

NAMESPACE = "gonghui"
APPLICATION_NAME = "gonghui-jobs"  # on every queue connection (pg_stat_activity)
_SCHEMA_LOCK = 0x676F6E67  # pg_advisory_xact_lock key while the schema is applied


_app: procrastinate.App | None = None
_queue: QueueSettings | None = None


def make_app(queue: QueueSettings) -> procrastinate.App:
    """The process's App (not yet opened) on ``queue``. Procrastinate's pool checks each
    connection before lending it, so a restarted PostgreSQL costs a reconnect rather than a
    failed job. One App per process: a blueprint's tasks can be bound to one App only, so
    another queue (a test's next database) swaps the App's connector (as procrastinate's
    ``replace_connector`` does); an App can be opened and closed again."""
    global _app, _queue
    if _app is not None and queue == _queue:
        return _app
    connector = procrastinate.PsycopgConnector(
        conninfo=queue.conninfo,
        min_size=1,
        max_size=queue.pool_size,
        kwargs={"application_name": APPLICATION_NAME},
    )
    if _app is None:
        _app = procrastinate.App(connector=connector)
        _app.add_tasks_from(blueprint, namespace=NAMESPACE)
    else:
        _app.connector = connector
        _app.job_manager.connector = connector
    _queue = queue
    return _app


def ensure_schema(queue: QueueSettings) -> bool:
    """Apply procrastinate's schema if its tables are missing; True when it was applied."""
    try:
        with psycopg.connect(queue.conninfo, connect_timeout=10) as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            present = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if present is not None and present[0] is not None:
                return False
            conn.execute(_schema_sql())
            return True
    except psycopg.Error as exc:
        raise DatabaseError(f"job queue database: {short_reason(exc)}") from None


def _schema_sql() -> str:
    from procrastinate.schema import SchemaManager

    return SchemaManager.get_schema()
