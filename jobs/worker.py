"""``gonghui worker``: procrastinate's worker, the stalled-job reaper, and reconnection.

- **Jobs** run ``concurrency`` at a time, each a ``gonghui`` subprocess (jobs/run.py).
- **Heartbeats**: the worker writes one every ``GONGHUI_WORKER_HEARTBEAT`` s (procrastinate's
  ``procrastinate_workers`` table).
- **Stalled jobs**: every worker also looks, once a heartbeat, for jobs still ``doing`` whose
  worker has been silent for ``GONGHUI_WORKER_STALLED_AFTER`` s (killed, its machine gone) and
  puts them back in the queue (procrastinate's ``get_stalled_jobs`` and ``retry_job``, as its
  documentation recommends). The retried crawl finds the site's interrupted run and carries it
  on (archive/ledger.py): what the dead crawl archived is not fetched again.
- **Stopping**: SIGTERM or Ctrl-C stops taking jobs and waits for the running ones (they keep
  their own session: a terminal's Ctrl-C does not reach them). A second signal is ignored; a
  SIGKILL (systemd's stop timeout) leaves the jobs to the reaper of another worker.
- **Reconnecting**: procrastinate's pool checks a connection before lending it; if the worker
  still stops on a database error (PostgreSQL restarted, the listener's connection lost), it is
  started again after ``RECONNECT_PAUSE`` s, until a signal stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from collections.abc import Iterable

import procrastinate
from procrastinate.worker import Worker

from archive.config import Settings
from jobs.app import ensure_schema, make_app
from jobs.config import QueueSettings, load_queue_settings

log = logging.getLogger("gonghui.worker")
RECONNECT_PAUSE = 2.0


async def reap_stalled(app: procrastinate.App, queue: QueueSettings) -> None:
    """Forever: put back in the queue the jobs of workers silent for ``stalled_after``."""
    while True:
        try:
            for job in await app.job_manager.get_stalled_jobs(
                seconds_since_heartbeat=queue.stalled_after
            ):
                try:
                    await app.job_manager.retry_job(job)
                except Exception:  # another worker's reaper retried it first
                    continue
                log.warning(
                    "job %s (%s %s) stalled: its worker stopped sending heartbeats; queued again",
                    job.id,
                    job.task_name,
                    job.task_kwargs,
                )
        except Exception as exc:  # the queue database is out of reach: try again later
            log.warning("stalled-job check failed: %s", exc)
        await asyncio.sleep(queue.heartbeat)


async def _serve(
    settings: Settings,
    queue: QueueSettings,
    concurrency: int,
    queues: list[str] | None,
    name: str,
) -> None:
    stopping = asyncio.Event()
    current: list[Worker] = []

    def on_signal() -> None:
        stopping.set()
        for worker in current:
            worker.stop()

    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal)
    while not stopping.is_set():
        app = make_app(queue)
        try:
            async with app.open_async():
                worker = Worker(
                    app,
                    queues=queues,
                    name=name,
                    concurrency=concurrency,
                    additional_context={"settings": settings, "queue": queue},
                    update_heartbeat_interval=queue.heartbeat,
                    stalled_worker_timeout=queue.stalled_after,
                    fetch_job_polling_interval=queue.heartbeat,
                    install_signal_handlers=False,
                )
                current[:] = [worker]
                reaper = asyncio.create_task(reap_stalled(app, queue), name="reaper")
                try:
                    await worker.run()
                finally:
                    reaper.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await reaper
            if not stopping.is_set():  # a side task failed (the listener lost its database)
                log.warning("worker stopped without a signal; starting again")
        except Exception as exc:
            if stopping.is_set():
                break
            log.warning("queue database: %s; reconnecting in %g s", exc, RECONNECT_PAUSE)
        current.clear()
        if not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), RECONNECT_PAUSE)


def run_worker(
    settings: Settings,
    concurrency: int = 1,
    queues: Iterable[str] | None = None,
    name: str | None = None,
) -> None:
    """Apply the queue schema if missing, then work until SIGTERM/SIGINT."""
    queue = load_queue_settings(settings)
    ensure_schema(queue)
    name = name or f"{socket.gethostname()}:{os.getpid()}"
    asyncio.run(_serve(settings, queue, concurrency, list(queues) if queues else None, name))
