"""Crawl workers on procrastinate, the PostgreSQL job queue, over the shared archive.

- ``config``: the queue's settings (queue database, job timeout, heartbeats) from the environment.
- ``app``: the procrastinate App, its schema applied into the archive's PostgreSQL if missing.
- ``tasks``: ``crawl_site``, ``backfill``, ``export``, ``reprints_reindex``; each runs a
  ``gonghui`` command in a subprocess (``run``): a Twisted reactor cannot restart in a worker.
- ``defer``: what ``gonghui enqueue`` and ``gonghui schedule --defer`` queue (lock per host).
- ``worker``: ``gonghui worker``: procrastinate's worker plus the stalled-job reaper.
- ``listing``: ``gonghui jobs``.
- ``scheduling``: ``gonghui schedule --defer`` (the APScheduler timetable, deferring jobs).

The package imports archive/ (to read the run a crawl opened), never Scrapy or crawler/ code
beyond the seed files; crawls run as ``gonghui crawl`` subprocesses.
"""
