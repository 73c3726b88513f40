"""The job queue's settings, from the environment (beside archive/config.py's).

| variable | default | meaning |
|---|---|---|
| GONGHUI_QUEUE_URL | the archive's database URL | PostgreSQL database of the job queue |
| GONGHUI_JOB_TIMEOUT | 21600 (6 h) | seconds a crawl job may run before it is stopped |
| GONGHUI_WORKER_HEARTBEAT | 10 | seconds between a worker's heartbeats |
| GONGHUI_WORKER_STALLED_AFTER | 60 | a worker silent this long is dead: its jobs are retried |
| GONGHUI_WORKER_POOL_SIZE | 4 | connections a worker keeps to the queue database at most |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from archive.config import Settings
from archive.errors import ConfigError


@dataclass(frozen=True, slots=True)
class QueueSettings:
    conninfo: str  # libpq URL of the queue database (postgresql://...)
    job_timeout: float = 6 * 3600.0
    heartbeat: float = 10.0
    stalled_after: float = 60.0
    pool_size: int = 4


def libpq_url(database_url: str) -> str:
    """``postgresql+psycopg://u@h/db`` -> ``postgresql://u@h/db``; not PostgreSQL: ConfigError."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise ConfigError(f"{database_url!r} is not a database URL") from None
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            "the job queue needs PostgreSQL (procrastinate): the archive database is "
            f"{url.get_backend_name()}; set GONGHUI_DATABASE_URL (or --database, or "
            "GONGHUI_QUEUE_URL) to a postgresql:// URL"
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _number(env: Mapping[str, str], name: str, default: float, minimum: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a number") from None
    if value < minimum:
        raise ConfigError(f"{name}={text!r}: must be at least {minimum:g}")
    return value


def load_queue_settings(
    settings: Settings, environ: Mapping[str, str] | None = None
) -> QueueSettings:
    env = os.environ if environ is None else environ
    heartbeat = _number(env, "GONGHUI_WORKER_HEARTBEAT", 10.0, 0.1)
    stalled = _number(env, "GONGHUI_WORKER_STALLED_AFTER", 60.0, 0.5)
    if stalled <= heartbeat:
        raise ConfigError(
            f"GONGHUI_WORKER_STALLED_AFTER ({stalled:g}) must be longer than "
            f"GONGHUI_WORKER_HEARTBEAT ({heartbeat:g}), or live workers look dead"
        )
    return QueueSettings(
        conninfo=libpq_url(env.get("GONGHUI_QUEUE_URL") or settings.database_url),
        job_timeout=_number(env, "GONGHUI_JOB_TIMEOUT", 6 * 3600.0, 1.0),
        heartbeat=heartbeat,
        stalled_after=stalled,
        pool_size=int(_number(env, "GONGHUI_WORKER_POOL_SIZE", 4, 2)),
    )
