"""``gonghui jobs``: the queue as a table: queued, running, stalled, failed, done.

Read straight from procrastinate's tables (``procrastinate_jobs``, ``_events``, ``_workers``)
in one statement, because its Python API lists jobs without their times. A job ``doing``
whose worker has sent no heartbeat for ``GONGHUI_WORKER_STALLED_AFTER`` s (or has been pruned)
is shown ``stalled``: the next look of any worker's reaper queues it again.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row

from archive.db import short_reason
from archive.errors import DatabaseError
from jobs.app import NAMESPACE
from jobs.config import QueueSettings

STATES = ("todo", "doing", "stalled", "succeeded", "failed", "cancelled", "aborted")

_QUERY = """
SELECT j.id, j.queue_name, j.task_name, j.status::text AS status, j.args, j.lock, j.attempts,
       j.worker_id, w.last_heartbeat,
       (SELECT max(e.at) FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type = 'started') AS started,
       (SELECT max(e.at) FROM procrastinate_events e
         WHERE e.job_id = j.id AND e.type IN ('succeeded', 'failed', 'cancelled', 'aborted'))
         AS ended,
       j.status = 'doing' AND (w.id IS NULL
         OR w.last_heartbeat < now() - make_interval(secs => %(stalled)s)) AS stalled
  FROM procrastinate_jobs j
  LEFT JOIN procrastinate_workers w ON w.id = j.worker_id
 ORDER BY j.id DESC
"""


@dataclass(frozen=True, slots=True)
class JobRow:
    id: int
    queue: str
    task: str
    state: str
    args: dict[str, Any]
    lock: str | None
    attempts: int
    worker_id: int | None
    started: dt.datetime | None
    ended: dt.datetime | None


def list_jobs(queue: QueueSettings, states: tuple[str, ...] = (), limit: int = 50) -> list[JobRow]:
    try:
        with psycopg.connect(queue.conninfo, connect_timeout=10, row_factory=dict_row) as conn:
            present = conn.execute("SELECT to_regclass('procrastinate_jobs') AS t").fetchone()
            if present is None or present["t"] is None:
                return []
            rows = conn.execute(_QUERY, {"stalled": queue.stalled_after}).fetchall()
    except psycopg.Error as exc:
        raise DatabaseError(f"job queue database: {short_reason(exc)}") from None
    out = []
    for r in rows:
        state = "stalled" if r["stalled"] else r["status"]
        if states and state not in states:
            continue
        args = r["args"] if isinstance(r["args"], dict) else json.loads(r["args"] or "{}")
        out.append(
            JobRow(
                r["id"],
                r["queue_name"],
                r["task_name"].removeprefix(f"{NAMESPACE}:"),
                state,
                args,
                r["lock"],
                r["attempts"],
                r["worker_id"],
                r["started"],
                r["ended"],
            )
        )
        if len(out) >= limit:
            break
    return out


def describe_args(args: dict[str, Any]) -> str:
    return " ".join(f"{k}={v}" for k, v in args.items() if v not in (None, False, ""))
