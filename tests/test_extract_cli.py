"""`gonghui extract --jsonl`: the crawler's decode and extraction on saved files."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from crawler.replica.server import ReplicaServer
from crawler.replica.truth import load_truth


def extract(*args: str) -> list[dict]:
    out = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "extract", "--jsonl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_extract_reads_a_saved_gbk_e_paper_page_like_the_crawler(tmp_path):
    truth = next(t for t in load_truth("bcrb") if t.kicker)
    with ReplicaServer(sites=["bcrb"]) as replica:
        page = urllib.request.urlopen(replica.origins["bcrb"] + truth.path).read()
    path = tmp_path / "page.htm"
    path.write_bytes(b"<text id=1 title=x>\n" + page)  # junk before <html> is survived
    [record] = extract(str(path), "--url", "http://www.bcxww.com" + truth.path)
    assert (record["title"], record["kicker"], record["subtitle"]) == (
        truth.title,
        truth.kicker,
        truth.subtitle,
    )
    assert record["published"] == truth.published
    assert record["body"].split("\n") == list(truth.body)
    assert (
        record["encoding"]["chosen"] == "gb18030" and record["encoding"]["meta_charset"] == "utf-8"
    )


def test_a_bad_file_gives_an_error_record_and_the_batch_goes_on(tmp_path):
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    binary = tmp_path / "binary.html"
    binary.write_bytes(bytes(range(256)) * 50)
    good = tmp_path / "good.html"
    good.write_text(
        "<html><head><title>全总召开劳模座谈会_中工网</title></head><body><h1>全总召开劳模座谈会</h1>"
        "<p>发布时间：2024-05-01 来源：工人日报</p><div><p>"
        + "中华全国总工会今天召开劳模座谈会，听取意见建议。" * 3
        + "</p></div></body></html>",
        encoding="utf-8",
    )
    records = extract(str(empty), str(tmp_path / "missing.html"), str(binary), str(good))
    assert [r["path"] for r in records] == [
        str(empty),
        str(tmp_path / "missing.html"),
        str(binary),
        str(good),
    ]
    assert all(r.get("error") for r in records[:3])
    assert records[3]["title"] == "全总召开劳模座谈会" and records[3]["source"] == "工人日报"
    assert records[3]["published"] == "2024-05-01" and "error" not in records[3]
