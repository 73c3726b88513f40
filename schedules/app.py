"""The scheduler process: APScheduler 3 BlockingScheduler, one cron job per site.

Jobs are coalesced (missed runs collapse into one), never run twice at once for a site
(max_instances=1), and run in a thread pool so different sites can crawl side by side, each
in its own subprocess.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.blocking import BlockingScheduler

from archive.config import Settings
from schedules.digest import add_digest_job
from schedules.jobs import run_site_crawl, stop_running_crawls
from schedules.timetable import Timetable, cron_trigger

log = logging.getLogger("gonghui.schedule")


def build_scheduler(settings: Settings, timetable: Timetable) -> BlockingScheduler:
    scheduler = BlockingScheduler(
        timezone=timetable.timezone,
        executors={"default": ThreadPoolExecutor(max_workers=max(1, len(timetable.entries)))},
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": timetable.misfire_grace_seconds,
        },
    )
    for entry in timetable.entries:
        trigger = (
            cron_trigger(entry.expression, timetable.timezone, jitter=timetable.jitter_seconds)
            if timetable.jitter_seconds
            else entry.trigger
        )
        scheduler.add_job(
            run_site_crawl,
            trigger,
            # The un-jittered trigger names the slot each firing fills (one run per slot).
            args=[settings, entry.site_id, entry.trigger],
            id=f"crawl:{entry.site_id}",
            name=f"crawl {entry.site_id}",
            replace_existing=True,
        )
    add_digest_job(scheduler, settings, timetable.timezone)  # the findings' morning digest
    return scheduler


def run_scheduler(settings: Settings, timetable: Timetable) -> None:
    """Block until SIGINT/SIGTERM; running crawls are asked to stop on the way out."""
    scheduler = build_scheduler(settings, timetable)

    def stop(signum: int, frame: FrameType | None) -> None:
        log.info("signal %s: stopping the scheduler", signum)
        stop_running_crawls()
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
