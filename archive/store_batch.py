"""Storing a batch of fetched pages in one transaction, with statements over the whole batch.

The crawl pipeline hands the archive its pages in batches (GONGHUI_BATCH_PAGES pages, at most
GONGHUI_BATCH_SECONDS old). A batch is one transaction, so a crawl killed at any moment loses
at most the batch not yet committed: its WARC records are written, no row names them, and the
interrupted run's next crawl fetches those pages again (the run ledger resumes it).

The common cases take statements that serve the whole batch: one SELECT of the batch's pages,
one INSERT of the new ones and one UPDATE (executemany) of the others, one INSERT of the
captures, one SELECT of the current versions, one UPDATE confirming the unchanged ones, and for
first versions one SELECT and one INSERT of their texts, one INSERT of the versions and the
search index's rows (archive.search); then the reprint index of the new texts
(archive.reprint_batch). Why not the ORM: its unit of work spent about
0.5 ms of Python per statement on this path (benchmarks/crawl_profile.py), more than the
statement itself. The rare cases (an edited, restored or removed article, a version stored
before the zh-Hans reading existed) take Archive.record_article / record_removal in the same
transaction: they need the ORM's objects and happen a few times a night.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from archive import search
from archive.models import ArticleText, ArticleVersion, Capture, Page
from archive.records import ArticleFields, Fetch, VersionOutcome, version_columns
from archive.reprint_batch import PageRef, index_new_pages
from archive.urls import canonical_url
from archive.versioning import digests
from archive.warc import WarcLocation

_PAGE = Page.__table__
_CAPTURE = Capture.__table__
_VERSION = ArticleVersion.__table__
_TEXT = ArticleText.__table__
_NEWEST = _VERSION.alias("newest")

_SEEN = (
    update(_PAGE)
    .where(_PAGE.c.id == bindparam("b_id"), _PAGE.c.last_seen_at <= bindparam("b_at"))
    .values(last_seen_at=bindparam("b_at"), last_status=bindparam("b_status"))
)
_CONFIRM = (
    update(_VERSION)
    .where(_VERSION.c.id == bindparam("b_id"), _VERSION.c.last_seen_at <= bindparam("b_at"))
    .values(last_seen_at=bindparam("b_at"), last_capture_id=bindparam("b_capture"))
)
_CURRENT = select(
    _VERSION.c.id,
    _VERSION.c.page_id,
    _VERSION.c.version_no,
    _VERSION.c.content_sha256,
    _VERSION.c.change_class,
    _VERSION.c.artefacts_removed,
).where(
    _VERSION.c.page_id.in_(bindparam("ids", expanding=True)),
    _VERSION.c.version_no
    == select(func.max(_NEWEST.c.version_no))
    .where(_NEWEST.c.page_id == _VERSION.c.page_id)
    .scalar_subquery(),
)


@dataclass(frozen=True, slots=True)
class PageWrite:
    """One fetched page to store: its capture (WARC record already written at ``location``)
    and what it means (a 304 to confirm, a removal, an article)."""

    run_id: int
    site_id: str
    fetch: Fetch
    location: WarcLocation
    confirm: bool = False
    removal: str | None = None
    fields: ArticleFields | None = None


@dataclass(slots=True)
class PageStored:
    """What storing a page did: its capture, whether a 304 confirmed a version, the removal
    and the article outcomes (None where the page had none)."""

    capture_id: int
    page_id: int
    confirmed: bool = False
    removal: VersionOutcome | None = None
    article: VersionOutcome | None = None


class PageBatches:
    """``Archive.store_pages``: the crawl's write path (mixed into archive.store.Archive)."""

    def store_pages(self, writes: list[PageWrite]) -> list[PageStored]:
        """Store the pages in one transaction (joined when one is open); the outcomes in order.

        A page that comes twice in one batch splits it: each part sees the one before.
        """
        if not writes:
            return []
        canon = [canonical_url(w.fetch.page_url or w.fetch.url) for w in writes]
        for w in writes:
            if w.fetch.fetched_at.tzinfo is None:
                raise ValueError(f"naive fetched_at for {w.fetch.url}: must be tz-aware UTC")
        with self.transaction():  # type: ignore[attr-defined]
            out: list[PageStored] = []
            start, seen = 0, set()
            for i, url in enumerate(canon):
                if url in seen:
                    out += self._store_part(writes[start:i], canon[start:i])
                    start, seen = i, set()
                seen.add(url)
            return out + self._store_part(writes[start:], canon[start:])

    def _store_part(self, writes: list[PageWrite], canon: list[str]) -> list[PageStored]:
        session = self._shared  # type: ignore[attr-defined]
        conn: Connection = session.connection()
        page_ids = _pages(conn, writes, canon)
        capture_ids = _captures(conn, writes, page_ids)
        stored = [PageStored(c, p) for c, p in zip(capture_ids, page_ids, strict=True)]
        wanted = [s.page_id for s, w in zip(stored, writes, strict=True) if w.confirm or w.fields]
        current = _current(conn, wanted)
        confirms: list[dict[str, Any]] = []
        first: list[tuple[PageStored, PageWrite, tuple[str, str]]] = []
        for s, w in zip(stored, writes, strict=True):
            cur = current.get(s.page_id)
            at = w.fetch.fetched_at
            if w.confirm:
                if cur is not None:
                    confirms.append({"b_id": cur.id, "b_at": at, "b_capture": s.capture_id})
                    s.confirmed = True
                continue
            if w.removal is not None:
                s.removal = self.record_removal(s.capture_id, w.removal)  # type: ignore[attr-defined]
            if w.fields is None:
                continue
            hashes = digests(w.fields)  # (content, body)
            if cur is None:
                first.append((s, w, hashes))
            elif _unchanged(cur, w.fields, hashes[0]):
                confirms.append({"b_id": cur.id, "b_at": at, "b_capture": s.capture_id})
                s.article = VersionOutcome(s.page_id, cur.id, cur.version_no, False)
            else:  # an edit, a restored page, a reading to complete: the per-page path
                s.article = self.record_article(s.capture_id, w.fields)  # type: ignore[attr-defined]
        if confirms:
            conn.execute(_CONFIRM, confirms)
        if first:
            _first_versions(session, conn, first)
        return stored


def _unchanged(cur: Any, fields: ArticleFields, digest: str) -> bool:
    """The current version holds: same content, not removed, its zh-Hans reading complete."""
    return (
        cur.change_class != "removed"
        and cur.content_sha256 == digest
        and not (cur.artefacts_removed is None and fields.artefacts_removed is not None)
    )


def _pages(conn: Connection, writes: list[PageWrite], canon: list[str]) -> list[int]:
    """Each write's page id: the pages seen before moved forward, the new ones inserted."""
    known = dict(
        conn.execute(
            select(_PAGE.c.canonical_url, _PAGE.c.id).where(_PAGE.c.canonical_url.in_(canon))
        ).all()
    )
    new = [
        {
            "site_id": w.site_id,
            "canonical_url": url,
            "url": w.fetch.page_url or w.fetch.url,
            "first_seen_at": w.fetch.fetched_at,
            "last_seen_at": w.fetch.fetched_at,
            "last_status": w.fetch.status,
        }
        for w, url in zip(writes, canon, strict=True)
        if url not in known
    ]
    if new:
        statement = insert(_PAGE).returning(_PAGE.c.canonical_url, _PAGE.c.id)
        known.update(conn.execute(statement, new).all())
    fresh = {row["canonical_url"] for row in new}
    seen = [
        {"b_id": known[url], "b_at": w.fetch.fetched_at, "b_status": w.fetch.status}
        for w, url in zip(writes, canon, strict=True)
        if url not in fresh
    ]
    if seen:
        conn.execute(_SEEN, seen)
    return [known[url] for url in canon]


def _captures(conn: Connection, writes: list[PageWrite], page_ids: list[int]) -> list[int]:
    rows = [
        capture_row(w.run_id, w.fetch, w.location, pid)
        for w, pid in zip(writes, page_ids, strict=True)
    ]
    statement = insert(_CAPTURE).returning(_CAPTURE.c.id, sort_by_parameter_order=True)
    return list(conn.execute(statement, rows).scalars())


def capture_row(run_id: int, fetch: Fetch, location: WarcLocation, page_id: int) -> dict[str, Any]:
    """The capture row of a fetch whose WARC records are at ``location``."""
    evidence = fetch.encoding
    return {
        "page_id": page_id,
        "run_id": run_id,
        "url": fetch.url,
        "fetched_at": fetch.fetched_at,
        "http_status": fetch.status,
        "headers": [[name, value] for name, value in fetch.headers],
        "content_type": next(
            (value for key, value in fetch.headers if key.lower() == "content-type"), None
        ),
        "http_charset": evidence.http_charset if evidence else None,
        "meta_charset": evidence.meta_charset if evidence else None,
        "detected_charset": evidence.detected if evidence else None,
        "chosen_encoding": evidence.chosen if evidence else None,
        "replacement_count": evidence.replacement_count if evidence else None,
        "payload_sha256": hashlib.sha256(fetch.body).hexdigest(),
        "payload_length": len(fetch.body),
        "warc_filename": location.filename,
        "warc_offset": location.offset,
        "warc_length": location.length,
    }


def _current(conn: Connection, page_ids: list[int]) -> dict[int, Any]:
    if not page_ids:
        return {}
    return {row.page_id: row for row in conn.execute(_CURRENT, {"ids": page_ids})}


def _first_versions(
    session: Any, conn: Connection, first: list[tuple[PageStored, PageWrite, tuple[str, str]]]
) -> None:
    """Version 1 of pages that never had one: texts (shared by hash), versions, reprints."""
    texts = _texts(conn, {body: w.fields for _, w, (_, body) in first})  # type: ignore[misc]
    rows = []
    for s, w, (content, body) in first:
        fields = w.fields
        assert fields is not None
        at = w.fetch.fetched_at
        rows.append(
            {
                "page_id": s.page_id,
                "version_no": 1,
                "capture_id": s.capture_id,
                "last_capture_id": s.capture_id,
                "content_sha256": content,
                "change_class": "new",
                "removal": None,
                "text_id": texts[body],
                "first_seen_at": at,
                "last_seen_at": at,
                **version_columns(fields),
            }
        )
    statement = insert(_VERSION).returning(_VERSION.c.id, sort_by_parameter_order=True)
    version_ids = list(conn.execute(statement, rows).scalars())
    search.index_many(conn, [(s.page_id, w.fields) for s, w, _ in first])  # type: ignore[misc]
    for (s, _, _), version_id in zip(first, version_ids, strict=True):
        s.article = VersionOutcome(s.page_id, version_id, 1, True, "new")
    texts = [(PageRef(s.page_id), w.fields) for s, w, _ in first]
    index_new_pages(session, [(page, f.hans_title, f.hans_body) for page, f in texts if f])


def _texts(conn: Connection, by_hash: dict[str, ArticleFields]) -> dict[str, int]:
    """The id of each body's shared text row by its hash, created where none exists yet.

    Two crawls (two sites) can create the same text at once: the insert skips a hash that
    exists by then (ON CONFLICT DO NOTHING) and the ids are read after it.
    """
    ids = _text_ids(conn, list(by_hash))
    missing = [h for h in by_hash if h not in ids]
    if missing:
        now = dt.datetime.now(dt.UTC)
        rows = [
            {
                "body_sha256": h,
                "body": by_hash[h].body,
                "body_hans": by_hash[h].body_hans,
                "created_at": now,
            }
            for h in missing
        ]
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        conn.execute(dialect.insert(_TEXT).on_conflict_do_nothing(), rows)
        ids.update(_text_ids(conn, missing))
    return ids


def _text_ids(conn: Connection, hashes: list[str]) -> dict[str, int]:
    query = select(_TEXT.c.body_sha256, _TEXT.c.id).where(_TEXT.c.body_sha256.in_(hashes))
    return dict(conn.execute(query).all())
