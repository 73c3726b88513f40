"""WARC files: every HTTP exchange as it crossed the wire, in the format web archives read.

One gzip-per-record file per crawl run::

    <warc_dir>/<site_id>/<site_id>-<UTC yyyymmddHHMMSS>-run<run_id>.warc.gz

It starts with a ``warcinfo`` record; each fetch then adds a ``request`` and a ``response``
(or ``revisit``) record linked by ``WARC-Concurrent-To``. Each record is compressed in memory
and written straight to the file (no buffer), so a killed crawl loses at most the record in
flight and every record before it stays readable; a write that fails (a full disk) is cut off
again, so the file still reads to its end.

**As received.** The crawler records the bytes of each exchange (``crawler.rawcapture``): the
response record's block is the response exactly as the server sent it (status line, headers
in their order and case, body still chunked and gzip/brotli-coded) and the request record's
the request exactly as sent. warcio re-serialises the HTTP headers it parses, so they are
written from the bytes received (``RawHeaders``). A fetch without recorded bytes (built by
hand, a test) is written as before: the decoded body, ``Content-Encoding`` and
``Transfer-Encoding`` kept under ``X-Archive-Orig-<name>`` (the pywb convention).

**One URL.** ``WARC-Target-URI`` is the URL the archive and its exports name the page by
(``fetch.page_url or fetch.url``): a replica served on a throw-away port is archived under its
seed's origin, so replay finds the page by the archive's URL and its history is one key.

**Revisits.** A 200 whose payload (``WARC-Payload-Digest``) is the one of the full record the
store names (``Archive.write_warc``: the page's last 200) is written as a ``revisit`` record
(where that is smaller than the response record, i.e. all but the tiniest bodies),
profile identical-payload-digest, with ``WARC-Refers-To``, ``-Target-URI`` and ``-Date`` and
where the original lies (``archive.warc_read``): headers only, no second copy of the body.
A 304 is written as the response it is: WARC 1.1 (6.7.2) makes the server-not-modified
revisit profile optional, a 304 has no payload a revisit would save, and a response record
keeps the exchange as received, which replay tools index as a 304 and never serve as a page.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from importlib import metadata
from pathlib import Path
from typing import BinaryIO, NamedTuple

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from archive.errors import StorageError
from archive.records import Fetch
from archive.warc_http import (
    raw_headers,
    request_headers,
    request_target,
    split_head,
    status_line,
    stored_http_headers,
)
from archive.warc_read import ORIGINAL_FILENAME, ORIGINAL_OFFSET, OriginalRecord, read_payload

__all__ = ["OriginalRecord", "WarcLocation", "WarcWriter", "ensure_writable_dir", "read_payload"]


class WarcLocation(NamedTuple):
    """Where a response record sits: file relative to the WARC dir, byte offset, byte length;
    ``revisit`` when it is a revisit record (headers only, the payload is its original's)."""

    filename: str
    offset: int
    length: int
    revisit: bool = False


def warc_filename(site_id: str, run_id: int, started_at: dt.datetime) -> str:
    """``<site_id>/<site_id>-<yyyymmddHHMMSS>-run<run_id>.warc.gz``, "/"-separated."""
    stamp = started_at.astimezone(dt.UTC).strftime("%Y%m%d%H%M%S")
    return f"{site_id}/{site_id}-{stamp}-run{run_id}.warc.gz"


def ensure_writable_dir(path: Path) -> None:
    """Create the WARC dir if needed; StorageError (one line) when it cannot be written."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot use WARC dir {path}: {exc.strerror or exc}") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise StorageError(f"cannot use WARC dir {path}: not writable")


class WarcWriter:
    """Appends the fetches of one run to that run's WARC file."""

    def __init__(
        self,
        warc_dir: Path,
        site_id: str,
        run_id: int,
        *,
        started_at: dt.datetime | None = None,
    ) -> None:
        self.warc_dir = Path(warc_dir)
        self.filename = warc_filename(site_id, run_id, started_at or dt.datetime.now(dt.UTC))
        self.path = self.warc_dir / self.filename
        self._records = RecordBuilder()  # WARC/1.0: what most replay tools expect
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Unbuffered: each record goes to the file in whole write() calls of our own, so a
            # failed write leaves no bytes in a buffer to be flushed later behind a cut.
            self._fh: BinaryIO = open(self.path, "ab", buffering=0)
        except OSError as exc:
            raise StorageError(
                f"cannot write WARC file {self.path}: {exc.strerror or exc}"
            ) from exc
        if self._fh.tell() == 0:
            self._append(self._warcinfo(site_id, run_id))

    def write(self, fetch: Fetch, original: OriginalRecord | None = None) -> WarcLocation:
        """Write the request and response records of one fetch; return the response's place.

        With ``original`` (a full record of the same page), a 200 whose payload digest is that
        record's is written as a revisit of it instead of a response."""
        uri = fetch.page_url or fetch.url
        warc_date = _warc_date(fetch.fetched_at)
        response_id = StatusAndHeadersParser.make_warc_id()
        ids = {"WARC-Record-ID": response_id, "WARC-Date": warc_date}
        response = self._response(uri, fetch, ids)
        digest = response.rec_headers.get_header("WARC-Payload-Digest")
        block = self._serialise(response)
        revisit = False
        if (
            original is not None
            and fetch.status == 200
            and digest
            and digest == original.payload_digest
        ):
            record = self._records.create_revisit_record(
                uri,
                digest,
                original.target_uri,
                original.date,
                http_headers=response.http_headers,
                warc_headers_dict={
                    **ids,
                    "WARC-Refers-To": original.record_id,
                    ORIGINAL_FILENAME: original.filename,
                    ORIGINAL_OFFSET: str(original.offset),
                },
            )
            # Only where it saves bytes: a revisit's extra headers outweigh a tiny body
            # (robots.txt, a short redirect page) compressed whole.
            short = self._serialise(record)
            if len(short) < len(block):
                block, revisit = short, True
        request = self._request(
            uri, fetch, {"WARC-Date": warc_date, "WARC-Concurrent-To": response_id}
        )
        start = self._fh.tell()
        try:
            self._append(self._serialise(request))
            offset = self._append(block)
        except StorageError:
            self._cut(start)
            raise
        return WarcLocation(self.filename, offset, self._fh.tell() - offset, revisit)

    def _response(self, uri: str, fetch: Fetch, ids: dict[str, str]) -> ArcWarcRecord:
        if fetch.raw_response is not None:
            return self._raw_record(uri, "response", fetch.raw_response, ids)
        return self._records.create_warc_record(
            uri,
            "response",
            payload=io.BytesIO(fetch.body),
            length=len(fetch.body),
            warc_headers_dict=ids,
            http_headers=StatusAndHeaders(
                status_line(fetch.status),
                stored_http_headers(fetch.headers, len(fetch.body)),
                protocol=fetch.protocol,
            ),
        )

    def _request(self, uri: str, fetch: Fetch, ids: dict[str, str]) -> ArcWarcRecord:
        if fetch.raw_request is not None:
            return self._raw_record(uri, "request", fetch.raw_request, ids)
        return self._records.create_warc_record(
            uri,
            "request",
            warc_headers_dict=ids,
            http_headers=StatusAndHeaders(
                f"GET {request_target(fetch.url)} {fetch.protocol}",
                request_headers(fetch),
                is_http_request=True,
            ),
        )

    def _raw_record(
        self, uri: str, rec_type: str, raw: bytes, ids: dict[str, str]
    ) -> ArcWarcRecord:
        """A request or response record whose block is ``raw``, byte for byte."""
        head, body = split_head(raw)
        http_headers = raw_headers(head)
        return self._records.create_warc_record(
            uri,
            rec_type,
            payload=io.BytesIO(body),
            length=len(body),
            warc_headers_dict=ids,
            http_headers=http_headers,
        )

    def _cut(self, offset: int) -> None:
        """After a failed write (a full disk), drop the torn tail so the file still reads to
        its end; best effort: the next write appends at the cut."""
        try:
            self._fh.truncate(offset)
            self._fh.seek(offset)
        except (OSError, ValueError):
            pass

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.close()

    def __enter__(self) -> WarcWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _serialise(self, record: ArcWarcRecord) -> bytes:
        buffer = io.BytesIO()
        WARCWriter(buffer, gzip=True).write_record(record)
        return buffer.getvalue()

    def _append(self, data: bytes) -> int:
        try:
            offset = self._fh.tell()
            view = memoryview(data)
            while view:  # a raw write may take part of the bytes (a disk filling up)
                written = self._fh.write(view)
                if not written:
                    raise OSError(28, "No space left on device")
                view = view[written:]
        except OSError as exc:
            raise StorageError(
                f"cannot write WARC file {self.path}: {exc.strerror or exc}"
            ) from exc
        return offset

    def _warcinfo(self, site_id: str, run_id: int) -> bytes:
        info = {
            "software": f"gonghui-archive/{_version()} (warcio)",
            "format": "WARC File Format 1.0",
            "conformsTo": "http://bibnum.bnf.fr/WARC/WARC_ISO_28500_version1_latestdraft.pdf",
            "isPartOf": f"{site_id}-run{run_id}",
            "description": f"crawl run {run_id} of site {site_id}",
        }
        return self._serialise(self._records.create_warcinfo_record(Path(self.filename).name, info))


def _warc_date(fetched_at: dt.datetime) -> str:
    if fetched_at.tzinfo is None:
        raise ValueError(f"naive fetched_at {fetched_at!r}: must be tz-aware UTC")
    return datetime_to_iso_date(fetched_at.astimezone(dt.UTC).replace(tzinfo=None))


def _version() -> str:
    try:
        return metadata.version("gonghui-archive")
    except metadata.PackageNotFoundError:
        return "dev"
