"""The scheduled job: one site's crawl in its own subprocess (a Twisted reactor runs once per
process, and a crash in one crawl must not take the scheduler down)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading

from archive.config import Settings

log = logging.getLogger("gonghui.schedule")
_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()


def crawl_command(settings: Settings, site_id: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler.cli.main",
        "--database",
        settings.database_url,
        "--warc-dir",
        str(settings.warc_dir),
        "--seeds-dir",
        str(settings.seeds_dir),
        "crawl",
        site_id,
        "--trigger",
        "schedule",
    ]


def run_site_crawl(settings: Settings, site_id: str) -> int:
    """Run `gonghui crawl SITE --trigger schedule` and wait; returns its exit code."""
    log.info("crawl %s: starting", site_id)
    proc = subprocess.Popen(crawl_command(settings, site_id), stdin=subprocess.DEVNULL)
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
