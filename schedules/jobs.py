"""The scheduled job: one site's crawl in its own subprocess (a Twisted reactor runs once per
process, and a crash in one crawl must not take the scheduler down)."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import threading

from apscheduler.triggers.cron import CronTrigger

from archive.config import Settings
from schedules.timetable import previous_fire_time

log = logging.getLogger("gonghui.schedule")
_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()


def crawl_command(settings: Settings, site_id: str, slot: dt.datetime | None = None) -> list[str]:
    """`gonghui crawl SITE --trigger schedule [--scheduled-for SLOT]` for this archive."""
    at = (
        ["--scheduled-for", slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S%z")] if slot else []
    )
    return settings.gonghui_argv("crawl", site_id, "--trigger", "schedule", *at)


def run_site_crawl(
    settings: Settings, site_id: str, slot_trigger: CronTrigger | None = None
) -> int:
    """Run `gonghui crawl SITE --trigger schedule` and wait; returns its exit code.

    With ``slot_trigger`` the crawl names its slot (the latest un-jittered fire time), and the
    archive refuses a second run of the site for that slot: two schedulers on one database
    crawl each site once.
    """
    slot = previous_fire_time(slot_trigger, dt.datetime.now(dt.UTC)) if slot_trigger else None
    log.info("crawl %s: starting%s", site_id, f" (slot {slot.isoformat()})" if slot else "")
    proc = subprocess.Popen(crawl_command(settings, site_id, slot), stdin=subprocess.DEVNULL)
    with _lock:
        _running.add(proc)
    try:
        code = proc.wait()
    finally:
        with _lock:
            _running.discard(proc)
    log.log(logging.INFO if code == 0 else logging.ERROR, "crawl %s: exit %s", site_id, code)
    return code


def stop_running_crawls() -> None:
    """Ask every crawl still running to stop (SIGTERM: Scrapy closes the spider cleanly)."""
    with _lock:
        for proc in _running:
            proc.terminate()
