"""Export the current version of every archived article as JSON Lines or CSV (UTF-8).

Rows are streamed from the database and written one at a time, so memory stays flat however
large the archive grows. A file export is written to a hidden temp file next to the target and
renamed into place at the end: a failed export never leaves a half-written file behind. The
target must be missing or a regular file: a device, FIFO, socket, folder or symlink there is
refused (StorageError) and left as it is.

Columns, in this order (``EXPORT_FIELDS``; the README documents them):

- ``first_seen_at``: when the archive first captured the article's URL;
- ``last_seen_at``: when the current text was last confirmed by a capture;
- ``capture_id``, ``warc_filename``, ``warc_offset``: the capture that first produced the
  current version, and where its raw bytes sit in the WARC files;
- ``versions``: how many versions the article has; ``version_no`` is the current one and
  ``change_class`` how it came about (``archive.textdiff``);
- ``removed_at``, ``removal``: when the page was first seen gone and how (``http_404``,
  ``http_410``, ``redirect_home``, ``soft_404``), null while it is live; a removed article is
  exported with its last text;
- ``cluster_id``: the reprint cluster of pages carrying the same article (``gonghui
  reprints``), null when no other page has it;
- ``title_hans``, ``body_hans``: the text read as zh-Hans (pinyin artefacts of the tibet3
  converter out, OpenCC t2s for zh-Hant pages); the original where the archive stores none,
  so these are never empty; ``script`` (``hans``/``hant``), ``artefacts_removed`` and
  ``lost_chars`` say what it took, null for versions archived before they were recorded.

Dates are ``YYYY-MM-DD``, timestamps ISO 8601 UTC (``2024-05-01T08:00:00Z``). ``captions`` is a
list in JSONL and a JSON-encoded list in CSV; a missing value is ``null`` in JSONL and an empty
cell in CSV.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import stat
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal, TextIO

from sqlalchemy import Engine, and_, func, or_
from sqlalchemy.exc import DBAPIError

from archive import db
from archive.errors import DatabaseError, StorageError
from archive.models import ArticleText, ArticleVersion, Capture, Page, Site
from archive.queries import current_article_select

EXPORT_FIELDS: tuple[str, ...] = (
    "site_id",
    "site_name",
    "url",
    "canonical_url",
    "title",
    "subtitle",
    "kicker",
    "published",
    "published_time",
    "source",
    "author",
    "body",
    "captions",
    "title_hans",
    "body_hans",
    "script",
    "artefacts_removed",
    "lost_chars",
    "version_no",
    "versions",
    "content_sha256",
    "first_seen_at",
    "last_seen_at",
    "capture_id",
    "warc_filename",
    "warc_offset",
    "change_class",
    "removed_at",
    "removal",
    "cluster_id",
)
EXPORT_FORMATS = ("jsonl", "csv")
BATCH_ROWS = 500


def export_articles(
    engine: Engine,
    fmt: Literal["jsonl", "csv"],
    out: Path | None = None,
    site_id: str | None = None,
    since: dt.date | None = None,
) -> int:
    """Write the export to ``out`` (stdout when None); return the number of articles written.

    ``since`` keeps articles published on or after that date; an article without a
    publication date is kept when the archive first saw it on or after that date (UTC).
    Raises StorageError (unwritable target) or DatabaseError, each with a one-line message.
    """
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {EXPORT_FORMATS}")
    with _target(out) as stream:
        write_row = _csv_writer(stream) if fmt == "csv" else _jsonl_writer(stream)
        count = 0
        for row in _rows(engine, site_id, since):
            write_row(row)
            count += 1
    return count


def _rows(engine: Engine, site_id: str | None, since: dt.date | None) -> Iterator[dict[str, Any]]:
    stmt, cur = current_article_select(
        Page.site_id,
        Site.name.label("site_name"),
        Page.url,
        Page.canonical_url,
        ArticleVersion.title,
        ArticleVersion.subtitle,
        ArticleVersion.kicker,
        ArticleVersion.published,
        ArticleVersion.published_time,
        ArticleVersion.source,
        ArticleVersion.author,
        ArticleText.body,
        ArticleVersion.captions,
        # Stored only where it differs from the original (archive.records.ArticleFields).
        func.coalesce(ArticleVersion.title_hans, ArticleVersion.title).label("title_hans"),
        func.coalesce(ArticleText.body_hans, ArticleText.body).label("body_hans"),
        ArticleVersion.script,
        ArticleVersion.artefacts_removed,
        ArticleVersion.lost_chars,
        ArticleVersion.version_no,
        ArticleVersion.content_sha256,
        Page.first_seen_at,
        ArticleVersion.last_seen_at,
        ArticleVersion.capture_id,
        Capture.warc_filename,
        Capture.warc_offset,
        ArticleVersion.change_class,
        Page.removed_at,
        Page.removal,
        Page.cluster_id,
    )
    stmt = (
        stmt.add_columns(cur.c.versions)
        .join(Site, Site.id == Page.site_id)
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .join(Capture, Capture.id == ArticleVersion.capture_id)
        .order_by(Page.site_id, Page.id)
    )
    if site_id is not None:
        stmt = stmt.where(Page.site_id == site_id)
    if since is not None:
        since_at = dt.datetime.combine(since, dt.time(0), tzinfo=dt.UTC)
        stmt = stmt.where(
            or_(
                ArticleVersion.published >= since,
                and_(ArticleVersion.published.is_(None), Page.first_seen_at >= since_at),
            )
        )
    try:
        with engine.connect() as conn:
            # yield_per streams (a server-side cursor on PostgreSQL) instead of loading it all
            result = conn.execution_options(yield_per=BATCH_ROWS).execute(stmt)
            for row in result.mappings():
                yield {name: row[name] for name in EXPORT_FIELDS}
    except DBAPIError as exc:
        url = db.display_url(engine.url)
        raise DatabaseError(f"database error on {url}: {db.short_reason(exc)}") from exc


def _jsonl_writer(stream: TextIO) -> Any:
    def write(row: dict[str, Any]) -> None:
        record = {name: _plain(row[name]) for name in EXPORT_FIELDS}
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")

    return write


def _csv_writer(stream: TextIO) -> Any:
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(EXPORT_FIELDS)

    def write(row: dict[str, Any]) -> None:
        cells = []
        for name in EXPORT_FIELDS:
            value = _plain(row[name])
            if isinstance(value, list):
                value = json.dumps(value, ensure_ascii=False)
            cells.append("" if value is None else value)
        writer.writerow(cells)

    return write


def _plain(value: Any) -> Any:
    """JSON-ready: dates as YYYY-MM-DD, timestamps as ISO 8601 UTC with Z."""
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


@contextmanager
def _target(out: Path | None) -> Iterator[TextIO]:
    """stdout, or a temp file beside ``out`` renamed over it only when everything was written."""
    if out is None:
        yield from _stdout()
        return
    out = Path(out)
    _refuse_non_regular(out)
    if not out.parent.is_dir():
        raise StorageError(f"cannot write export {out}: folder {out.parent} does not exist")
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        stream = open(tmp, "x", encoding="utf-8", newline="")
    except OSError as exc:
        raise StorageError(f"cannot write export {out}: {exc.strerror or exc}") from exc
    try:
        with stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        _refuse_non_regular(out)  # again: something may have appeared there meanwhile
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(f"cannot write export {out}: {exc.strerror or exc}") from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _refuse_non_regular(out: Path) -> None:
    """StorageError unless ``out`` is missing or a regular file (not followed if a symlink).

    The export is renamed over its target, which would replace a device (``/dev/null``), a
    FIFO, a socket or a symlink with a regular file. A symlink is refused even when it points
    to a regular file: renaming over it would replace the link, not write where it points.
    """
    try:
        mode = os.lstat(out).st_mode
    except OSError:  # missing (fine), or a parent that is a file: opening the temp file says so
        return
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        raise StorageError(f"cannot write export {out}: it is a folder")
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise StorageError(
        f"cannot write export {out}: it is {kind}; export writes only regular files "
        "(use -o - for standard output)"
    )


_KINDS = (
    (stat.S_ISLNK, "a symlink"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
)


def _stdout() -> Iterator[TextIO]:
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:  # already a text-only stream (some test runners)
        yield sys.stdout
        return
    sys.stdout.flush()
    stream = io.TextIOWrapper(buffer, encoding="utf-8", newline="", write_through=True)
    try:
        yield stream
        stream.flush()
    finally:
        stream.detach()  # leave sys.stdout's buffer open
