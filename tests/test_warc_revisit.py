"""The WARC writer's revisit rule, without a crawl: a 200 repeating its original's payload is
a revisit where that is smaller; a changed body or a tiny one is stored whole; reading a
revisit back gives the original's body; a raw exchange is kept byte for byte."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import random
import subprocess
import sys
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

try:
    from compression import zstd  # type: ignore[import-not-found]
except ImportError:  # before Python 3.14
    from backports import zstd

from archive.warc import WarcWriter
from archive.warc_read import original_record, read_payload
from tests.fixtures_db import T0, make_fetch

_WORDS = "职工 技能 大赛 西宁 举行 行业 选手 同台 竞技 工会 劳模 表彰 会议 召开 代表 发言".split()
_RNG = random.Random(1)
_TEXT = "".join(_RNG.choice(_WORDS) for _ in range(1500))  # compresses like prose
PAGE = f"<html><body><p>{_TEXT}</p></body></html>".encode()
EDITED = PAGE + "<p>更正</p>".encode()
LATER = T0 + dt.timedelta(days=1)


def raw_gzip_fetch(body: bytes, at: dt.datetime = T0):
    coded = gzip.compress(body, mtime=0)
    raw = (
        b"HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\n"
        b"Content-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(coded)
    ) + coded
    request = b"GET /a.html HTTP/1.1\r\nHost: 127.0.0.1:9\r\nAccept-Encoding: gzip\r\n\r\n"
    fetch = make_fetch("http://127.0.0.1:9/a.html", body, at=at, page_url="http://wire.cn/a.html")
    return dataclasses.replace(fetch, raw_response=raw, raw_request=request)


def rec_type(warc_dir: Path, filename: str, offset: int) -> str:
    with open(warc_dir / filename, "rb") as fh:
        fh.seek(offset)
        return next(iter(ArchiveIterator(fh))).rec_type


def test_a_repeated_payload_is_a_revisit_that_reads_back_whole(tmp_path: Path) -> None:
    with WarcWriter(tmp_path, "wire", 1, started_at=T0) as night1:
        first = night1.write(raw_gzip_fetch(PAGE))
    original = original_record(tmp_path, first.filename, first.offset)
    assert original.target_uri == "http://wire.cn/a.html"  # the archive's URL, not the port
    with WarcWriter(tmp_path, "wire", 2, started_at=LATER) as night2:
        same = night2.write(raw_gzip_fetch(PAGE, LATER), original)
        edited = night2.write(raw_gzip_fetch(EDITED, LATER), original)
    assert same.revisit and not edited.revisit
    assert rec_type(tmp_path, same.filename, same.offset) == "revisit"
    assert same.length < first.length / 2
    assert read_payload(tmp_path, same.filename, same.offset) == PAGE
    assert read_payload(tmp_path, edited.filename, edited.offset) == EDITED
    # Behind a revisit, its original: what a later revisit refers to.
    assert original_record(tmp_path, same.filename, same.offset) == original


def test_a_tiny_body_is_stored_whole_rather_than_as_a_larger_revisit(tmp_path: Path) -> None:
    tiny = b"User-agent: *\nAllow: /\n"
    with WarcWriter(tmp_path, "wire", 1, started_at=T0) as writer:
        first = writer.write(make_fetch("http://wire.cn/robots.txt", tiny))
        original = original_record(tmp_path, first.filename, first.offset)
        again = writer.write(make_fetch("http://wire.cn/robots.txt", tiny, at=LATER), original)
    assert not again.revisit
    assert rec_type(tmp_path, again.filename, again.offset) == "response"


def test_a_raw_exchange_is_written_byte_for_byte(tmp_path: Path) -> None:
    fetch = raw_gzip_fetch(PAGE)
    with WarcWriter(tmp_path, "wire", 1, started_at=T0) as writer:
        location = writer.write(fetch)
    with open(tmp_path / location.filename, "rb") as fh:
        blocks = {
            r.rec_type: r.raw_stream.read() for r in ArchiveIterator(fh, no_record_parse=True)
        }
    assert blocks["response"] == fetch.raw_response
    assert blocks["request"] == fetch.raw_request


def raw_fetch(path: str, body: bytes, coding: str | None, chunks: int) -> object:
    """A fetch whose raw response is ``body`` coded (gzip, zstd) and/or chunked, as sent."""
    coded = body
    if coding == "gzip":
        coded = gzip.compress(body, mtime=0)
    elif coding == "zstd":
        coded = zstd.compress(body)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
    if coding:
        head += b"Content-Encoding: %s\r\n" % coding.encode()
    if chunks:
        size = -(-len(coded) // chunks)
        parts = [coded[i : i + size] for i in range(0, len(coded), size)]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
        raw = head + b"Transfer-Encoding: chunked\r\n\r\n" + framed
    else:
        raw = head + b"Content-Length: %d\r\n\r\n" % len(coded) + coded
    request = b"GET %s HTTP/1.1\r\nHost: wire.cn\r\nAccept-Encoding: gzip, deflate\r\n\r\n" % (
        path.encode()
    )
    fetch = make_fetch(f"http://wire.cn{path}", body)
    return dataclasses.replace(fetch, raw_response=raw, raw_request=request)


def test_plain_warcio_check_passes_on_what_the_crawler_asks_for_and_zstd_reads_back(
    tmp_path: Path,
) -> None:
    """The codings the crawler asks for (gzip, deflate; chunked or not) and a revisit pass
    `warcio check` exactly as installed, with nothing of ours loaded; a zstd body a server sent
    unasked passes too and is read back decoded."""
    kinds = {"/g.html": ("gzip", 0), "/c.html": (None, 3), "/gc.html": ("gzip", 2)}
    kinds["/z.html"] = ("zstd", 0)
    with WarcWriter(tmp_path, "wire", 1, started_at=T0) as night1:
        written = {p: night1.write(raw_fetch(p, PAGE, *how)) for p, how in kinds.items()}
    original = original_record(tmp_path, written["/g.html"].filename, written["/g.html"].offset)
    with WarcWriter(tmp_path, "wire", 2, started_at=LATER) as night2:
        again = night2.write(raw_fetch("/g.html", PAGE, "gzip", 0), original)
    assert again.revisit
    for location in [*written.values(), again]:
        assert read_payload(tmp_path, location.filename, location.offset) == PAGE
    files = sorted(str(p) for p in tmp_path.rglob("*.warc.gz"))
    warcio = Path(sys.executable).with_name("warcio")
    check = subprocess.run([str(warcio), "check", "-v", *files], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.count("digest pass") >= 2 * len(kinds)
