"""`gonghui verify` reads every capture's WARC record back and says which cannot be.

A real archive (SQLite and PostgreSQL) is written through ``Archive`` into real WARC files,
five runs, five files; then one file is cut short, one deleted, bytes in a third overwritten
and one capture row made to point at another capture's record. The command, run as a
subprocess, must name each broken capture and each article version that loses its capture,
count them, and exit 4; on an intact archive it exits 0.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, update

import archive.verify as verify_module
from archive.models import Capture
from archive.records import RunCounts
from archive.verify import Summary, check_record, verify
from archive.warc import WarcWriter, read_payload
from tests.fixtures_db import T0, make_fetch, make_fields

ACFTU = "http://www.acftu.org/xwdt/"
XNZGH = "http://www.xnzgh.org.cn/info/"


@dataclass
class Built:
    """What ``_build`` archived: capture ids by name, WARC file paths by run letter."""

    captures: dict[str, int]
    files: dict[str, Path]
    urls: dict[str, str]


def _page(n: int) -> bytes:
    paragraphs = f"<p>职工代表大会第{n}次会议召开。</p>" * 40
    return f"<html><body>{paragraphs}</body></html>".encode("gbk")


def _build(archive) -> Built:
    """Five runs, one WARC file each (A, B, C on acftu; D, E on xnzgh).

    A: X (article), Y (article), list page.   B: X again (confirms X v1), Z (article).
    C: W (article), a list page.              D: Q (article), R (article).   E: S (article).
    """
    archive.ensure_site("acftu", "中华全国总工会", "https://www.acftu.org/")
    archive.ensure_site("xnzgh", "西宁市总工会", "http://www.xnzgh.org.cn/")
    plan = {
        "A": ("acftu", ["x", "y", "list_a"]),
        "B": ("acftu", ["x_again", "z"]),
        "C": ("acftu", ["w", "list_c"]),
        "D": ("xnzgh", ["q", "r"]),
        "E": ("xnzgh", ["s"]),
    }
    captures: dict[str, int] = {}
    files: dict[str, Path] = {}
    urls: dict[str, str] = {}
    at = T0
    for n, (run, (site, names)) in enumerate(plan.items()):
        run_id = archive.start_run(site, trigger="manual")
        for name in names:
            at += dt.timedelta(minutes=1)
            page = name.removesuffix("_again")
            url = (ACFTU if site == "acftu" else XNZGH) + f"{page}.html"
            urls[name] = url
            body = _page(n * 10 + len(captures)) if name != "x_again" else _page(0)
            captures[name] = archive.record_capture(run_id, site, make_fetch(url, body, at=at))
            if not page.startswith("list"):
                archive.record_article(captures[name], make_fields(title=f"标题{page}"))
        archive.finish_run(run_id, "finished", RunCounts())
        with archive.engine.connect() as conn:
            filename = conn.scalar(
                select(Capture.warc_filename).where(Capture.id == captures[names[0]])
            )
        files[run] = archive.warc_dir / filename
    return Built(captures, files, urls)


def _location(archive, capture_id: int) -> tuple[int, int]:
    with archive.engine.connect() as conn:
        row = conn.execute(
            select(Capture.warc_offset, Capture.warc_length).where(Capture.id == capture_id)
        ).one()
    return row.warc_offset, row.warc_length


def _damage(archive, built: Built) -> None:
    """Cut A short in the middle of Y's record, delete B, overwrite bytes inside W's record
    in C, point R's row at Q's record in D. E stays intact."""
    offset, length = _location(archive, built.captures["y"])
    os.truncate(built.files["A"], offset + length // 2)
    built.files["B"].unlink()
    offset, length = _location(archive, built.captures["w"])
    with open(built.files["C"], "r+b") as fh:
        fh.seek(offset + length // 2)
        fh.write(b"\x00" * 16)
    q_offset, q_length = _location(archive, built.captures["q"])
    with archive.engine.begin() as conn:
        conn.execute(
            update(Capture)
            .where(Capture.id == built.captures["r"])
            .values(warc_offset=q_offset, warc_length=q_length)
        )


def gonghui_verify(archive, *args: str, database: str | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli.main",
            "--database",
            database or archive.engine.url.render_as_string(hide_password=False),
            "--warc-dir",
            str(archive.warc_dir),
            "verify",
            *args,
        ],
        cwd=archive.warc_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _broken_lines(stdout: str) -> list[str]:
    """The lines listing broken captures (not the versions section below them)."""
    return stdout.split("versions that lose their capture:")[0].splitlines()


def _line_naming(stdout: str, capture_id: int) -> str:
    [line] = [line for line in _broken_lines(stdout) if f"capture {capture_id} " in line]
    return line


def test_an_intact_archive_verifies_with_exit_0(archive):
    _build(archive)
    result = gonghui_verify(archive)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines() == [
        "10 captures checked in 5 WARC files: 10 ok, missing 0, torn 0, mismatched 0; "
        "0 versions lose their capture"
    ]
    assert result.stderr == ""


def test_missing_torn_and_mismatched_captures_are_named_with_the_versions_they_cost(archive):
    built = _build(archive)
    _damage(archive, built)
    ids, urls = built.captures, built.urls

    result = gonghui_verify(archive)

    out = result.stdout
    assert result.returncode == 4, out + result.stderr
    assert "Traceback" not in out + result.stderr
    assert out.splitlines()[0] == (
        "10 captures checked in 5 WARC files: 4 ok, missing 2, torn 3, mismatched 1; "
        "5 versions lose their capture"
    )
    assert result.stderr.splitlines() == [
        "error: 6 of 10 captures cannot be read back as archived; "
        "5 article versions lose their capture"
    ]
    a, b, c, d = (str(built.files[r].relative_to(archive.warc_dir)) for r in "ABCD")
    y_offset, _ = _location(archive, ids["y"])
    line = _line_naming(out, ids["y"])
    assert line.split()[:2] == ["torn", "acftu"]
    assert f"{a}@{y_offset}" in line and urls["y"] in line and "file ends" in line
    assert "file ends at byte" in _line_naming(out, ids["list_a"])  # wholly past the cut
    for name in ("x_again", "z"):
        line = _line_naming(out, ids[name])
        assert line.split()[:2] == ["missing", "acftu"]
        assert b in line and urls[name] in line and "WARC file not found" in line
    line = _line_naming(out, ids["w"])
    assert line.split()[:2] == ["torn", "acftu"] and c in line and "corrupt gzip data" in line
    line = _line_naming(out, ids["r"])
    assert line.split()[:2] == ["mismatched", "xnzgh"] and d in line and "sha256" in line
    for intact in ("x", "list_c", "q", "s"):
        assert not any(f"capture {ids[intact]} " in line for line in _broken_lines(out))

    versions = out.split("versions that lose their capture:\n")[1].splitlines()
    assert sorted(" ".join(line.split()) for line in versions) == sorted(
        [
            f"acftu v1 {urls['w']} first and last capture {ids['w']} broken",
            f"acftu v1 {urls['x']} last capture {ids['x_again']} broken",
            f"acftu v1 {urls['y']} first and last capture {ids['y']} broken",
            f"acftu v1 {urls['z']} first and last capture {ids['z']} broken",
            f"xnzgh v1 {urls['r']} first and last capture {ids['r']} broken",
        ]
    )


def test_site_filter_limit_and_json(archive):
    built = _build(archive)
    _damage(archive, built)

    only_xnzgh = gonghui_verify(archive, "--site", "xnzgh")
    assert only_xnzgh.returncode == 4
    assert only_xnzgh.stdout.splitlines()[0] == (
        "3 captures checked in 2 WARC files: 2 ok, missing 0, torn 0, mismatched 1; "
        "1 versions lose their capture"
    )

    limited = gonghui_verify(archive, "--limit", "2")
    assert limited.returncode == 4
    assert "  ... and 4 more broken captures (--limit, or --json for every one)" in limited.stdout
    assert "  ... and 3 more versions (--limit, or --json for every one)" in limited.stdout

    counted_only = gonghui_verify(archive, "--limit", "0")
    assert counted_only.returncode == 4
    assert [line for line in counted_only.stdout.splitlines() if line.startswith("  ")] == [
        "  ... and 6 more broken captures (--limit, or --json for every one)",
        "  ... and 5 more versions (--limit, or --json for every one)",
    ]

    as_json = gonghui_verify(archive, "--json")
    assert as_json.returncode == 4
    lines = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["capture"] * 6 + ["version"] * 5 + ["summary"]
    assert {(line["capture_id"], line["problem"]) for line in lines[:6]} == {
        (built.captures["y"], "torn"),
        (built.captures["list_a"], "torn"),
        (built.captures["x_again"], "missing"),
        (built.captures["z"], "missing"),
        (built.captures["w"], "torn"),
        (built.captures["r"], "mismatched"),
    }
    assert lines[-1] == {
        "type": "summary",
        "captures": 10,
        "files": 5,
        "ok": 4,
        "missing": 2,
        "torn": 3,
        "mismatched": 1,
        "versions_lost": 5,
        "broken": 6,
    }


def test_a_file_replaced_by_garbage_is_torn_not_a_traceback(archive):
    built = _build(archive)
    size = built.files["D"].stat().st_size
    built.files["D"].write_bytes(hashlib.sha256(b"seed").digest() * (size // 32 + 1))
    built.files["E"].write_bytes(b"")

    result = gonghui_verify(archive, "--site", "xnzgh")

    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0].startswith(
        "3 captures checked in 2 WARC files: 0 ok, missing 0, torn 3, mismatched 0"
    )
    assert "no WARC record at this offset" in _line_naming(result.stdout, built.captures["q"])
    assert "file ends at byte 0" in _line_naming(result.stdout, built.captures["s"])


def test_a_wrong_warc_dir_is_named_in_the_error(archive, tmp_path):
    _build(archive)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.cli.main",
            "--database",
            archive.engine.url.render_as_string(hide_password=False),
            "--warc-dir",
            str(tmp_path / "elsewhere"),
            "verify",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 4
    assert "missing 10" in result.stdout
    assert result.stderr.startswith("error: 10 of 10 captures cannot be read back as archived")
    assert "does not exist: is --warc-dir right?" in result.stderr
    assert not (tmp_path / "elsewhere").exists()


def test_unknown_site_and_missing_database_are_one_error_line(archive, tmp_path):
    _build(archive)
    unknown = gonghui_verify(archive, "--site", "nosuch")
    assert unknown.returncode == 2
    assert unknown.stdout == ""
    [line] = unknown.stderr.splitlines()
    assert line.startswith("error: unknown site 'nosuch'")

    missing = tmp_path / "typo.sqlite3"
    result = gonghui_verify(archive, database=f"sqlite:///{missing}")
    assert result.returncode == 3
    [line] = result.stderr.splitlines()
    assert line.startswith("error: ") and str(missing) in line
    assert not missing.exists()


def test_each_warc_file_is_opened_once_and_records_are_read_in_order(archive, monkeypatch):
    built = _build(archive)
    _damage(archive, built)
    opened: list[str] = []
    seeks: dict[str, list[int]] = {}

    class Recording:
        def __init__(self, path, mode):
            opened.append(str(path))
            self._fh = open(path, mode)
            self._path = str(path)

        def seek(self, offset, *whence):
            seeks.setdefault(self._path, []).append(offset)
            return self._fh.seek(offset, *whence)

        def __getattr__(self, name):
            return getattr(self._fh, name)

    monkeypatch.setattr(verify_module, "open", Recording, raising=False)
    items = list(verify(archive.engine, archive.warc_dir))

    assert sorted(opened) == sorted(str(path) for path in built.files.values())  # B: tried
    for offsets in seeks.values():
        assert offsets == sorted(offsets)  # front to back
    assert isinstance(items[-1], Summary) and items[-1].broken == 6


def test_a_readable_record_with_another_payload_is_mismatched(archive):
    """The record at the offset reads whole (a valid gzip member) but carries other bytes."""
    built = _build(archive)
    offset, length = _location(archive, built.captures["s"])
    path = built.files["E"]
    body = read_payload(archive.warc_dir, str(path.relative_to(archive.warc_dir)), offset)
    old, new = "会议召开".encode("gbk"), "会议闭幕".encode("gbk")
    record = gzip.decompress(path.read_bytes()[offset : offset + length])
    spliced = gzip.compress(record.replace(old, new, 1))
    path.write_bytes(path.read_bytes()[:offset] + spliced)
    sha, other = hashlib.sha256(body).hexdigest(), hashlib.sha256(body.replace(old, new, 1))
    with open(path, "rb") as fh:
        assert check_record(fh, path.stat().st_size, offset, len(spliced), sha, len(body)) == (
            "mismatched",
            f"payload sha256 {other.hexdigest()[:12]}… ({len(body)} bytes), "
            f"the row says {sha[:12]}… ({len(body)} bytes)",
        )


@pytest.mark.parametrize("cut", [1, 10, 100])
def test_a_gzip_member_cut_anywhere_is_torn(tmp_path, cut):
    with WarcWriter(tmp_path, "acftu", 1, started_at=T0) as writer:
        location = writer.write(make_fetch(body=_page(1)))
    data = writer.path.read_bytes()
    writer.path.write_bytes(data[: location.offset + location.length - cut])
    sha = hashlib.sha256(_page(1)).hexdigest()
    with open(writer.path, "rb") as fh:
        # as the row says: the file ends inside the record
        size = writer.path.stat().st_size
        problem, detail = check_record(
            fh, size, location.offset, location.length, sha, len(_page(1))
        )
        assert (problem, detail.split(" bytes")[0]) == (
            "torn",
            f"file ends {location.length - cut}",
        )
        # a row whose length itself is short: the member is incomplete
        problem, detail = check_record(
            fh, size, location.offset, location.length - cut, sha, len(_page(1))
        )
        assert (problem, detail) == ("torn", "gzip member cut short (truncated record)")
