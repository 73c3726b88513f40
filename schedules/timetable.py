"""The timetable file: pure parsing and validation, no scheduler needed.

Accepted forms of a schedule (a real sample each):
    "10 2 * * *"        cron, minute hour dom month dow: 02:10 every night
    "*/5 * * * * *"     six fields, seconds first: every five seconds (tests)
    "@daily"            alias, also @nightly (02:00), @hourly, @weekly (Monday 02:00)
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from apscheduler.triggers.cron import CronTrigger

from archive.config import read_toml
from archive.errors import ConfigError

ALIASES = {
    "@hourly": "0 * * * *",
    "@daily": "0 2 * * *",
    "@nightly": "0 2 * * *",
    "@weekly": "0 2 * * mon",
}
_FIELDS5 = ("minute", "hour", "day", "month", "day_of_week")


@dataclass(frozen=True, slots=True)
class Entry:
    site_id: str
    expression: str
    trigger: CronTrigger


@dataclass(frozen=True, slots=True)
class Timetable:
    path: Path
    timezone: zoneinfo.ZoneInfo
    misfire_grace_seconds: int
    entries: tuple[Entry, ...]
    # Each firing is delayed by a random 0..jitter seconds, so sites sharing a minute (and
    # several archives sharing a timetable) do not all knock at once. The run's slot stays the
    # un-jittered fire time (``previous_fire_time``).
    jitter_seconds: int = 0


def previous_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The latest fire time of ``trigger`` at or before ``now`` (the slot a firing fills)."""
    following = trigger.get_next_fire_time(None, now)
    after = trigger.get_next_fire_time(following, following + dt.timedelta(microseconds=1))
    if following is None or after is None:
        return None
    period = after - following
    start = now - 2 * period - dt.timedelta(seconds=1)
    latest = None
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire <= now:
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + dt.timedelta(microseconds=1))
    return latest


def cron_trigger(expression: str, tz: zoneinfo.ZoneInfo, jitter: int | None = None) -> CronTrigger:
    """A CronTrigger from five fields, six (seconds first) or an alias; ValueError if bad."""
    fields = ALIASES.get(expression.strip(), expression).split()
    if len(fields) == 5:
        return CronTrigger(**dict(zip(_FIELDS5, fields, strict=True)), timezone=tz, jitter=jitter)
    if len(fields) == 6:
        return CronTrigger(
            second=fields[0],
            **dict(zip(_FIELDS5, fields[1:], strict=True)),
            timezone=tz,
            jitter=jitter,
        )
    raise ValueError(f"expected 5 or 6 cron fields, got {len(fields)}")


def load_timetable(path: Path, known_sites: set[str] | None = None) -> Timetable:
    """Read and validate a timetable; every error names the file and the key."""
    data = read_toml(path, "timetable")
    unknown = set(data) - {"timezone", "misfire_grace_seconds", "jitter_seconds", "crawl"}
    if unknown:
        raise ConfigError(f"timetable {path}: unknown key '{sorted(unknown)[0]}'")
    try:
        tz = zoneinfo.ZoneInfo(str(data.get("timezone", "Asia/Shanghai")))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"timetable {path}: 'timezone': unknown zone {data.get('timezone')!r}"
        ) from None
    grace = data.get("misfire_grace_seconds", 3600)
    if not isinstance(grace, int) or isinstance(grace, bool) or grace < 1:
        raise ConfigError(f"timetable {path}: 'misfire_grace_seconds' must be a positive integer")
    jitter = data.get("jitter_seconds", 0)
    if not isinstance(jitter, int) or isinstance(jitter, bool) or jitter < 0:
        raise ConfigError(f"timetable {path}: 'jitter_seconds' must be a whole number >= 0")
    crawl = data.get("crawl")
    if not isinstance(crawl, dict) or not crawl:
        raise ConfigError(f"timetable {path}: a [crawl] table with at least one site is required")
    entries = []
    for site_id, expression in crawl.items():
        where = f"timetable {path}: crawl.{site_id}"
        if known_sites is not None and site_id not in known_sites:
            raise ConfigError(f"{where}: no seed file for site '{site_id}'")
        if not isinstance(expression, str):
            raise ConfigError(f'{where}: must be a cron string such as "10 2 * * *"')
        try:
            trigger = cron_trigger(expression, tz)
        except ValueError as exc:
            raise ConfigError(f"{where}: bad cron expression {expression!r}: {exc}") from None
        entries.append(Entry(site_id, expression, trigger))
    return Timetable(path, tz, grace, tuple(entries), jitter)
