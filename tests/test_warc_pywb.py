"""pywb replays the archive by the archive's own URLs (issue 15, point 3).

The WARC files of the two nights of tests/fixtures_wire.py go into a pywb collection
(`wb-manager init` / `add`, pywb in .venv-pywb); pywb serves it on 127.0.0.1. Each article's
timeline (the CDX API) holds both nights; an unchanged article's second capture is a revisit
that replays as the original's page, the edited one replays each version as it was.
"""

from __future__ import annotations

import gzip
import json
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import brotli
import pytest

from tests.fixtures_wire import EDITED, SEED_ORIGIN, UNCHANGED, Nights, html
from tests.pywb_venv import tool

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("wire_nights"),
    # Replay reads the WARC files only; the database behind them is tested by test_warc_raw
    # on both backends, so one backend's files are enough here.
    pytest.mark.parametrize("wire_nights", ["sqlite"], indirect=True),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def pywb(wire_nights: Nights, tmp_path: Path) -> Iterator[str]:
    """A running pywb with the collection ``wire``; its base URL."""
    manager, wayback = tool("wb-manager"), tool("wayback")
    subprocess.run([str(manager), "init", "wire"], cwd=tmp_path, check=True, capture_output=True)
    files = [str(p) for p in wire_nights.warc_files()]
    added = subprocess.run(
        [str(manager), "add", "wire", *files], cwd=tmp_path, capture_output=True, text=True
    )
    assert added.returncode == 0, added.stderr[-3000:]
    port = free_port()
    log = tmp_path / "pywb.log"
    server = subprocess.Popen(
        [str(wayback), "-b", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:]
                    raise AssertionError(f"pywb did not start: {tail}") from None
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


def get(url: str) -> tuple[int, bytes]:
    """Status and body, content coding undone."""
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            status, body, coding = (
                answer.status,
                answer.read(),
                answer.headers.get("Content-Encoding", ""),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    if coding == "gzip":
        body = gzip.decompress(body)
    elif coding == "br":
        body = brotli.decompress(body)
    return status, body


def timeline(base: str, url: str) -> list[dict]:
    status, body = get(f"{base}/wire/cdx?output=json&url={quote(url, safe='')}")
    assert status == 200
    return [json.loads(line) for line in body.decode().splitlines() if line.strip()]


def test_pywb_replays_every_version_by_the_archive_url(pywb: str) -> None:
    for path in [*UNCHANGED, EDITED]:
        url = SEED_ORIGIN + path
        entries = timeline(pywb, url)
        assert len(entries) == 2, (path, entries)
        assert all(e["url"] == url for e in entries)
        kinds = sorted(e.get("mime") for e in entries)
        if path in UNCHANGED:
            assert kinds == ["text/html", "warc/revisit"], (path, entries)
        for night, entry in enumerate(sorted(entries, key=lambda e: e["timestamp"]), 1):
            status, body = get(f"{pywb}/wire/{entry['timestamp']}id_/{url}")
            assert status == 200, (path, night, body[:300])
            assert body == html(path, night), (path, night)


def test_warcio_check_with_pywb_s_own_warcio(wire_nights: Nights) -> None:
    """Where warcio has brotlipy (pywb's venv), `warcio check` reads every record unaided."""
    files = [str(p) for p in wire_nights.warc_files()]
    done = subprocess.run(
        [str(tool("warcio")), "check", "-v", *files], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
