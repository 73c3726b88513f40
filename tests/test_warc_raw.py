"""The WARC holds each exchange as it crossed the wire, under the archive's URL; an unchanged
page is a revisit record, and reading a capture back resolves it (issue 15, points 1-3).

Two nights of `gonghui crawl` (the second `--deep`, so every article is fetched again and
answers the same bytes) against a server whose answers are fixed byte strings: gzip, brotli,
chunked, and headers in odd case and order. The site is served on an ephemeral port with
`--origin`, as the demo does, while the seed names it www.wire-test.cn.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from warcio.archiveiterator import ArchiveIterator

from archive.db import make_engine
from archive.models import Capture
from archive.store import Archive
from tests.hostile_server import article_html, listing, write_seed
from tests.test_crawl import gonghui_argv
from tests.wire_server import WireServer, response

SEED_ORIGIN = "http://www.wire-test.cn"
HTML = (("Content-Type", "text/html; charset=utf-8"),)
ODD = (("x-Odd-CASE", "kept  as sent"), ("Content-Type", "text/html; charset=utf-8"))
PAGES = {
    "/a/1.html": dict(coding="gzip", headers=ODD),
    "/a/2.html": dict(coding="br", headers=HTML),
    "/a/3.html": dict(chunks=3, headers=HTML),
    "/a/4.html": dict(coding="gzip", chunks=2, headers=HTML),
}


def html(path: str) -> bytes:
    return article_html(int(path.split("/")[-1].split(".")[0])).encode("utf-8")


@dataclass
class Nights:
    database_url: str
    warc_dir: Path
    site: WireServer
    outputs: list[str]


@pytest.fixture(scope="module")
def nights(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nights]:
    tmp = tmp_path_factory.mktemp("wire")
    home = listing(*PAGES).body
    routes = {"/": response(home, headers=HTML)}
    routes |= {path: response(html(path), **how) for path, how in PAGES.items()}
    routes["/robots.txt"] = response(b"User-agent: *\nAllow: /\n")
    seeds = write_seed(tmp / "seeds", "wire", SEED_ORIGIN)
    outputs = []
    with WireServer(routes) as site:
        for extra in ([], ["--deep"]):
            done = subprocess.run(
                gonghui_argv(
                    "crawl",
                    "wire",
                    f"--origin=wire={site.origin}",
                    *extra,
                    database_url=module_database_url,
                    warc_dir=tmp / "warc",
                    seeds_dir=seeds,
                ),
                capture_output=True,
                text=True,
                timeout=180,
            )
            assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
            outputs.append(done.stdout)
        yield Nights(module_database_url, tmp / "warc", site, outputs)


def captures(nights: Nights, path: str) -> list[Capture]:
    engine = make_engine(nights.database_url)
    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(Capture).where(Capture.url.endswith(path)).order_by(Capture.run_id)
            )
        )
        session.expunge_all()
    engine.dispose()
    return rows


def records(path: Path, parse: bool = True) -> Iterator[tuple[int, object, bytes]]:
    """(offset, record, block bytes) of every record of a WARC file."""
    with open(path, "rb") as fh:
        iterator = ArchiveIterator(fh, no_record_parse=not parse)
        for record in iterator:
            block = record.raw_stream.read()
            yield iterator.get_record_offset(), record, block


def warc_files(nights: Nights) -> list[Path]:
    return sorted(nights.warc_dir.rglob("*.warc.gz"))


def test_response_and_request_records_are_the_bytes_on_the_wire(nights: Nights) -> None:
    for path in PAGES:
        first = captures(nights, path)[0]
        wire = nights.warc_dir / first.warc_filename
        blocks = {offset: (record, block) for offset, record, block in records(wire, False)}
        record, block = blocks[first.warc_offset]
        assert record.rec_type == "response"
        assert block == nights.site.sent[path], path  # status line, headers, coded body
        response_id = record.rec_headers.get_header("WARC-Record-ID")
        [request] = [
            b
            for r, b in blocks.values()
            if r.rec_type == "request"
            and r.rec_headers.get_header("WARC-Concurrent-To") == response_id
        ]
        assert request in nights.site.received[path]


def test_every_record_is_under_the_archive_url(nights: Nights) -> None:
    uris = [
        record.rec_headers.get_header("WARC-Target-URI")
        for wire in warc_files(nights)
        for _, record, _ in records(wire)
        if record.rec_type != "warcinfo"
    ]
    assert uris and all(uri.startswith(SEED_ORIGIN + "/") for uri in uris), set(uris)
    assert len(warc_files(nights)) == 2


# `warcio check` as installed here, with the brotli adapter archive.warc_read puts in warcio
# (warcio reads brotli only through brotlipy, which clashes with Scrapy's brotli).
WARCIO_CHECK = "import sys, archive.warc_read, warcio.cli; warcio.cli.main(sys.argv[1:])"


def test_warcio_check_passes_on_every_file(nights: Nights) -> None:
    files = [str(p) for p in warc_files(nights)]
    done = subprocess.run(
        [sys.executable, "-c", WARCIO_CHECK, "check", "-v", *files],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "digest pass" in done.stdout


def test_an_unchanged_page_is_a_revisit_that_reads_back_as_its_original(nights: Nights) -> None:
    archive = Archive.open(nights.database_url, nights.warc_dir, migrate=False)
    try:
        for path in PAGES:
            first, second = captures(nights, path)
            _, original, full = next(
                r
                for r in records(nights.warc_dir / first.warc_filename)
                if r[0] == first.warc_offset
            )
            _, revisit, headers_only = next(
                r
                for r in records(nights.warc_dir / second.warc_filename)
                if r[0] == second.warc_offset
            )
            assert revisit.rec_type == "revisit"
            assert headers_only == b""  # no second copy of the body
            assert full == nights.site.sent[path].split(b"\r\n\r\n", 1)[1]
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
        gonghui_argv("verify", database_url=nights.database_url, warc_dir=nights.warc_dir),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
