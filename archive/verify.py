"""Read every capture's WARC record back and check it against its row (``gonghui verify``).

A capture row says where its raw response lies (``warc_filename``, ``warc_offset``,
``warc_length``) and what it was (``payload_sha256``, ``payload_length``). A capture is

- ``missing`` when its WARC file is not there (deleted, moved, the wrong ``--warc-dir``);
- ``torn`` when the bytes at that place are not a whole WARC response record: the file ends
  inside the record, the gzip member is corrupt or incomplete, there is no record at that
  offset (garbage, a file replaced), or the file cannot be read;
- ``mismatched`` when the record reads whole but its payload is not the one the row describes
  (another sha256 or length).

The payload is the body decoded as the crawler parsed it (a record holds it as received:
chunked, gzip or brotli); a ``revisit`` record's payload is its original's, read where the
revisit says (``archive.warc_read``); an original that cannot be read makes the revisit torn.

An article version loses its capture when its ``capture_id`` (the capture that first produced
it) or its ``last_capture_id`` (the one that last confirmed it) is broken in any of these ways.

Memory stays flat however large the archive: captures are streamed from the database ordered
by file and offset, so each WARC file is opened once and read front to back; each record is
checked in fixed-size chunks. Only the ids of broken captures (and of the versions that lose
them) are kept, to find those versions.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import Engine, or_, select
from sqlalchemy.exc import SQLAlchemyError
from warcio.archiveiterator import ArchiveIterator
from warcio.limitreader import LimitReader

from archive.db import database_error
from archive.models import ArticleVersion, Capture, Page
from archive.warc_read import open_payload, original_location

PROBLEMS = ("missing", "torn", "mismatched")
CHUNK = 1 << 20  # bytes read at a time from a WARC file
FETCH_ROWS = 1000  # capture rows streamed per round trip
IDS_PER_QUERY = 500  # broken capture ids per version lookup
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True, slots=True)
class BrokenCapture:
    """A capture whose WARC record cannot be read back as stored."""

    capture_id: int
    site_id: str
    url: str
    warc_filename: str
    warc_offset: int
    problem: str  # one of PROBLEMS
    detail: str  # what exactly, one line


@dataclass(frozen=True, slots=True)
class LostVersion:
    """An article version whose first or last capture is broken."""

    version_id: int
    site_id: str
    url: str
    version_no: int
    capture_id: int | None  # the broken capture that produced it, None when intact
    last_capture_id: int | None  # the broken capture that last confirmed it, None when intact


@dataclass(frozen=True, slots=True)
class Summary:
    captures: int
    files: int
    ok: int
    missing: int
    torn: int
    mismatched: int
    versions_lost: int

    @property
    def broken(self) -> int:
        return self.missing + self.torn + self.mismatched

    def line(self) -> str:
        return (
            f"{self.captures} captures checked in {self.files} WARC files: {self.ok} ok, "
            f"missing {self.missing}, torn {self.torn}, mismatched {self.mismatched}; "
            f"{self.versions_lost} versions lose their capture"
        )


def verify(
    engine: Engine, warc_dir: Path, *, site_id: str | None = None
) -> Iterator[BrokenCapture | LostVersion | Summary]:
    """Check every capture (of one site, or all); yield each broken capture as it is found,
    then each version that loses its capture, then the Summary (always last).

    Raises DatabaseError when the database cannot be read; never creates or changes anything.
    A ``site_id`` the archive does not hold has no captures (the CLI refuses it first).
    """
    try:
        counts = dict.fromkeys(("captures", "files", "ok", *PROBLEMS), 0)
        broken_ids: set[int] = set()
        for broken in _check_captures(engine, Path(warc_dir), site_id, counts):
            broken_ids.add(broken.capture_id)
            yield broken
        lost = 0
        for version in _lost_versions(engine, broken_ids):
            lost += 1
            yield version
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    yield Summary(versions_lost=lost, **counts)


def check_record(
    fh: BinaryIO,
    size: int,
    offset: int,
    length: int,
    sha256: str,
    payload_length: int,
    warc_dir: Path | None = None,
) -> tuple[str, str] | None:
    """Check the record at ``offset`` (``length`` bytes) of an open WARC file of ``size``
    bytes against the payload the row describes (decoded, as the crawler parsed it). None when
    it is that whole response record, or a whole revisit record whose original (read from
    ``warc_dir``) has that payload; else (problem, detail): ``torn`` or ``mismatched`` and
    why, in one line."""
    if offset < 0 or length <= 0:
        return "torn", f"impossible place in the row (offset {offset}, length {length})"
    if offset + length > size:
        if offset >= size:
            return "torn", f"file ends at byte {size}, before the record"
        return "torn", f"file ends {size - offset} bytes into the record ({length} bytes)"
    fh.seek(offset)
    head = fh.read(5)
    if head.startswith(_GZIP_MAGIC):
        problem = _check_gzip_member(fh, offset, length)
        if problem:
            return "torn", problem
    elif head != b"WARC/":
        return "torn", "no WARC record at this offset"
    fh.seek(offset)
    try:
        record = next(iter(ArchiveIterator(LimitReader(fh, length))), None)
        if record is None:
            return "torn", "no WARC record at this offset"
        if record.rec_type == "revisit" and warc_dir is not None:
            where = original_location(record)
            assert where is not None
            try:
                with open_payload(warc_dir, *where) as stream:
                    digest, read = _digest(stream)
            except Exception as exc:
                return "torn", f"its original {where[0]}@{where[1]}: {_one_line(exc)}"
        elif record.rec_type != "response":
            return "torn", f"a {record.rec_type} record, not a response"
        else:
            digest, read = _digest(record.content_stream())
    except Exception as exc:  # warcio raises ArchiveLoadFailed, StatusAndHeadersParserException
        return "torn", f"unreadable record: {_one_line(exc)}"
    found = digest.hexdigest()
    if found == sha256 and read == payload_length:
        return None
    return (
        "mismatched",
        f"payload sha256 {found[:12]}… ({read} bytes), "
        f"the row says {sha256[:12]}… ({payload_length} bytes)",
    )


def _digest(stream: BinaryIO) -> tuple[hashlib._Hash, int]:
    """sha256 and length of a stream, read in fixed-size chunks."""
    digest, read = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
        read += len(chunk)
    return digest, read


def _check_gzip_member(fh: BinaryIO, offset: int, length: int) -> str | None:
    """Why the ``length`` bytes at ``offset`` are not exactly one whole gzip member, or None.

    warcio reads a damaged member leniently (a corrupt one comes back as an empty record), so
    the member is checked here first: its deflate stream and CRC-32, streamed."""
    fh.seek(offset)
    inflater = zlib.decompressobj(wbits=31)
    left = length
    try:
        while left and not inflater.eof:
            data = fh.read(min(CHUNK, left))
            if not data:
                return f"file ends {length - left} bytes into the record ({length} bytes)"
            left -= len(data)
            inflater.decompress(data, CHUNK)
            while inflater.unconsumed_tail and not inflater.eof:  # bounded output per call
                inflater.decompress(inflater.unconsumed_tail, CHUNK)
    except zlib.error as exc:
        return f"corrupt gzip data ({_one_line(exc)})"
    if not inflater.eof:
        return "gzip member cut short (truncated record)"
    if left or inflater.unused_data:
        return "the gzip member ends before the record length in the row"
    return None


def _check_captures(
    engine: Engine, warc_dir: Path, site_id: str | None, counts: dict[str, int]
) -> Iterator[BrokenCapture]:
    query = (
        select(
            Capture.id,
            Page.site_id,
            Capture.url,
            Capture.warc_filename,
            Capture.warc_offset,
            Capture.warc_length,
            Capture.payload_sha256,
            Capture.payload_length,
        )
        .join(Page, Page.id == Capture.page_id)
        .order_by(Capture.warc_filename, Capture.warc_offset, Capture.id)
    )
    if site_id is not None:
        query = query.where(Page.site_id == site_id)
    with engine.connect() as conn:
        rows = conn.execution_options(yield_per=FETCH_ROWS).execute(query)
        for filename, group in itertools.groupby(rows, key=lambda row: row.warc_filename):
            counts["files"] += 1
            yield from _check_file(warc_dir, filename, group, counts)


def _check_file(
    warc_dir: Path, filename: str, rows: Iterator, counts: dict[str, int]
) -> Iterator[BrokenCapture]:
    """Check the captures of one WARC file (rows ordered by offset), opening it once."""
    path = warc_dir / filename
    fh: BinaryIO | None = None
    size, whole_file = 0, None  # whole_file: the problem of every capture in an unusable file
    try:
        fh = open(path, "rb")
        size = os.fstat(fh.fileno()).st_size
    except FileNotFoundError:
        whole_file = ("missing", "WARC file not found")
    except OSError as exc:
        whole_file = ("torn", f"cannot read the WARC file: {exc.strerror or exc}")
    try:
        for row in rows:
            counts["captures"] += 1
            if fh is None or whole_file is not None:
                result = whole_file
            else:
                try:
                    result = check_record(
                        fh,
                        size,
                        row.warc_offset,
                        row.warc_length,
                        row.payload_sha256,
                        row.payload_length,
                        warc_dir,
                    )
                except OSError as exc:
                    result = ("torn", f"cannot read the WARC file: {exc.strerror or exc}")
            if result is None:
                counts["ok"] += 1
                continue
            problem, detail = result
            counts[problem] += 1
            yield BrokenCapture(
                row.id, row.site_id, row.url, row.warc_filename, row.warc_offset, problem, detail
            )
    finally:
        if fh is not None:
            fh.close()


def _lost_versions(engine: Engine, broken_ids: set[int]) -> Iterator[LostVersion]:
    """Versions whose first or last capture is broken, each once."""
    ordered = sorted(broken_ids)
    seen: set[int] = set()  # a version whose two captures fall in two chunks
    with engine.connect() as conn:
        for start in range(0, len(ordered), IDS_PER_QUERY):
            chunk = ordered[start : start + IDS_PER_QUERY]
            query = (
                select(
                    ArticleVersion.id,
                    Page.site_id,
                    Page.url,
                    ArticleVersion.version_no,
                    ArticleVersion.capture_id,
                    ArticleVersion.last_capture_id,
                )
                .join(Page, Page.id == ArticleVersion.page_id)
                .where(
                    or_(
                        ArticleVersion.capture_id.in_(chunk),
                        ArticleVersion.last_capture_id.in_(chunk),
                    )
                )
                .order_by(Page.site_id, Page.url, ArticleVersion.version_no)
            )
            for row in conn.execute(query):
                if row.id in seen:
                    continue
                seen.add(row.id)
                yield LostVersion(
                    row.id,
                    row.site_id,
                    row.url,
                    row.version_no,
                    row.capture_id if row.capture_id in broken_ids else None,
                    row.last_capture_id if row.last_capture_id in broken_ids else None,
                )


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
