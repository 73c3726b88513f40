"""Run one ``gonghui`` command for a job: a subprocess with a timeout, tied to the worker.

A Twisted reactor runs once per process, so a long-lived worker cannot crawl in-process; each
job is a ``gonghui ...`` child. The child:

- gets the worker's archive settings through the environment (no URL on the command line);
- is in a session of its own (a Ctrl-C at the worker's terminal does not reach it: the worker
  stops taking jobs and waits for the running ones, procrastinate's graceful shutdown);
- dies with the worker (Linux ``PR_SET_PDEATHSIG``: SIGKILL): a worker killed outright leaves
  no crawl running on without it, so its job, retried elsewhere, finds the site's lease free
  (at once on this host, after the lease's 120 s elsewhere) and carries the interrupted run on;
- is asked to stop (SIGTERM, then SIGKILL after ``KILL_GRACE``) when the job times out or is
  cancelled (the worker's own shutdown timeout).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Sequence

from archive.config import Settings

log = logging.getLogger("gonghui.jobs")
KILL_GRACE = 30.0  # seconds between SIGTERM and SIGKILL
_PR_SET_PDEATHSIG = 1


class JobTimeout(Exception):
    """The command ran past the job timeout and was stopped."""


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GONGHUI_DATABASE_URL=settings.database_url,
        GONGHUI_WARC_DIR=str(settings.warc_dir),
        GONGHUI_SEEDS_DIR=str(settings.seeds_dir),
    )
    return env


async def run_gonghui(settings: Settings, args: Sequence[str], timeout: float) -> int:
    """Run ``gonghui ARGS`` to its end; its exit code. Output goes to the worker's."""
    argv = [sys.executable, "-m", "crawler.cli.main", *args]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.DEVNULL,
        env=child_env(settings),
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )
    log.info("gonghui %s: pid %s", " ".join(args), proc.pid)
    try:
        return await asyncio.wait_for(asyncio.shield(proc.wait()), timeout)
    except TimeoutError:
        await _stop(proc)
        raise JobTimeout(
            f"gonghui {' '.join(args)} ran past {timeout:g} s and was stopped"
        ) from None
    except asyncio.CancelledError:
        await _stop(proc)
        raise


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is not None:
        return
    proc.terminate()
    try:
        await asyncio.wait_for(proc.wait(), KILL_GRACE)
    except TimeoutError:
        proc.kill()
        await proc.wait()
