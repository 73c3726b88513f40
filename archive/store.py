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

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from archive import db, reprints, search
from archive.errors import DatabaseError
from archive.models import (
    REMOVALS,
    ArticleText,
    ArticleVersion,
    Capture,
    Page,
    Run,
)
from archive.records import ArticleFields, Fetch, VersionOutcome
from archive.store_batch import PageBatches, PageStored, PageWrite, capture_row
from archive.store_runs import FINAL_RUN_STATUSES, SITE_ID, SitesAndRuns
from archive.textdiff import classify_change
from archive.urls import canonical_url
from archive.versioning import body_sha256, content_sha256
from archive.warc import WarcLocation, WarcWriter, ensure_writable_dir, read_payload

__all__ = ["FINAL_RUN_STATUSES", "SITE_ID", "Archive", "PageStored", "PageWrite"]


class Archive(SitesAndRuns, PageBatches):
    """Raw captures in WARC files, their metadata and article versions in the database;
    sites, runs and owed pages (``SitesAndRuns``, archive/store_runs.py); the crawl's batched
    write path (``PageBatches.store_pages``, archive/store_batch.py)."""

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

    def record_capture(
        self, run_id: int, site_id: str, fetch: Fetch, location: WarcLocation | None = None
    ) -> int:
        """Write the fetch to the run's WARC (unless ``location`` says where ``write_warc`` put
        it already), then its capture row and page; return the capture id."""
        if fetch.fetched_at.tzinfo is None:
            raise ValueError(f"naive fetched_at for {fetch.url}: must be tz-aware UTC")
        # The page is named by page_url when the crawler gives one (a replica site on a
        # throw-away port is archived under its stable origin); the WARC keeps the real URL.
        page_url = fetch.page_url or fetch.url
        canon = canonical_url(page_url)
        if location is None:
            location = self.write_warc(run_id, site_id, fetch)
        with self._session() as session:
            page = session.scalars(select(Page).where(Page.canonical_url == canon)).one_or_none()
            if page is None:
                page = Page(
                    site_id=site_id,
                    canonical_url=canon,
                    url=page_url,
                    first_seen_at=fetch.fetched_at,
                    last_seen_at=fetch.fetched_at,
                    last_status=fetch.status,
                )
                session.add(page)
                session.flush()
            elif fetch.fetched_at >= page.last_seen_at:
                page.last_seen_at = fetch.fetched_at
                page.last_status = fetch.status
            capture = Capture(**capture_row(run_id, fetch, location, page.id))
            session.add(capture)
            session.flush()
            return capture.id

    def confirm_unchanged(self, capture_id: int) -> bool:
        """A conditional re-check answered 304: the page's current version is confirmed as of
        this capture (its last-seen time and last capture move forward). False when the page
        has no version (nothing to confirm)."""
        with self._session() as session:
            capture = session.get_one(Capture, capture_id)
            current = _current_version(session, capture.page_id)
            if current is None:
                return False
            _confirm(current, capture)
            return True

    def record_article(self, capture_id: int, fields: ArticleFields) -> VersionOutcome:
        """Store what was extracted from a capture; a new version only if the content changed.

        "Changed" means a different ``content_sha256`` (title, body and source, whitespace
        ignored) from the page's current version, or a page that was marked removed and is
        back (a ``restored`` version, even with the same text). Otherwise the current version
        is confirmed: its ``last_seen_at`` and ``last_capture_id`` move forward and its stored
        fields stay as first seen. The one exception is the zh-Hans reading (``*_hans``,
        counts, script): a version stored before it existed gets it from the first capture
        that confirms it. A new text is also looked up among the reprints of other pages.
        """
        digest = content_sha256(fields)
        with self._session() as session:
            capture = session.get(Capture, capture_id)
            if capture is None:
                raise ValueError(f"unknown capture {capture_id}")
            current = _current_version(session, capture.page_id)
            restored = current is not None and current.change_class == "removed"
            if current is not None and not restored and current.content_sha256 == digest:
                _confirm(current, capture)
                if current.artefacts_removed is None and fields.artefacts_removed is not None:
                    _set_hans(current, fields)
                    if current.text.body_hans is None:
                        current.text.body_hans = fields.body_hans
                return VersionOutcome(capture.page_id, current.id, current.version_no, False)
            text = _text_for(session, fields)
            change_class = "restored" if restored else classify_change(current, fields)
            version = ArticleVersion(
                page_id=capture.page_id,
                version_no=1 if current is None else current.version_no + 1,
                capture_id=capture.id,
                last_capture_id=capture.id,
                content_sha256=digest,
                change_class=change_class,
                text=text,
                title=fields.title,
                subtitle=fields.subtitle,
                kicker=fields.kicker,
                published=fields.published,
                published_time=fields.published_time,
                source=fields.source,
                author=fields.author,
                captions=list(fields.captions),
                first_seen_at=capture.fetched_at,
                last_seen_at=capture.fetched_at,
            )
            _set_hans(version, fields)
            session.add(version)
            page = session.get_one(Page, capture.page_id)
            page.removed_at = page.removal = None
            session.flush()
            if current is None or current.text_id != text.id or current.title != fields.title:
                reprints.index_page(
                    session,
                    page,
                    fields.hans_title,
                    fields.hans_body,
                    first_text=current is None,
                )
            search.index_version(session, page.id, fields)
            return VersionOutcome(
                capture.page_id, version.id, version.version_no, True, change_class
            )

    def record_removal(self, capture_id: int, removal: str) -> VersionOutcome | None:
        """An archived article answered as gone (``removal``: one of ``REMOVALS``).

        The first time, the page is marked removed as of this capture and gets a ``removed``
        version that keeps the last text (nothing is deleted); while it stays gone the removed
        version's ``last_seen_at`` moves forward. A page that never had an article version has
        nothing to remove: None.
        """
        if removal not in REMOVALS:
            raise ValueError(f"unknown removal {removal!r}: use one of {REMOVALS}")
        with self._session() as session:
            capture = session.get(Capture, capture_id)
            if capture is None:
                raise ValueError(f"unknown capture {capture_id}")
            current = _current_version(session, capture.page_id)
            if current is None:
                return None
            if current.change_class == "removed":
                if capture.fetched_at >= current.last_seen_at:
                    current.last_seen_at = capture.fetched_at
                    current.last_capture_id = capture.id
                return VersionOutcome(capture.page_id, current.id, current.version_no, False)
            gone = ArticleVersion(
                page_id=capture.page_id,
                version_no=current.version_no + 1,
                capture_id=capture.id,
                last_capture_id=capture.id,
                content_sha256=current.content_sha256,
                change_class="removed",
                removal=removal,
                text_id=current.text_id,
                title=current.title,
                subtitle=current.subtitle,
                kicker=current.kicker,
                published=current.published,
                published_time=current.published_time,
                source=current.source,
                author=current.author,
                captions=list(current.captions),
                first_seen_at=capture.fetched_at,
                last_seen_at=capture.fetched_at,
                title_hans=current.title_hans,
                artefacts_removed=current.artefacts_removed,
                lost_chars=current.lost_chars,
                script=current.script,
            )
            session.add(gone)
            page = session.get_one(Page, capture.page_id)
            page.removed_at, page.removal = capture.fetched_at, removal
            session.flush()
            return VersionOutcome(capture.page_id, gone.id, gone.version_no, True, "removed")

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


def _confirm(version: ArticleVersion, capture: Capture) -> None:
    """The capture saw the version unchanged: it is current as of then (never moved back)."""
    if capture.fetched_at >= version.last_seen_at:
        version.last_seen_at = capture.fetched_at
        version.last_capture_id = capture.id


def _current_version(session: Session, page_id: int) -> ArticleVersion | None:
    return session.scalars(
        select(ArticleVersion)
        .where(ArticleVersion.page_id == page_id)
        .order_by(ArticleVersion.version_no.desc())
        .limit(1)
    ).one_or_none()


def _text_for(session: Session, fields: ArticleFields) -> ArticleText:
    """The shared row of this body text, created the first time any page has it.

    Two crawls (two sites) can store the same new text at the same moment; the unique hash
    makes the loser fail, and a savepoint lets it take the winner's row instead.
    """
    digest = body_sha256(fields.body)
    found = session.scalars(select(ArticleText).where(ArticleText.body_sha256 == digest)).first()
    if found is not None:
        return found
    text = ArticleText(
        body_sha256=digest, body=fields.body, body_hans=fields.body_hans, created_at=_now()
    )
    try:
        with session.begin_nested():
            session.add(text)
    except IntegrityError:
        return session.scalars(select(ArticleText).where(ArticleText.body_sha256 == digest)).one()
    return text


def _set_hans(version: ArticleVersion, fields: ArticleFields) -> None:
    """The zh-Hans reading; none of it is in the content hash (how we read, not what was said)."""
    version.title_hans = fields.title_hans
    version.artefacts_removed = fields.artefacts_removed
    version.lost_chars = fields.lost_chars
    version.script = fields.script


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
