"""Deferring jobs: what ``gonghui enqueue`` and ``gonghui schedule --defer`` put in the queue.

A crawl job's ``lock`` is the host of its site, ``host:port`` with the scheme's default port
written out (the key crawler/hostgate.py keys politeness by): two jobs for sites on one host
never run at once, on any machine, so each host's politeness (delay, concurrency, robots.txt
Crawl-delay) holds globally. Its ``queueing_lock`` is the site: a second nightly crawl of a site
whose first is still waiting is not queued (a backfill is keyed by its range).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

_DEFAULT_PORTS = {"http": 80, "https": 443}


def host_lock(url: str) -> str:
    """``host:port`` of a site's URL (as crawler.hostgate.host_key, without importing Scrapy)."""
    parts = urlsplit(url)
    return f"{(parts.hostname or '').lower()}:{parts.port or _DEFAULT_PORTS.get(parts.scheme, 0)}"


@dataclass(frozen=True, slots=True)
class Queued:
    site: str
    task: str
    job_id: int | None  # None: an equal job was already waiting (its queueing lock)
    lock: str | None
    queueing_lock: str


async def _defer(task: Any, lock: str | None, queueing_lock: str, **kwargs: Any) -> int | None:
    try:
        return await task.configure(lock=lock, queueing_lock=queueing_lock).defer_async(**kwargs)
    except AlreadyEnqueued:
        return None


async def defer_crawls(
    app: procrastinate.App,
    seeds: Iterable[Any],
    *,
    deep: bool = False,
    backfill: Any = None,
    force: bool = False,
    slot: dt.datetime | None = None,
) -> list[Queued]:
    """A ``crawl_site`` (or, with ``backfill``, a ``backfill``) job per seed."""
    crawl = app.tasks["gonghui:crawl_site"]
    fill = app.tasks["gonghui:backfill"]
    out = []
    for seed in seeds:
        lock = host_lock(seed.base_url)
        if backfill is not None:
            start, end = backfill.start.isoformat(), backfill.end.isoformat()
            key = f"{seed.id}:backfill:{start}:{end}"
            job = await _defer(
                fill, lock, key, site=seed.id, from_day=start, to_day=end, force=force
            )
            out.append(Queued(seed.id, "backfill", job, lock, key))
            continue
        kwargs: dict[str, Any] = {"site": seed.id, "mode": "deep" if deep else "auto"}
        if slot is not None:
            kwargs["slot"] = slot.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S%z")
        job = await _defer(crawl, lock, seed.id, **kwargs)
        out.append(Queued(seed.id, "crawl_site", job, lock, seed.id))
    return out


async def defer_export(
    app: procrastinate.App, fmt: str, output: str, site: str | None, since: str | None
) -> Queued:
    key = f"export:{output}"
    job = await _defer(
        app.tasks["gonghui:export"], None, key, fmt=fmt, output=output, site=site, since=since
    )
    return Queued(site or "", "export", job, None, key)


async def defer_reindex(app: procrastinate.App) -> Queued:
    job = await _defer(app.tasks["gonghui:reprints_reindex"], "reprints", "reprints_reindex")
    return Queued("", "reprints_reindex", job, "reprints", "reprints_reindex")
