"""The replica sites: reachable articles, honest ground truth, charset traps, robots, 404s."""

from __future__ import annotations

import socket
import threading
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass, field
from functools import cache
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.html
import pytest

from crawler.replica import SITE_IDS, ReplicaError, ReplicaServer, all_truth, load_truth
from crawler.replica.truth import TruthArticle, editions

# The codec each site's bytes are really in (what a good decoder must end up using).
REAL_CODEC = {"qhzgh": "gb18030", "xazgh": "gbk", "xnzgh": "gbk", "bcrb": "gbk",
              "tibet3": "utf-8"}
_ASSETS = (".jpg", ".gif", ".png", ".css", ".js")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def fetch(url: str, method: str = "GET") -> Response:
    request = urllib.request.Request(url, method=method,
                                     headers={"User-Agent": "replica-test/1.0"})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return Response(r.status, dict(r.headers.items()), r.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, dict(err.headers.items()), err.read())


def page_text(site_id: str, body: bytes) -> str:
    text = body.decode(REAL_CODEC[site_id], errors="replace")
    return lxml.html.fromstring(text).text_content()


@dataclass
class Walk:
    """What following same-site links from the home page (obeying robots.txt) reached."""

    status: dict[str, int] = field(default_factory=dict)  # path -> HTTP status
    disallowed_links: set[str] = field(default_factory=set)
    external_links: set[str] = field(default_factory=set)
    linked_from: dict[str, str] = field(default_factory=dict)  # path -> first page linking it


@cache
def walk(origin: str, site_id: str) -> Walk:
    robots = RobotFileParser(origin + "/robots.txt")
    robots.read()
    result, queue = Walk(), deque(["/"])
    result.linked_from["/"] = ""
    while queue:
        path = queue.popleft()
        r = fetch(origin + path)
        result.status[path] = r.status
        if r.status != 200:
            continue
        doc = lxml.html.fromstring(r.body.decode(REAL_CODEC[site_id], errors="replace"))
        for href in doc.xpath("//a/@href | //area/@href"):
            url = urljoin(origin + path, href.strip())
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https"):
                continue  # javascript:, mailto:
            if f"{parts.scheme}://{parts.netloc}" != origin:
                result.external_links.add(url)
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if not robots.can_fetch("replica-test", url):
                result.disallowed_links.add(target)
            elif target not in result.linked_from and not target.endswith(_ASSETS):
                result.linked_from[target] = path
                queue.append(target)
    return result


@pytest.fixture(params=SITE_IDS)
def site_id(request: pytest.FixtureRequest) -> str:
    return request.param


def seed_of(site_id: str) -> TruthArticle:
    (seed,) = [t for t in load_truth(site_id) if t.is_seed]
    return seed


# -- reachability and the truth ----------------------------------------------------------------

def test_each_site_serves_at_least_eight_truth_articles_reachable_from_its_home_page(
        replica: ReplicaServer, site_id: str) -> None:
    truth = load_truth(site_id)
    reached = walk(replica.origins[site_id], site_id).status
    assert len(truth) >= 8
    assert {t.path: reached.get(t.path) for t in truth} == {t.path: 200 for t in truth}


def test_all_truth_articles_differ_from_each_other_in_title_and_text() -> None:
    truth = all_truth()
    assert len({t.title for t in truth}) == len(truth)
    assert len({"\n".join(t.body) for t in truth}) == len(truth)
    assert {t.site_id for t in truth if t.is_seed} == set(SITE_IDS)


def test_article_pages_show_the_title_body_and_captions_of_their_truth(
        replica: ReplicaServer, site_id: str) -> None:
    for t in load_truth(site_id):
        r = fetch(replica.origins[site_id] + t.path)
        text = page_text(site_id, r.body)
        assert r.status == 200
        for part in (t.title, t.kicker, t.subtitle, *t.body, *t.captions):
            assert part is None or part in text, (t.path, part)


def test_every_noise_string_of_the_truth_is_on_its_page_and_never_in_its_body(
        replica: ReplicaServer, site_id: str) -> None:
    for t in load_truth(site_id):
        text = page_text(site_id, fetch(replica.origins[site_id] + t.path).body)
        body = "\n".join(t.body)
        assert t.must_not_contain
        for noise in t.must_not_contain:
            assert noise in text, (t.path, noise)
            assert noise not in body, (t.path, noise)


def test_truth_dates_are_plausible_and_editions_match_the_epaper_urls() -> None:
    for t in all_truth():
        assert "2015-01-01" <= t.published <= "2024-12-31", t
        if t.site_id == "bcrb":
            y, m, d = t.published.split("-")
            assert t.path.startswith(f"/html/{y}-{m}/{d}/content_")
    # Four editions of several 版面, not all on consecutive days (tests/test_epaper.py
    # backfills ranges that take some and leave others); each article on one 版面 of its own.
    dated = editions("bcrb")
    assert {t.published for t in load_truth("bcrb")} == set(dated) == {
        "2021-04-22", "2021-04-26", "2021-04-29", "2021-04-30"}
    assert all(len(pages) >= 2 for pages in dated.values())
    for t in load_truth("bcrb"):
        assert t.edition == t.published and t.page in dated[t.edition], t.path
    assert {(t.edition, t.page) for t in load_truth("bcrb")} == {
        (day, no) for day, pages in dated.items() for no in pages}


def test_qhzgh_seed_takes_its_source_from_the_trailing_attribution(replica: ReplicaServer) -> None:
    seed = seed_of("qhzgh")
    assert seed.body[-1].endswith("(西宁市总工会)")
    assert seed.source == "西宁市总工会"
    assert (seed.published, seed.published_time) == ("2024-01-18", "10:32")
    text = page_text("qhzgh", fetch(replica.origins["qhzgh"] + seed.path).body)
    assert "来源" not in text
    assert "青海省总工会简介" in text and "青ICP备17001415号" in text


def test_xazgh_seed_keeps_subheadings_in_body_and_file_names_out_of_captions() -> None:
    seed = seed_of("xazgh")
    assert seed.source == "劳动者报" and seed.captions == ()
    assert "搭建平台 创新载体" in seed.body and "思想政治引领凝聚新动能" in seed.body
    assert "2-3 通版.jpg" in seed.must_not_contain
    assert not any(".jpg" in c for t in all_truth() for c in t.captions)


def test_xnzgh_seed_has_kicker_subtitle_captions_and_its_repeated_paragraph() -> None:
    seed = seed_of("xnzgh")
    assert seed.kicker == "在现代化新青海建设中挑大梁勇争先"
    assert seed.title == ("团结引领全市广大职工为奋力推动西宁在现代化新青海建设中挑大梁勇争先"
                          "而共同奋斗")
    assert seed.subtitle == "——写在西宁市工会第十八次代表大会召开之际"
    assert {"展望未来五年", "回望过去五年"} <= set(seed.body)
    assert len(seed.captions) == 8 and not set(seed.captions) & set(seed.body)
    assert len(seed.body) > len(set(seed.body))  # published twice, kept twice


def test_bcrb_seed_has_byline_author_and_the_paper_as_source() -> None:
    seed = seed_of("bcrb")
    assert seed.path == "/html/2021-04/30/content_47305.htm"
    assert (seed.kicker, seed.title, seed.subtitle) == (
        "忠诚党的事业 竭诚服务职工", "推动新时代工会工作不断前进", "——2020年以来全市工会工作综述")
    assert seed.author == "于国林 刘建军" and seed.source == "白城日报"
    assert "●于国林 刘建军" in seed.must_not_contain


def test_tibet3_seed_keeps_converter_pinyin_and_lost_characters() -> None:
    seed = seed_of("tibet3")
    body = "\n".join(seed.body)
    assert "網(wǎng)" in body and "勞動(dòng)" in body and "?" in body
    assert "[詳情]" in seed.must_not_contain


# -- bytes and headers: the charset scenario of each site ---------------------------------------

def test_qhzgh_declares_gb2312_in_header_and_meta_and_its_bytes_are_gb18030(
        replica: ReplicaServer) -> None:
    r = fetch(replica.origins["qhzgh"] + seed_of("qhzgh").path)
    assert r.headers["Content-Type"] == "text/html; charset=GB2312"
    assert b'content="text/html; charset=gb2312"' in r.body
    assert "©CopyRight".encode("gb18030") in r.body  # © is outside GB2312 itself
    r.body.decode("gb18030")


def test_xazgh_sends_gbk_bytes_with_no_charset_anywhere(replica: ReplicaServer) -> None:
    r = fetch(replica.origins["xazgh"] + seed_of("xazgh").path)
    assert r.headers["Content-Type"] == "text/html"
    assert b"charset" not in r.body.lower()
    assert "来源:劳动者报".encode("gbk") in r.body
    r.body.decode("gbk")
    with pytest.raises(UnicodeDecodeError):
        r.body.decode("utf-8")


def test_xnzgh_header_wrongly_says_iso_8859_1_while_meta_says_gbk(
        replica: ReplicaServer) -> None:
    r = fetch(replica.origins["xnzgh"] + seed_of("xnzgh").path)
    assert r.headers["Content-Type"] == "text/html; charset=iso-8859-1"
    assert b'<meta charset="gbk">' in r.body
    r.body.decode("gbk")


def test_bcrb_meta_wrongly_says_utf8_and_one_broken_byte_pair_sits_outside_the_article(
        replica: ReplicaServer) -> None:
    r = fetch(replica.origins["bcrb"] + seed_of("bcrb").path)
    assert r.headers["Content-Type"] == "text/html"
    assert b"charset=utf-8" in r.body
    with pytest.raises(UnicodeDecodeError):
        r.body.decode("utf-8")
    text = r.body.decode("gb18030", errors="replace")
    assert text.count("\ufffd") == 1
    doc = lxml.html.fromstring(text)
    assert "\ufffd" in doc.xpath("string(//div[@class='search'])")
    assert "\ufffd" not in doc.xpath("string(//div[@id='ozoom'])")


def test_tibet3_is_utf8_declared_in_header_and_meta(replica: ReplicaServer) -> None:
    r = fetch(replica.origins["tibet3"] + seed_of("tibet3").path)
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<meta charset="utf-8">' in r.body
    assert "網(wǎng)" in r.body.decode("utf-8")


def test_responses_carry_content_length_and_head_sends_no_body(replica: ReplicaServer) -> None:
    url = replica.origins["xazgh"] + seed_of("xazgh").path
    got = fetch(url)
    assert int(got.headers["Content-Length"]) == len(got.body)
    assert "Last-Modified" in got.headers
    head = fetch(url, method="HEAD")
    assert head.status == 200 and head.body == b""
    assert head.headers["Content-Length"] == got.headers["Content-Length"]


# -- robots.txt, dead links, external links ----------------------------------------------------

def test_robots_txt_disallows_search_and_admin_and_pages_link_there(
        replica: ReplicaServer, site_id: str) -> None:
    r = fetch(replica.origins[site_id] + "/robots.txt")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert {"Disallow: /search", "Disallow: /admin/"} <= set(r.body.decode().splitlines())
    links = walk(replica.origins[site_id], site_id).disallowed_links
    assert any(p.startswith("/search") for p in links)
    assert any(p.startswith("/admin/") for p in links)
    assert fetch(replica.origins[site_id] + "/search?q=x").status == 200  # served, but off-limits


def test_unknown_paths_get_the_custom_404_page(replica: ReplicaServer, site_id: str) -> None:
    r = fetch(replica.origins[site_id] + "/no/such/page.html")
    assert r.status == 404
    assert "404" in page_text(site_id, r.body)
    assert r.headers["Content-Type"].startswith("text/html")


def test_one_dead_article_link_on_a_list_page_is_the_only_404_reached(
        replica: ReplicaServer, site_id: str) -> None:
    result = walk(replica.origins[site_id], site_id)
    dead = [p for p, status in result.status.items() if status != 200]
    assert len(dead) == 1 and all(s == 404 for s in result.status.values() if s != 200)
    assert result.linked_from[dead[0]] != "/"  # linked from a list page, not the home page


def test_pages_link_to_external_hosts_that_a_crawler_must_not_follow(
        replica: ReplicaServer, site_id: str) -> None:
    hosts = {urlsplit(u).hostname for u in walk(replica.origins[site_id], site_id).external_links}
    assert hosts and "127.0.0.1" not in hosts
    if site_id == "bcrb":
        assert "www.bcxww.com" in hosts
    if site_id == "qhzgh":
        assert "beian.miit.gov.cn" in hosts


# -- the server itself ------------------------------------------------------------------------

def test_request_log_records_site_method_path_status_and_user_agent(
        replica: ReplicaServer) -> None:
    fetch(replica.origins["tibet3"] + "/robots.txt?probe=log")
    entry = [e for e in replica.request_log if e.path == "/robots.txt?probe=log"][-1]
    assert entry == ("tibet3", "GET", "/robots.txt?probe=log", 200, "replica-test/1.0")


def test_a_port_already_in_use_raises_replica_error_naming_the_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = ReplicaServer(sites=["qhzgh", "bcrb"], ports={"bcrb": port})
        with pytest.raises(ReplicaError) as err:
            server.start()
    message = str(err.value)
    assert str(port) in message and "\n" not in message
    assert server.origins == {}  # qhzgh, started first, was stopped again


def test_a_server_for_chosen_sites_serves_only_those_and_rejects_unknown_ids() -> None:
    with ReplicaServer(sites=["bcrb"]) as server:
        assert list(server.origins) == ["bcrb"]
        assert fetch(server.url("bcrb", "/index.htm")).status == 200
    with pytest.raises(ReplicaError):
        ReplicaServer(sites=["nosuchsite"])


def test_serve_forever_returns_once_the_server_is_stopped() -> None:
    server = ReplicaServer(sites=["tibet3"])
    runner = threading.Thread(target=server.serve_forever, daemon=True)
    runner.start()
    while not server.origins:
        threading.Event().wait(0.01)
    assert fetch(server.url("tibet3", "/robots.txt")).status == 200
    server.stop()
    runner.join(timeout=5)
    assert not runner.is_alive()
