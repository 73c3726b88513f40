"""Reading WARC records back: a capture's payload, a revisit resolved to its original.

A response record holds the response as received (``archive.warc``): possibly chunked,
gzip- or brotli-coded. What the archive calls a capture's payload (``payload_sha256`` on its
row, what the crawler parsed) is that body de-chunked and decoded, which warcio's
``content_stream()`` gives back. A ``revisit`` record holds only the response headers; it names
the full record it repeats by the standard ``WARC-Refers-To`` (record id),
``WARC-Refers-To-Target-URI`` and ``WARC-Refers-To-Date``, and by where that record lies
(``Gonghui-Original-Filename`` / ``-Offset``, relative to the WARC dir), so the archive finds
the payload with one seek instead of an index of every record id.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, NamedTuple

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import BufferedReader
from warcio.recordloader import ArcWarcRecord

from archive.errors import StorageError

ORIGINAL_FILENAME = "Gonghui-Original-Filename"
ORIGINAL_OFFSET = "Gonghui-Original-Offset"


class _BrotliDecompressor:
    """warcio's brotli support is written for brotlipy's ``Decompressor`` (``decompress`` and
    a settable ``unused_data``); Google's ``brotli``, the one Scrapy uses and we install, has
    ``process`` and refuses new attributes (warcio issue 73). This adapter lets warcio read
    the brotli bodies we store as received."""

    unused_data = None

    def __init__(self) -> None:
        import brotli

        self._inner = brotli.Decompressor()

    def decompress(self, data: bytes, _max_length: int = 0) -> bytes:
        return self._inner.process(data)

    def flush(self) -> bytes:  # warcio calls it when a stream is closed
        return b""


class _ZstdDecompressor:
    """warcio knows no zstd at all. The crawler does not ask for it (crawler/settings.py), but
    a server may send it unasked; its body is then read back with the zstd module Scrapy
    decodes it with (``backports.zstd`` before Python 3.14)."""

    def __init__(self) -> None:
        try:
            from compression import zstd  # type: ignore[import-not-found]
        except ImportError:
            from backports import zstd
        self._inner = zstd.ZstdDecompressor()

    @property
    def unused_data(self) -> bytes:
        return self._inner.unused_data

    def decompress(self, data: bytes, _max_length: int = 0) -> bytes:
        return self._inner.decompress(data)

    def flush(self) -> bytes:
        return b""


def _install_decoders() -> None:
    try:
        import brotli
    except ImportError:  # then warcio says "Decompression type not supported: br"
        pass
    else:
        if not hasattr(brotli.Decompressor, "decompress"):
            BufferedReader.DECOMPRESSORS["br"] = _BrotliDecompressor
    BufferedReader.DECOMPRESSORS.setdefault("zstd", _ZstdDecompressor)


_install_decoders()


class OriginalRecord(NamedTuple):
    """A full response record a revisit can refer to."""

    filename: str  # relative to the WARC dir
    offset: int
    record_id: str  # its WARC-Record-ID
    target_uri: str
    date: str  # its WARC-Date
    payload_digest: str  # its WARC-Payload-Digest (warcio: sha1 of the entity as stored)


def original_location(record: ArcWarcRecord) -> tuple[str, int] | None:
    """Where the full record a revisit repeats lies; None for a record that is not one."""
    if record.rec_type != "revisit":
        return None
    filename = record.rec_headers.get_header(ORIGINAL_FILENAME)
    offset = record.rec_headers.get_header(ORIGINAL_OFFSET)
    if not filename or not offset or not offset.isdigit():
        raise StorageError(
            f"revisit record {record.rec_headers.get_header('WARC-Record-ID')} does not say "
            "where its original is"
        )
    return filename, int(offset)


@contextmanager
def open_record(warc_dir: Path, filename: str, offset: int) -> Iterator[ArcWarcRecord]:
    """The record at ``offset``, open for reading; StorageError (one line) when it cannot be."""
    path = Path(warc_dir) / filename
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            record = next(iter(ArchiveIterator(fh)), None)
            if record is None:
                raise StorageError(f"cannot read WARC record {path}@{offset}: no record there")
            yield record
    except OSError as exc:
        raise StorageError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
    except StorageError:
        raise
    except Exception as exc:  # warcio raises ArchiveLoadFailed and friends
        raise StorageError(f"cannot read WARC record {path}@{offset}: {exc}") from exc


@contextmanager
def open_payload(warc_dir: Path, filename: str, offset: int) -> Iterator[IO[bytes]]:
    """The decoded payload of the response at ``offset`` as a stream; a revisit's is its
    original's."""
    with open_record(warc_dir, filename, offset) as record:
        where = original_location(record)
        if where is None:
            yield record.content_stream()
            return
    with open_record(warc_dir, *where) as original:
        if original.rec_type != "response":
            raise StorageError(
                f"revisit at {filename}@{offset} refers to a {original.rec_type} record"
            )
        yield original.content_stream()


def read_payload(warc_dir: Path, filename: str, offset: int) -> bytes:
    """The HTTP payload of the record at ``offset`` (a revisit's: its original's), de-chunked
    and decoded: byte-identical to the ``Fetch.body`` stored."""
    try:
        with open_payload(warc_dir, filename, offset) as stream:
            return stream.read()
    except StorageError:
        raise
    except Exception as exc:  # a corrupt gzip or brotli body
        raise StorageError(f"cannot read WARC record {filename}@{offset}: {exc}") from exc


def original_record(warc_dir: Path, filename: str, offset: int) -> OriginalRecord:
    """The full response record behind the record at ``offset`` (itself, or a revisit's)."""
    with open_record(warc_dir, filename, offset) as record:
        where = original_location(record)
        if where is None:
            headers = record.rec_headers
            if record.rec_type != "response":
                raise StorageError(f"{filename}@{offset} is a {record.rec_type} record")
            return OriginalRecord(
                filename,
                offset,
                headers.get_header("WARC-Record-ID"),
                headers.get_header("WARC-Target-URI"),
                headers.get_header("WARC-Date"),
                headers.get_header("WARC-Payload-Digest") or "",
            )
    return original_record(warc_dir, *where)
