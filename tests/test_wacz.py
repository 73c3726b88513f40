"""`archive.wacz.write_wacz` (issue 15, point 4): the two nights of tests/fixtures_wire.py as a
WACZ 1.1.1 that py-wacz's own `wacz validate` accepts, with our pages and a CDXJ index."""

from __future__ import annotations

import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from archive.db import make_engine
from archive.errors import StorageError
from archive.wacz import surt, write_wacz
from tests.fixtures_wire import EDITED, SEED_ORIGIN, UNCHANGED, Nights
from tests.pywb_venv import tool

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("wire_nights")]


def test_the_wacz_validates_and_carries_our_pages(wire_nights: Nights) -> None:
    out = wire_nights.tmp / "wire.wacz"
    engine = make_engine(wire_nights.database_url)
    try:
        summary = write_wacz(engine, wire_nights.warc_dir, out, site="wire")
        # After run 1, so run 2 only: its revisits need run 1's file, which comes along.
        later = write_wacz(engine, wire_nights.warc_dir, wire_nights.tmp / "r2.wacz", since_run=1)
    finally:
        engine.dispose()
    assert summary["warc_files"] == 2 and later["warc_files"] == 2
    assert summary["pages"] == 6  # five articles, one of them in two versions
    done = subprocess.run(
        [str(tool("wacz")), "validate", "-f", str(out)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Validation succeeded" in done.stdout
    with zipfile.ZipFile(out) as wacz:
        names = set(wacz.namelist())
        assert {"datapackage.json", "indexes/index.cdxj", "pages/pages.jsonl"} <= names
        assert all(
            wacz.getinfo(n).compress_type == zipfile.ZIP_STORED
            for n in names
            if n.startswith("archive/")
        )
        header, *pages = [json.loads(line) for line in wacz.read("pages/pages.jsonl").splitlines()]
        index = wacz.read("indexes/index.cdxj").decode().splitlines()
        package = json.loads(wacz.read("datapackage.json"))
    assert header["format"] == "json-pages-1.0"
    edited = [p for p in pages if p["url"] == SEED_ORIGIN + EDITED]
    assert [("（更正）" in p["text"]) for p in edited] == [False, True]
    assert all(p["title"].startswith("某市总工会") for p in pages)
    assert package["wacz_version"] == "1.1.1"
    key = surt(SEED_ORIGIN + next(iter(UNCHANGED)))
    mine = [json.loads(line.split(" ", 2)[2]) for line in index if line.startswith(key + " ")]
    assert sorted(m["mime"] for m in mine) == ["text/html", "warc/revisit"]
    assert index == sorted(index)


def test_surt_is_pywb_s_key() -> None:
    assert surt("http://www.Wire-Test.cn/a/1.html?b=2&a=1") == "cn,wire-test)/a/1.html?a=1&b=2"
    assert surt("http://127.0.0.1:8601/") == "1,0,0,127:8601)/"


def test_a_missing_warc_file_is_one_storage_error(wire_nights: Nights, tmp_path: Path) -> None:
    copy = tmp_path / "warc"
    shutil.copytree(wire_nights.warc_dir, copy)
    gone = wire_nights.warc_files()[1].relative_to(wire_nights.warc_dir)
    (copy / gone).unlink()
    engine = make_engine(wire_nights.database_url)
    try:
        with pytest.raises(StorageError, match=r"cannot read WARC file .*run2") as caught:
            write_wacz(engine, copy, tmp_path / "out.wacz", since_run=1)
    finally:
        engine.dispose()
    assert "\n" not in str(caught.value)
