"""The scheduler's morning digest: one message a night listing the open findings
(archive.alerts), sent at ``GONGHUI_DIGEST_CRON`` in the timetable's time zone."""

from __future__ import annotations

import logging
import zoneinfo

from apscheduler.schedulers.base import BaseScheduler

from archive.config import Settings
from archive.errors import ConfigError, GonghuiError
from schedules.timetable import cron_trigger

log = logging.getLogger("gonghui.schedule")


def add_digest_job(scheduler: BaseScheduler, settings: Settings, tz: zoneinfo.ZoneInfo) -> bool:
    """Schedule the digest when a channel is configured; False (logged) when none is."""
    if not settings.alert_urls and settings.alert_config is None:
        log.info("no GONGHUI_ALERT_URLS nor GONGHUI_ALERT_CONFIG: no digest will be sent")
        return False
    try:
        trigger = cron_trigger(settings.digest_cron, tz)
    except ValueError as exc:
        raise ConfigError(f"GONGHUI_DIGEST_CRON={settings.digest_cron!r}: {exc}") from None
    scheduler.add_job(
        send_digest, trigger, args=[settings], id="digest", name="digest", replace_existing=True
    )
    return True


def send_digest(settings: Settings) -> None:
    """Send the digest if anything is open or recovered; a failure is logged, never raised
    (the scheduler goes on, and the findings stay new for the next digest)."""
    from archive import alerts
    from archive.db import make_engine

    try:
        engine = make_engine(settings.database_url)
        try:
            digest = alerts.notify(engine, list(settings.alert_urls), settings.alert_config)
        finally:
            engine.dispose()
    except GonghuiError as exc:
        log.error("digest not sent: %s", exc)
        return
    log.info("digest %s", f"sent: {digest.title}" if digest else "not needed: nothing open")
