"""``gonghui schedule --defer``: the APScheduler timetable, deferring jobs instead of crawling.

The same timetable (schedules/timetable.toml), the same scheduler (schedules/app.py's
``build_scheduler``: coalesced, jittered, one firing per site at a time); each firing defers a
``crawl_site`` job naming its slot instead of starting ``gonghui crawl`` itself, and the
workers run it. Two schedulers on one queue are harmless: a job still waiting is not queued
twice (its queueing lock), and a slot already crawled is refused by the archive (run slot).
We keep APScheduler rather than procrastinate's periodic tasks so that one timetable, with its
validation and ``--check``, drives both modes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import signal
import threading
from types import FrameType
from typing import Any

from apscheduler.triggers.cron import CronTrigger

from archive.config import Settings
from crawler.seeds import load_seeds
from jobs.app import ensure_schema, make_app
from jobs.config import QueueSettings, load_queue_settings
from jobs.defer import defer_crawls
from schedules.app import build_scheduler
from schedules.timetable import Timetable, previous_fire_time

log = logging.getLogger("gonghui.schedule")


class _Queue:
    """The App, open on an event loop of its own thread for the scheduler's lifetime: the
    firings (APScheduler's thread pool) hand it their deferrals."""

    def __init__(self, queue: QueueSettings) -> None:
        self.app = make_app(queue)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, name="queue", daemon=True).start()
        self.run(self._open())

    async def _open(self) -> None:
        await self.app.open_async()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()


def defer_site_crawl(
    settings: Settings, site_id: str, slot_trigger: CronTrigger | None, queue: _Queue
) -> int | None:
    """Queue the site's crawl for the slot just fired; the job id (None: one is waiting)."""
    slot = previous_fire_time(slot_trigger, dt.datetime.now(dt.UTC)) if slot_trigger else None
    seed = load_seeds(settings.seeds_dir)[site_id]
    job_id = queue.run(defer_crawls(queue.app, [seed], slot=slot))[0].job_id
    log.info(
        "crawl %s: %s",
        site_id,
        f"queued job {job_id}" if job_id else "a job for it is already waiting",
    )
    return job_id


def run_deferring_scheduler(settings: Settings, timetable: Timetable) -> None:
    """Block until SIGINT/SIGTERM, deferring a crawl job at each firing of the timetable."""
    settings_of_queue = load_queue_settings(settings)
    ensure_schema(settings_of_queue)
    queue = _Queue(settings_of_queue)
    scheduler = build_scheduler(settings, timetable)
    for job in scheduler.get_jobs():
        job.modify(func=defer_site_crawl, args=[*job.args, queue])

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping the scheduler", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
