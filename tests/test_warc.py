import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.errors import StorageError
from archive.warc import WarcWriter, ensure_writable_dir, read_payload
from tests.fixtures_db import GBK_PAGE, T0, make_fetch

WARCIO = Path(sys.executable).parent / "warcio"


def _records(path: Path) -> list:
    with open(path, "rb") as fh:
        return [
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(fh)
        ]


def test_warc_file_is_named_per_site_and_run_under_the_warc_dir(tmp_path):
    writer = WarcWriter(tmp_path, "acftu", 42, started_at=T0)
    location = writer.write(make_fetch())
    writer.close()
    assert location.filename == "acftu/acftu-20240501080000-run42.warc.gz"
    assert (tmp_path / "acftu" / "acftu-20240501080000-run42.warc.gz").is_file()


def test_warc_file_passes_warcio_index_and_check(tmp_path):
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        first = writer.write(make_fetch())
        second = writer.write(make_fetch("http://www.acftu.org/b.html", b"<html>b</html>"))
    index = subprocess.run(
        [str(WARCIO), "index", str(writer.path)], capture_output=True, text=True, check=True
    )
    entries = [json.loads(line) for line in index.stdout.splitlines()]
    assert [e["warc-type"] for e in entries] == [
        "warcinfo",
        "request",
        "response",
        "request",
        "response",
    ]
    response_offsets = [int(e["offset"]) for e in entries if e["warc-type"] == "response"]
    assert response_offsets == [first.offset, second.offset]
    check = subprocess.run([str(WARCIO), "check", "-v", str(writer.path)], capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert b"digest pass" in check.stdout


def test_response_record_carries_target_uri_date_and_links_to_its_request(tmp_path):
    fetched_at = dt.datetime(2024, 5, 1, 9, 30, 15, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        writer.write(make_fetch("http://www.acftu.org/a.html?x=1", at=fetched_at))
    _, request, response = _records(writer.path)
    assert request[0] == "request" and response[0] == "response"
    assert response[1].get_header("WARC-Target-URI") == "http://www.acftu.org/a.html?x=1"
    assert response[1].get_header("WARC-Date") == "2024-05-01T01:30:15Z"  # UTC
    assert request[1].get_header("WARC-Concurrent-To") == response[1].get_header("WARC-Record-ID")
    assert request[2].protocol == "GET"
    assert request[2].statusline == "/a.html?x=1 HTTP/1.1"
    assert request[2].get_header("User-Agent") == "GonghuiArchive/test"


def test_gbk_payload_reads_back_byte_identical(tmp_path):
    bodies = [GBK_PAGE, "工会".encode("gb18030") + bytes(range(256)), b"", b"a\r\n\r\nb"]
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        locations = [
            writer.write(make_fetch(f"http://www.acftu.org/{i}.html", body))
            for i, body in enumerate(bodies)
        ]
    for location, body in zip(locations, bodies, strict=True):
        assert read_payload(tmp_path, location.filename, location.offset) == body


def test_transfer_headers_of_a_decoded_body_are_renamed_and_length_is_real(tmp_path):
    body = "全总新闻".encode()
    headers = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Encoding", "gzip"),
        ("Transfer-Encoding", "chunked"),
        ("Content-Length", "17"),
        ("Server", "nginx"),
    ]
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        writer.write(make_fetch(body=body, headers=headers))
    _, _, response = _records(writer.path)
    http_headers, payload = response[2], response[3]
    assert payload == body  # a reader that honoured Content-Encoding would have failed here
    assert http_headers.get_header("Content-Encoding") is None
    assert http_headers.get_header("Transfer-Encoding") is None
    assert http_headers.get_header("X-Archive-Orig-Content-Encoding") == "gzip"
    assert http_headers.get_header("X-Archive-Orig-Transfer-Encoding") == "chunked"
    assert http_headers.get_header("X-Archive-Orig-Content-Length") == "17"
    assert http_headers.get_header("Content-Length") == str(len(body))
    assert http_headers.get_header("Server") == "nginx"
    assert http_headers.get_statuscode() == "200"


def test_records_before_a_crash_stay_readable(tmp_path):
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        location = writer.write(make_fetch())
    with open(writer.path, "ab") as fh:  # a record cut off mid-write by a kill
        fh.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\x0b")
    assert read_payload(tmp_path, location.filename, location.offset) == GBK_PAGE


def test_reopening_a_run_appends_to_its_file_with_one_warcinfo(tmp_path):
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        writer.write(make_fetch())
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as again:
        location = again.write(make_fetch("http://www.acftu.org/2.html", b"second"))
    types = [r[0] for r in _records(writer.path)]
    assert types == ["warcinfo", "request", "response", "request", "response"]
    assert read_payload(tmp_path, location.filename, location.offset) == b"second"


def test_unwritable_warc_dir_raises_storage_error_with_one_line(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(StorageError) as err:
        WarcWriter(blocker / "warc", "acftu", 1)
    assert "\n" not in str(err.value)
    assert re.match(r"cannot write WARC file .*acftu-\d{14}-run1\.warc\.gz: ", str(err.value))


def test_ensure_writable_dir_creates_the_dir_or_says_why_not(tmp_path):
    ensure_writable_dir(tmp_path / "warc" / "nested")
    assert (tmp_path / "warc" / "nested").is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StorageError) as err:
        ensure_writable_dir(blocker / "warc")
    assert str(err.value) == f"cannot use WARC dir {blocker / 'warc'}: Not a directory"


def test_reading_a_missing_record_raises_storage_error(tmp_path):
    with pytest.raises(StorageError, match="cannot read WARC file"):
        read_payload(tmp_path, "acftu/missing.warc.gz", 0)
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        writer.write(make_fetch())
    with pytest.raises(StorageError, match="cannot read WARC record"):
        read_payload(tmp_path, writer.filename, 10**6)
