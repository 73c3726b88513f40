"""The archive as the crawler sees it: the one module ``crawler`` imports from ``archive``.

Every call is its own transaction and commits before it returns, unless it runs inside
``with archive.transaction():``, which makes the calls in it one transaction. The crawler
stores its pages a batch at a time (``store_pages``, archive/store_batch.py: one transaction
for the batch's captures, texts and versions), so a crawl killed at any moment loses at most
the batch not yet committed and never half of a page. The WARC records are written before the
capture rows that point at them: a crash between the two leaves an unreferenced record, never a row
pointing at missing bytes.

Single-threaded use only (one crawl process per site). A run that is never finished stays
``running``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from archive import db
from archive.errors import DatabaseError
from archive.models import (
    Capture,
    Run,
)
from archive.records import Fetch
from archive.store_batch import PageBatches, PageStored, PageWrite
from archive.store_pages import PageRecords
from archive.store_runs import FINAL_RUN_STATUSES, SITE_ID, SitesAndRuns
from archive.warc import WarcLocation, WarcWriter, ensure_writable_dir, read_payload

__all__ = ["FINAL_RUN_STATUSES", "SITE_ID", "Archive", "PageStored", "PageWrite"]


class Archive(SitesAndRuns, PageBatches, PageRecords):
    """Raw captures in WARC files, their metadata and article versions in the database;
    sites, runs and owed pages (``SitesAndRuns``, archive/store_runs.py); the crawl's batched
    write path (``PageBatches.store_pages``, archive/store_batch.py); a page at a time
    (``PageRecords``, archive/store_pages.py: tools, tests, and edited articles)."""

    def __init__(self, engine: Engine, warc_dir: Path) -> None:
        """Use ``Archive.open``; this does no I/O."""
        self._engine = engine
        self.warc_dir = Path(warc_dir)
        self._writers: dict[int, WarcWriter] = {}
        self._shared: Session | None = None  # the session of an open ``transaction()``

    @classmethod
    def open(cls, database_url: str, warc_dir: Path, *, migrate: bool = True) -> Archive:
        """Connect (and migrate unless told not to) and make sure the WARC dir is writable.

        Raises DatabaseError or StorageError, each with a one-line message.
        """
        engine = db.make_engine(database_url)
        try:
            if migrate:
                db.migrate(engine)
            else:
                db.check_connection(engine)
            ensure_writable_dir(Path(warc_dir))
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, Path(warc_dir))

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()
        self._engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- captures and versions -----------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """The store calls made inside are one transaction: all committed at the end, or none
        (an exception rolls every one back). Nested uses join the outer one."""
        if self._shared is not None:
            yield
            return
        with self._session() as session:
            self._shared = session
            try:
                yield
            finally:
                self._shared = None

    def write_warc(self, run_id: int, site_id: str, fetch: Fetch) -> WarcLocation:
        """Write the fetch's request and response records to the run's WARC file."""
        return self.write_warcs(run_id, site_id, [fetch])[0]

    def write_warcs(self, run_id: int, site_id: str, fetches: list[Fetch]) -> list[WarcLocation]:
        """Write each fetch's request and response records to the run's WARC file; a 200 whose
        payload is the page's last 200's is a revisit of that record (archive.warc_revisit)."""
        from archive.warc_revisit import revisit_originals

        for fetch in fetches:
            if fetch.fetched_at.tzinfo is None:
                raise ValueError(f"naive fetched_at for {fetch.url}: must be tz-aware UTC")
        writer = self._writer(run_id, site_id)
        originals: list[Any] = [None] * len(fetches)
        if any(f.status == 200 for f in fetches):  # only a 200 can repeat a stored payload
            with self._session() as session:
                originals = revisit_originals(session.connection(), self.warc_dir, fetches)
        return [writer.write(f, o) for f, o in zip(fetches, originals, strict=True)]

    def read_capture_payload(self, capture_id: int) -> bytes:
        """The response body of a capture, read back from its WARC record."""
        with self._session() as session:
            capture = session.get(Capture, capture_id)
            if capture is None:
                raise ValueError(f"unknown capture {capture_id}")
            filename, offset = capture.warc_filename, capture.warc_offset
        return read_payload(self.warc_dir, filename, offset)

    # -- internals -----------------------------------------------------------------------------

    def _writer(self, run_id: int, site_id: str) -> WarcWriter:
        writer = self._writers.get(run_id)
        if writer is None:
            with self._session() as session:
                run = session.get(Run, run_id)
                if run is None:
                    raise ValueError(f"unknown run {run_id}")
                if run.site_id != site_id:
                    raise ValueError(
                        f"run {run_id} belongs to site {run.site_id!r}, not {site_id!r}"
                    )
                started_at = run.started_at
            # Named after the run's start, so a reopened Archive appends to the same file.
            writer = WarcWriter(self.warc_dir, site_id, run_id, started_at=started_at)
            self._writers[run_id] = writer
        return writer

    @contextmanager
    def _session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on any error; inside
        ``transaction()``, that one."""
        if self._shared is not None:
            yield self._shared
            return
        with Session(self._engine, expire_on_commit=False) as session:
            try:
                with session.begin():
                    yield session
            except DBAPIError as exc:
                url = db.display_url(self._engine.url)
                raise DatabaseError(f"database error on {url}: {db.short_reason(exc)}") from exc
