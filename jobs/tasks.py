"""The jobs: each runs one ``gonghui`` command in a subprocess (jobs/run.py).

| task | command | queue | lock | queueing lock |
|---|---|---|---|---|
| ``crawl_site(site, mode, slot)`` | ``gonghui crawl SITE [--deep]`` | crawl | host:port of the site | site |
| ``backfill(site, from_day, to_day)`` | ``gonghui crawl SITE --from --to`` | crawl | host:port of the site | ``SITE:backfill:FROM:TO`` |
| ``export(fmt, output, site, since)`` | ``gonghui export`` | archive | | ``export:OUTPUT`` |
| ``reprints_reindex()`` | ``gonghui reprints --reindex`` | archive | ``reprints`` | ``reprints_reindex`` |

Locks are given when a job is deferred (jobs/defer.py). A crawl refused because another crawl
holds the site's lease (``gonghui crawl`` exit 6: a person's manual crawl) is retried
``BUSY_RETRIES`` times, ``BUSY_WAIT`` s apart, and so is a crawl process killed by a signal
from outside (the retry carries its interrupted run on); any other failure fails the job (its pages are
owed to the site's next run by the archive itself). A finished crawl job logs its run id,
status and exit code, and returns them.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from procrastinate import Blueprint, JobContext, RetryStrategy
from sqlalchemy import func, select

from archive.db import make_engine
from archive.models import Run
from jobs.run import run_gonghui

log = logging.getLogger("gonghui.jobs")
blueprint = Blueprint()
BUSY_RETRIES = 10
BUSY_WAIT = 60  # seconds


class SiteHeld(Exception):
    """Another crawl holds the site's lease (a manual ``gonghui crawl``): retried later."""


class CrawlKilled(Exception):
    """The crawl process was killed by a signal from outside (the OOM killer, a person): its
    run is left interrupted, and the retry carries it on."""


class CommandFailed(Exception):
    """The command ended with a non-zero exit (the run row and the worker's log say why)."""


_CRAWL_RETRY = RetryStrategy(
    max_attempts=BUSY_RETRIES, wait=BUSY_WAIT, retry_exceptions={SiteHeld, CrawlKilled}
)


def _runs(database_url: str, site: str, after: int | None) -> tuple[int | None, Any]:
    """(the site's newest run id, that run if newer than ``after``); (None, None) when the
    archive has no tables yet."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            newest = conn.scalar(select(func.max(Run.id)).where(Run.site_id == site))
            if newest is None or (after is not None and newest <= after):
                return newest, None
            return newest, conn.execute(
                select(Run.id, Run.status, Run.mode, Run.resumed_from).where(Run.id == newest)
            ).first()
    except Exception:  # no archive tables yet (the crawl creates them)
        return None, None
    finally:
        engine.dispose()


def _context(context: JobContext) -> tuple[Any, Any]:
    extra = context.additional_context or {}
    return extra["settings"], extra["queue"]


async def _crawl(context: JobContext, site: str, args: list[str]) -> dict[str, Any]:
    settings, queue = _context(context)
    before, _ = await asyncio.to_thread(_runs, settings.database_url, site, None)
    code = await run_gonghui(settings, args, queue.job_timeout)
    _, run = await asyncio.to_thread(_runs, settings.database_url, site, before)
    job_id = context.job.id if context.job else None
    what = f"job {job_id} {' '.join(args)}"
    if run is None:
        log.log(logging.ERROR if code else logging.INFO, "%s: no run opened (exit %s)", what, code)
    else:
        resumed = f", carrying on run {run.resumed_from}" if run.resumed_from else ""
        log.log(
            logging.ERROR if code else logging.INFO,
            "%s: run %s %s %s%s (exit %s)",
            what,
            run.id,
            run.mode,
            run.status,
            resumed,
            code,
        )
    if code == 6:
        raise SiteHeld(f"{what}: the site is being crawled by another process; retried later")
    if code < 0:
        raise CrawlKilled(f"{what}: killed by signal {-code}; retried later, carrying the run on")
    if code != 0:
        raise CommandFailed(f"{what}: exit {code}")
    return {"run_id": run.id if run else None, "status": run.status if run else None, "exit": code}


@blueprint.task(name="crawl_site", queue="crawl", pass_context=True, retry=_CRAWL_RETRY)
async def crawl_site(
    context: JobContext, site: str, mode: str = "auto", slot: str | None = None
) -> dict[str, Any]:
    """Crawl one site: ``mode`` "auto" (incremental, full when due) or "deep"; ``slot`` (UTC,
    ``%Y-%m-%dT%H:%M:%S%z``) names a timetable slot, crawled once however often deferred."""
    args = ["crawl", site]
    if mode == "deep":
        args.append("--deep")
    if slot:
        args += ["--trigger", "schedule", "--scheduled-for", slot]
    return await _crawl(context, site, args)


@blueprint.task(name="backfill", queue="crawl", pass_context=True, retry=_CRAWL_RETRY)
async def backfill(
    context: JobContext, site: str, from_day: str, to_day: str | None = None, force: bool = False
) -> dict[str, Any]:
    """Backfill an e-paper's editions dated ``from_day`` to ``to_day`` (YYYY-MM-DD)."""
    args = ["crawl", site, "--from", from_day, *(["--to", to_day] if to_day else [])]
    return await _crawl(context, site, [*args, *(["--force"] if force else [])])


async def _command(context: JobContext, args: list[str]) -> None:
    settings, queue = _context(context)
    code = await run_gonghui(settings, args, queue.job_timeout)
    job_id = context.job.id if context.job else None
    log.log(logging.ERROR if code else logging.INFO, "job %s %s: exit %s", job_id, args[0], code)
    if code != 0:
        raise CommandFailed(f"job {job_id} gonghui {' '.join(args)}: exit {code}")


@blueprint.task(name="export", queue="archive", pass_context=True)
async def export(
    context: JobContext,
    fmt: str,
    output: str,
    site: str | None = None,
    since: str | None = None,
) -> None:
    """Write the current versions as JSONL or CSV to ``output`` (a path the worker sees)."""
    args = ["export", "--format", fmt, "-o", output]
    args += [*(["--site", site] if site else []), *(["--since", since] if since else [])]
    await _command(context, args)


@blueprint.task(name="reprints_reindex", queue="archive", pass_context=True)
async def reprints_reindex(context: JobContext) -> None:
    """Index the pages archived before the reprint index existed (resumable, idempotent)."""
    await _command(context, ["reprints", "--reindex"])
