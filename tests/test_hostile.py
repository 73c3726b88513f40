"""Hostile inputs: what `gonghui extract --jsonl` (and so the crawler) makes of pages that are
empty, binary, truncated, huge, not HTML at all or mislabelled. Never a crash: each bad page
gives a record with a short ``error`` and the rest of the batch is still extracted."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import html as lxml_html

from crawler.decode import decode_body
from crawler.extract.article import extract_article
from crawler.extract.lines import iter_lines
from crawler.settings import DOWNLOAD_MAXSIZE

TITLE = "某市总工会举办第五届职工职业技能大赛"
PARAGRAPHS = (
    "6月10日，某市总工会在市职工文化中心举办第五届职工职业技能大赛，来自全市机械、电力、"
    "建筑等行业的三百余名职工参加比赛，现场气氛热烈。",
    "本次大赛设置焊工、电工、数控车工、汽车维修工等十个比赛项目，分理论考试和实际操作两个"
    "环节进行，旨在弘扬劳模精神和工匠精神，提升广大职工的技能水平。",
    "市总工会负责人表示，将为各项目前三名颁发证书和奖金，并推荐参评市级技术能手，激励更多"
    "职工立足岗位、钻研技术，走技能成才之路。",
)
HEAD_LINE = "发布时间：2024-06-12 来源：某市总工会"


def article_html(meta: str = "", filler: str = "") -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (
        f"<html><head>{meta}<title>{TITLE}_工会新闻</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> <a href='/news/'>工会要闻</a></div>"
        f"<h1>{TITLE}</h1><p class='info'>{HEAD_LINE}</p>"
        f"<div class='content'>{paragraphs}</div>{filler}"
        "<div class='footer'>版权所有 某市总工会</div></body></html>"
    )


def run_extract(*paths: Path | str) -> tuple[list[dict], subprocess.CompletedProcess[str]]:
    out = subprocess.run(
        [sys.executable, "-m", "crawler.cli.main", "extract", "--jsonl", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return [json.loads(line) for line in out.stdout.splitlines()], out


def assert_is_the_article(record: dict) -> None:
    assert "error" not in record, record.get("error")
    assert record["title"] == TITLE
    assert record["body"].split("\n") == list(PARAGRAPHS)
    assert record["published"] == "2024-06-12" and record["source"] == "某市总工会"


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- empty and binary -----------------------------------------------------------------------


def test_an_empty_file_gives_an_empty_page_record(tmp_path):
    [record], out = run_extract(write(tmp_path / "empty.html", b""))
    assert out.returncode == 0
    assert record["error"] == "empty_page" and "body" not in record
    assert extract_article("", "http://x.cn/a.html").drop_reason == "empty_page"
    assert extract_article(" \r\n\u3000 ", "http://x.cn/a.html").drop_reason == "empty_page"


def binary_pages() -> dict[str, bytes]:
    noise = random.Random(20240612).randbytes(20_000)
    return {
        "png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00" + noise,
        "gzip": gzip.compress(article_html().encode("gbk")),  # saved without Content-Encoding
        "gif": b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00"
        b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;",  # a pixel
    }


def test_binary_files_give_binary_content_and_no_garbage_text(tmp_path):
    paths = [write(tmp_path / f"{name}.html", data) for name, data in binary_pages().items()]
    records, out = run_extract(*paths)
    assert out.returncode == 0 and len(records) == 3
    for record in records:
        assert record["error"] == "binary_content", record["path"]
        assert "title" not in record and "body" not in record


@pytest.mark.parametrize("name", ["png", "gzip", "gif"])
def test_extract_article_drops_decoded_binary_like_the_crawler_pipeline(name):
    decoded = decode_body(binary_pages()[name], "text/html")  # a server that says text/html
    result = extract_article(decoded.text, "http://x.cn/a.html")
    assert result.drop_reason == "binary_content" and result.fields is None


# -- encodings ------------------------------------------------------------------------------


def test_a_gbk_page_cut_inside_a_two_byte_character_is_still_read_as_gbk(tmp_path):
    # A download that stopped mid-page: the last paragraph ends in the first byte of 证.
    full = article_html().encode("gbk")
    cut = full[: full.index("证书".encode("gbk")) + 1]
    decoded = decode_body(cut, None)
    assert decoded.evidence.chosen == "gb18030"
    assert decoded.evidence.replacement_count == 1 and decoded.text.endswith("颁发\ufffd")

    [record], _ = run_extract(write(tmp_path / "cut.html", cut))
    assert "error" not in record
    assert record["title"] == TITLE and record["published"] == "2024-06-12"
    assert record["encoding"]["chosen"] == "gb18030"
    assert record["body"].split("\n")[:2] == list(PARAGRAPHS[:2])  # not mojibake
    assert record["body"].endswith("颁发\ufffd") and record["body"].count("\ufffd") == 1


def test_a_page_declaring_utf8_in_gbk_bytes_is_read_as_gbk(tmp_path):
    page = article_html(meta='<meta charset="utf-8">').encode("gbk")
    [record], _ = run_extract(write(tmp_path / "liar.html", page))
    assert_is_the_article(record)
    assert record["encoding"]["meta_charset"] == "utf-8"
    assert record["encoding"]["chosen"] in ("gb18030", "gbk")
    assert record["encoding"]["replacement_count"] == 0


def test_an_xhtml_page_opening_with_an_xml_encoding_declaration_is_extracted(tmp_path):
    # lxml refuses a str that declares an encoding; old Chinese XHTML templates all do.
    page = '<?xml version="1.0" encoding="gb2312"?>\n' + article_html()
    [record], _ = run_extract(write(tmp_path / "xhtml.html", page.encode("gbk")))
    assert_is_the_article(record)


# -- size -----------------------------------------------------------------------------------


def huge_filler(target_bytes: int) -> str:
    """Navigation and a comment thread around the article: thousands of list items and a
    huge table, about ``target_bytes`` once GBK-encoded (two bytes a Chinese character)."""
    items: list[str] = []
    size = 0
    i = 0
    while size < target_bytes // 2:
        item = f"<li><a href='/news/{i}.html'>工会要闻第{i}期：职工之家建设经验交流</a></li>"
        items.append(item)
        size += len(item.encode("gbk"))
        i += 1
    rows: list[str] = []
    while size < target_bytes:
        row = (
            f"<tr><td><a href='/u/{i}'>网友{i}</a></td><td>支持工会为职工办实事，点赞！</td>"
            f"<td>2024-06-12 10:{i % 60:02d}</td></tr>"
        )
        rows.append(row)
        size += len(row.encode("gbk"))
        i += 1
    return (
        f"<div class='related'><ul>{''.join(items)}</ul></div>"
        f"<div class='comments'><table>{''.join(rows)}</table></div>"
    )


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_20_mb_page_is_extracted(tmp_path):
    page = article_html(meta='<meta charset="gbk">', filler=huge_filler(20_000_000))
    path = write(tmp_path / "huge.html", page.encode("gbk"))
    assert path.stat().st_size > 20_000_000
    [record], out = run_extract(path)
    assert out.returncode == 0
    assert_is_the_article(record)
    assert "网友" not in record["body"] and "工会要闻第" not in record["body"]


def test_a_page_larger_than_the_crawlers_download_maxsize_is_refused_unread(tmp_path):
    big = tmp_path / "too_big.html"
    with big.open("wb") as file:
        file.truncate(DOWNLOAD_MAXSIZE + 1)  # sparse: no 32 MB written
    good = write(tmp_path / "good.html", article_html().encode("gbk"))
    [refused, record], out = run_extract(big, good)
    assert out.returncode == 0
    assert refused["error"] == "page_too_large" and "body" not in refused
    assert_is_the_article(record)


# -- not a whole HTML page ------------------------------------------------------------------


def test_an_html_fragment_without_html_or_body_is_extracted(tmp_path):
    fragment = f"<h1>{TITLE}</h1>" + "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    [record], _ = run_extract(write(tmp_path / "fragment.html", fragment.encode("utf-8")))
    assert "error" not in record
    assert record["title"] == TITLE and record["subtitle"] is None
    assert record["body"].split("\n") == list(PARAGRAPHS)


def test_a_fragment_of_short_paragraphs_keeps_the_first_one_in_the_body(tmp_path):
    short = (
        "6月10日，某市总工会举办职工技能大赛。",
        "三百余名职工参加比赛，现场气氛热烈，比赛有序进行。",
    )
    fragment = f"<h1>{TITLE}</h1>" + "".join(f"<p>{p}</p>" for p in short)
    [record], _ = run_extract(write(tmp_path / "fragment.html", fragment.encode("utf-8")))
    assert record["subtitle"] is None and record["body"].split("\n") == list(short)


def test_plain_text_gives_headline_and_paragraphs(tmp_path):
    text = "\n\n".join([TITLE, *PARAGRAPHS]) + "\n"
    [record], _ = run_extract(write(tmp_path / "article.txt", text.encode("gbk")))
    assert "error" not in record
    assert record["title"] == TITLE
    assert record["body"].split("\n") == list(PARAGRAPHS)


def test_junk_before_html_is_survived(tmp_path):
    page = '<text id=1 title="x">\n' + article_html()  # the CleanEval wrapper
    [record], _ = run_extract(write(tmp_path / "cleaneval.html", page.encode("gbk")))
    assert_is_the_article(record)


def test_a_page_with_only_a_headline_gives_its_title_and_empty_body(tmp_path):
    page = f"<html><head><title>{TITLE}_工会新闻</title></head><body><h1>{TITLE}</h1></body></html>"
    [record], out = run_extract(write(tmp_path / "headline.html", page.encode("gbk")))
    assert out.returncode == 0
    assert record["title"] == TITLE and record["error"] == "empty_body"


def test_an_article_after_hundreds_of_unclosed_tags_is_extracted(tmp_path):
    page = article_html().replace("<h1>", "<div>栏目" * 300 + "<h1>", 1)
    [record], _ = run_extract(write(tmp_path / "deep.html", page.encode("gbk")))
    assert_is_the_article(record)


def test_iter_lines_walks_a_tree_deeper_than_pythons_recursion_limit():
    # Built by hand: the HTML parser stops at 256 levels, a tree can go deeper.
    root = el = lxml_html.fromstring("<div></div>")
    depth = sys.getrecursionlimit() + 500
    for i in range(depth):
        el = lxml_html.etree.SubElement(el, "div")
        el.text = f"第{i}层" if i % 500 == 0 else None
    el.text = "最深处"
    lines = [line.text for line in iter_lines(root)]
    assert lines == [*(f"第{i}层" for i in range(0, depth, 500)), "最深处"]


# -- the batch ------------------------------------------------------------------------------


def test_missing_files_and_directories_give_error_records_and_the_batch_goes_on(tmp_path):
    good = write(tmp_path / "good.html", article_html().encode("gbk"))
    folder = tmp_path / "folder"
    folder.mkdir()
    other = write(tmp_path / "other.html", article_html().encode("utf-8"))
    missing = tmp_path / "missing.html"
    empty = write(tmp_path / "empty.html", b"")
    png = write(tmp_path / "image.html", binary_pages()["png"])
    records, out = run_extract(good, folder, missing, empty, png, other)
    assert out.returncode == 0, out.stderr  # every record written, error records included
    assert [r["path"] for r in records] == list(
        map(str, (good, folder, missing, empty, png, other))
    )
    assert [r.get("error") for r in records] == [
        None,
        "not_a_regular_file",  # a folder is never opened (a FIFO would hang a read)
        "file_not_found",
        "empty_page",
        "binary_content",
        None,
    ]
    assert_is_the_article(records[0])
    assert_is_the_article(records[5])
