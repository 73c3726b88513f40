"""The archive's sites, runs and debts: the half of ``Archive`` the run ledger uses.

``archive.store.Archive`` inherits these; they are apart only so each file reads in one
sitting. Every method is its own transaction (``Archive._session``), or joins an open
``Archive.transaction()``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import ledger, monitoring, owed
from archive.errors import ConfigError, DatabaseError
from archive.models import RUN_TRIGGERS, Run, Site
from archive.records import RunCounts

if TYPE_CHECKING:
    from pathlib import Path

    from archive.warc import WarcWriter

SITE_ID = re.compile(r"[a-z][a-z0-9_]*")
FINAL_RUN_STATUSES = ("finished", "failed")


class SitesAndRuns:
    """Sites, runs and their leases (``archive.ledger``), owed pages (``archive.owed``)."""

    warc_dir: Path
    _writers: dict[int, WarcWriter]

    def _session(self) -> AbstractContextManager[Session]:  # Archive's
        raise NotImplementedError

    # -- sites and runs ------------------------------------------------------------------------

    def ensure_site(self, site_id: str, name: str, base_url: str) -> None:
        """Create the site row, or update its name and base URL."""
        if not SITE_ID.fullmatch(site_id):
            raise ConfigError(f"invalid site_id {site_id!r}: use [a-z][a-z0-9_]*")
        with self._session() as session:
            site = session.get(Site, site_id)
            if site is None:
                try:
                    with session.begin_nested():
                        session.add(
                            Site(id=site_id, name=name, base_url=base_url, created_at=_now())
                        )
                    return
                except IntegrityError:  # another process created it a moment ago
                    site = session.get_one(Site, site_id, populate_existing=True)
            site.name, site.base_url = name, base_url

    def start_run(
        self,
        site_id: str,
        trigger: str = "manual",
        *,
        scheduled_for: dt.datetime | None = None,
        resume: bool = False,
    ) -> int:
        """Open a run of the site holding its lease (see ``archive.ledger``); its id."""
        return self.open_run(site_id, trigger, scheduled_for=scheduled_for, resume=resume).run_id

    def open_run(
        self,
        site_id: str,
        trigger: str = "manual",
        *,
        scheduled_for: dt.datetime | None = None,
        resume: bool = False,
        mode: str | None = None,
        deep_every_days: int | None = None,
    ) -> ledger.StartedRun:
        """Take the site's lease, close its dead runs and open a run, carrying on the newest
        dead one when it is recent (or ``resume``). Raises SiteBusy when another live crawl
        holds the site or the scheduled slot was crawled already. ``mode`` None: full when
        no full run finished within ``deep_every_days`` (or ever), else incremental."""
        if trigger not in RUN_TRIGGERS:
            raise ValueError(f"unknown run trigger {trigger!r}: use one of {RUN_TRIGGERS}")
        with self._session() as session:
            if session.get(Site, site_id) is None:
                raise ValueError(f"unknown site {site_id!r}: call ensure_site() first")
            return ledger.start(
                session,
                site_id,
                trigger,
                _now(),
                scheduled_for=scheduled_for,
                resume=resume,
                mode=mode,
                deep_every=dt.timedelta(days=deep_every_days) if deep_every_days else None,
            )

    def run_mode(self, run_id: int) -> str:
        """How the run crawls: full, incremental or backfill."""
        with self._session() as session:
            run = session.get_one(Run, run_id)
            return run.mode or "full"

    def renew_lease(self, run_id: int) -> bool:
        """Keep the run's site lease alive; False when another process has taken it."""
        with self._session() as session:
            run = session.get(Run, run_id)
            return run is not None and ledger.renew(session, run.site_id, _now())

    def resume_skip(self, run_id: int) -> set[str]:
        """Canonical URLs the run need not fetch (archived by the runs it carries on)."""
        with self._session() as session:
            return ledger.resume_skip(session, run_id)

    def finish_run(
        self,
        run_id: int,
        status: str,
        counts: RunCounts,
        stop_reason: str | None = None,
        figures: Mapping[str, Any] | None = None,
        monitor: Mapping[str, Any] | None = None,
    ) -> None:
        """Record the run's end and counts and release the site's lease; then its coverage
        and findings (``archive.monitoring``: ``figures`` the crawl's own, ``monitor`` the
        seed's drift thresholds)."""
        if status not in FINAL_RUN_STATUSES:
            raise ValueError(f"a run finishes as one of {FINAL_RUN_STATUSES}, not {status!r}")
        writer = self._writers.pop(run_id, None)
        if writer is not None:
            writer.close()
        with self._session() as session:
            run = session.get(Run, run_id)
            if run is None:
                raise ValueError(f"unknown run {run_id}")
            run.status = status
            run.finished_at = _now()
            run.pages_fetched = counts.pages_fetched
            run.articles_archived = counts.articles_archived
            run.new_versions = counts.new_versions
            run.errors = counts.errors
            run.drops = dict(counts.drops)
            run.removals = counts.removals
            run.stop_reason = stop_reason[:300] if stop_reason else None
            ledger.release(session, run.site_id)
        monitoring.after_run(self._session, run_id, figures, monitor)

    def abandon_run(self, run_id: int, reason: str) -> bool:
        """Close a run still marked running as failed with ``reason`` (the crawl that opened
        it never finished it) and release its lease; False when it had finished."""
        with self._session() as session:
            run = session.get(Run, run_id)
            if run is None or run.status != "running":
                return False
            run.status, run.finished_at, run.stop_reason = "failed", _now(), reason
            ledger.release(session, run.site_id)
            return True

    # -- owed pages (archive/owed.py) ----------------------------------------------------------

    def owe(self, run_id: int | None, site_id: str, pages: list[owed.Owed]) -> str:
        """Record pages fetched but not stored, for the next run to ask for first: in the
        database, or in the site's journal beside the WARC files when the database is what
        failed. Returns where they went ("database" or "journal"); StorageError when neither
        could take them."""
        if not pages:
            return "database"
        try:
            with self._session() as session:
                owed.record(session, site_id, run_id, pages, _now())
            return "database"
        except DatabaseError:
            owed.append_journal(self.warc_dir, site_id, run_id, pages)
            return "journal"

    def owed_pages(self, site_id: str) -> list[owed.Owed]:
        """The site's owed pages, oldest first; a journal left by a run whose database failed
        is moved into the database first."""
        journal = owed.read_journal(self.warc_dir, site_id)
        with self._session() as session:
            for page, run_id in journal:
                owed.record(session, site_id, run_id, [page], _now())
            pages = owed.pending(session, site_id)
        if journal:
            owed.clear_journal(self.warc_dir, site_id)
        return pages

    def settle_owed(self, site_id: str, canonical_urls: list[str]) -> None:
        """The pages are stored now: their debt is paid."""
        with self._session() as session:
            owed.settle(session, site_id, canonical_urls)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
