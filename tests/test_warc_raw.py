"""The WARC holds each exchange as it crossed the wire, under the archive's URL; an unchanged
page is a revisit record, and reading a capture back resolves it (issue 15, points 1-3).

The crawl: tests/fixtures_wire.py (two nights against fixed bytes: gzip, brotli, chunked).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.db import make_engine
from archive.store import Archive
from archive.verify import BrokenCapture, verify
from tests.fixtures_wire import EDITED, SEED_ORIGIN, UNCHANGED, Nights, html
from tests.test_crawl import gonghui_argv

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wire_nights")]


def records(path: Path, parse: bool = True) -> Iterator[tuple[int, object, bytes]]:
    """(offset, record, block bytes) of every record of a WARC file."""
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh, no_record_parse=not parse)
        for record in iterator:
            block = record.raw_stream.read()
            yield iterator.get_record_offset(), record, block


def test_response_and_request_records_are_the_bytes_on_the_wire(wire_nights: Nights) -> None:
    for path in UNCHANGED:
        first = wire_nights.captures(path)[0]
        wire = wire_nights.warc_dir / first.warc_filename
        blocks = {offset: (record, block) for offset, record, block in records(wire, False)}
        record, block = blocks[first.warc_offset]
        assert record.rec_type == "response"
        assert block == wire_nights.site.sent[path], path  # status line, headers, coded body
        response_id = record.rec_headers.get_header("WARC-Record-ID")
        [request] = [
            b
            for r, b in blocks.values()
            if r.rec_type == "request"
            and r.rec_headers.get_header("WARC-Concurrent-To") == response_id
        ]
        assert request in wire_nights.site.received[path]
        # Only codings every WARC reader decodes are asked for (crawler/settings.py); the br
        # page is a server sending br unasked, archived as sent all the same.
        assert b"\r\nAccept-Encoding: gzip, deflate\r\n" in request


def test_every_record_is_under_the_archive_url(wire_nights: Nights) -> None:
    uris = [
        record.rec_headers.get_header("WARC-Target-URI")
        for wire in wire_nights.warc_files()
        for _, record, _ in records(wire)
        if record.rec_type != "warcinfo"
    ]
    assert uris and all(uri.startswith(SEED_ORIGIN + "/") for uri in uris), set(uris)
    assert len(wire_nights.warc_files()) == 2


# `warcio check` as installed here, with the brotli adapter archive.warc_read puts in warcio
# (warcio reads brotli only through brotlipy, which clashes with Scrapy's brotli): these files
# hold a br body sent unasked. Files without one pass the plain `warcio check`
# (test_warc_revisit.py), and pywb's venv, which has brotlipy, passes these too
# (test_warc_pywb.py).
WARCIO_CHECK = "import sys, archive.warc_read, warcio.cli; warcio.cli.main(sys.argv[1:])"


def test_warcio_check_passes_on_every_file(wire_nights: Nights) -> None:
    files = [str(p) for p in wire_nights.warc_files()]
    done = subprocess.run(
        [sys.executable, "-c", WARCIO_CHECK, "check", "-v", *files],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "digest pass" in done.stdout


def test_an_unchanged_page_is_a_revisit_that_reads_back_as_its_original(
    wire_nights: Nights,
) -> None:
    archive = Archive.open(wire_nights.database_url, wire_nights.warc_dir, migrate=False)
    try:
        for path in UNCHANGED:
            first, second = wire_nights.captures(path)
            _, original, full = next(
                r
                for r in records(wire_nights.warc_dir / first.warc_filename)
                if r[0] == first.warc_offset
            )
            _, revisit, headers_only = next(
                r
                for r in records(wire_nights.warc_dir / second.warc_filename)
                if r[0] == second.warc_offset
            )
            assert revisit.rec_type == "revisit"
            assert headers_only == b""  # no second copy of the body
            assert full == wire_nights.site.sent[path].split(b"\r\n\r\n", 1)[1]
            got = revisit.rec_headers
            assert got.get_header("WARC-Profile").endswith("/revisit/identical-payload-digest")
            assert got.get_header("WARC-Refers-To-Target-URI") == SEED_ORIGIN + path
            assert got.get_header("WARC-Refers-To-Date") == original.rec_headers.get_header(
                "WARC-Date"
            )
            assert got.get_header("WARC-Refers-To") == original.rec_headers.get_header(
                "WARC-Record-ID"
            )
            assert second.warc_length < first.warc_length
            assert archive.read_capture_payload(second.id) == html(path)
            assert archive.read_capture_payload(first.id) == html(path)
    finally:
        archive.close()
    done = subprocess.run(
        gonghui_argv(
            "verify", database_url=wire_nights.database_url, warc_dir=wire_nights.warc_dir
        ),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_an_edited_page_is_stored_whole_again(wire_nights: Nights) -> None:
    first, second = wire_nights.captures(EDITED)
    kinds = []
    for capture in (first, second):
        wire = wire_nights.warc_dir / capture.warc_filename
        kinds += [r.rec_type for offset, r, _ in records(wire) if offset == capture.warc_offset]
    assert kinds == ["response", "response"]
    assert first.payload_sha256 != second.payload_sha256


def test_a_revisit_whose_original_is_gone_is_reported_torn(
    wire_nights: Nights, tmp_path: Path
) -> None:
    copy = tmp_path / "warc"
    shutil.copytree(wire_nights.warc_dir, copy)
    first = wire_nights.captures(next(iter(UNCHANGED)))[0]
    (copy / first.warc_filename).unlink()  # night 1's file: the originals
    engine = make_engine(wire_nights.database_url)
    try:
        found = list(verify(engine, copy, site_id="wire"))
    finally:
        engine.dispose()
    broken = {b.url: b for b in found if isinstance(b, BrokenCapture)}
    night2 = wire_nights.warc_files()[1]
    revisits = {
        r.rec_headers.get_header("WARC-Target-URI").removeprefix(SEED_ORIGIN)
        for _, r, _ in records(night2)
        if r.rec_type == "revisit"
    }
    assert set(UNCHANGED) <= revisits
    torn = {url.split("/", 3)[3] for url, b in broken.items() if b.problem == "torn"}
    assert {"/" + path for path in torn} == revisits
    assert all("its original" in b.detail for b in broken.values() if b.problem == "torn")
    assert found[-1].torn == len(revisits) and found[-1].missing > len(UNCHANGED)
