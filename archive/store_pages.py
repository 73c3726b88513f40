"""A page at a time: a capture, its article version or removal, each its own transaction
(or part of an open ``Archive.transaction()``). ``archive.store.Archive`` inherits these; the
crawl stores its pages a batch at a time (archive/store_batch.py) and comes here for an
edited article only. Apart so each file reads in one sitting.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive import reprints, search
from archive.models import REMOVALS, ArticleText, ArticleVersion, Capture, Page
from archive.records import ArticleFields, Fetch, VersionOutcome, version_columns
from archive.store_batch import capture_row
from archive.textdiff import classify_change
from archive.urls import canonical_url
from archive.versioning import body_sha256, content_sha256
from archive.warc import WarcLocation


class PageRecords:
    """Captures, article versions and removals, one page per call, for ``Archive``."""

    def _session(self) -> AbstractContextManager[Session]:  # Archive's
        raise NotImplementedError

    def write_warc(self, run_id: int, site_id: str, fetch: Fetch) -> WarcLocation:  # Archive's
        raise NotImplementedError

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
                first_seen_at=capture.fetched_at,
                last_seen_at=capture.fetched_at,
                **version_columns(fields),
            )
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
                first_seen_at=capture.fetched_at,
                last_seen_at=capture.fetched_at,
                **version_columns(current),
            )
            session.add(gone)
            page = session.get_one(Page, capture.page_id)
            page.removed_at, page.removal = capture.fetched_at, removal
            session.flush()
            return VersionOutcome(capture.page_id, gone.id, gone.version_no, True, "removed")


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
