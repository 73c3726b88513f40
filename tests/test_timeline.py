"""Replica time: day 0 is today's replica; days 1..LAST_DAY edit, remove, restore, publish,
repost and mirror articles, with noise that must not count, and day_truth says what is true."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
from functools import cache
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import lxml.html
import pytest

from crawler.decode import decode_body
from crawler.extract import hant
from crawler.extract.article import extract_article
from crawler.replica.data import SITE_IDS, load_site
from crawler.replica.pages import (
    SOFT_404_MESSAGE,
    SOFT_404_MESSAGE_HANT,
    SiteRendering,
    build_site,
    render_site,
)
from crawler.replica.server import ReplicaServer
from crawler.replica.timeline import (
    CHANGE_CLASSES,
    LAST_DAY,
    day_truth,
    event_key,
    events,
    site_data_for_day,
    timeline_data,
)
from crawler.replica.truth import TruthArticle
from crawler.seeds import load_seeds

DAYS = range(1, LAST_DAY + 1)
SEEDS = load_seeds(Path(__file__).parent.parent / "seeds")
# sha256 of every page, status and header of each site as the replica served it before the
# timeline existed (tests/test_timeline.py: _digest). Day 0 must stay byte-identical; change a
# digest only when the day-0 replica is changed on purpose.
DAY0_DIGESTS = {
    "qhzgh": "e67417166e65d138e65b4a0c06497c47feb31f63dc1a6b57e3545100aa3f181a",
    "xazgh": "4dea14f512afc4635f06d59e592c9bd00c6dd23fef92888397db13a592fc8ae5",
    "xnzgh": "e57f198db6914b46fdd313270992f98a2f8f6de5cffadea75ba49a0fdcaf0a2e",
    # bcrb changed on purpose (e-paper backfill): editions 2021-04-22 and 2021-04-26 added, so
    # the 往期回顾 index and 2021-04-29's 前一期 links changed; every article page is as before.
    "bcrb": "61a864e1b44806a4441ddc2463809c84656fd89c529470a0ea87aa0abbad4ab7",
    "tibet3": "9fa2032f51393f438c0e98277d7d935b66a989ac4383facdb63898a1de6b8cfb",
}
_PUNCT_RE = re.compile(r"[\W_]+")


@cache
def built(site_id: str, day: int) -> SiteRendering:
    return build_site(site_id, day)


def _digest(r: SiteRendering) -> str:
    h = hashlib.sha256()
    for path in sorted(r.pages):
        p = r.pages[path]
        h.update(repr((path, p.status, p.content_type, p.headers)).encode())
        h.update(p.body)
    for prefix, p in r.prefix_routes:
        h.update(repr((prefix, p.status, p.content_type, p.headers)).encode())
        h.update(p.body)
    nf = r.not_found
    h.update(repr((nf.status, nf.content_type, nf.headers, r.server_header)).encode())
    h.update(nf.body)
    return h.hexdigest()


def grams(text: str, n: int = 5) -> set[str]:
    text = _PUNCT_RE.sub("", text)
    return {text[i : i + n] for i in range(len(text) - n + 1)}


def jaccard(a: str, b: str) -> float:
    x, y = grams(a), grams(b)
    return len(x & y) / len(x | y)


def hans_text(t: TruthArticle) -> str:
    """Title + body as the archive reads them (zh-Hans, artefacts out)."""
    title, body = hant.normalise_parts((t.title, "\n".join(t.body)))
    return title.hans + "\n" + body.hans


def extract(site_id: str, day: int, path: str):  # type: ignore[no-untyped-def]
    page = built(site_id, day).pages[path]
    decoded = decode_body(page.body, page.content_type)
    result = extract_article(decoded.text, "http://127.0.0.1" + path, SEEDS[site_id].extract)
    assert result.drop_reason is None, (site_id, day, path, result.drop_reason)
    return result.fields


def reachable(site_id: str, day: int) -> set[str]:
    """Paths a crawler following the seed's list and article links from / reaches."""
    seed, r = SEEDS[site_id], built(site_id, day)
    seen, queue = {"/"}, ["/"]
    while queue:
        path = queue.pop()
        page = r.lookup(path)
        if page.status != 200 or not page.content_type.startswith("text/html"):
            continue
        doc = lxml.html.fromstring(decode_body(page.body, page.content_type).text)
        for href in doc.xpath("//a/@href | //area/@href"):
            url = urljoin("http://replica" + path, href.strip())
            parts = urlsplit(url)
            if parts.netloc != "replica" or parts.query:
                continue
            if (
                seed.is_list(url) or seed.is_article(url) or parts.path in ("/", "/index.htm")
            ) and (parts.path not in seen):
                seen.add(parts.path)
                queue.append(parts.path)
    return seen


# -- day 0 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("site_id", SITE_IDS)
def test_day_0_renders_byte_identical_pages_through_the_timeline_and_the_old_path(
    site_id: str,
) -> None:
    assert _digest(build_site(site_id)) == DAY0_DIGESTS[site_id]
    assert _digest(render_site(site_data_for_day(site_id, 0))) == DAY0_DIGESTS[site_id]
    assert site_data_for_day(site_id, 0) == load_site(site_id)


def test_day_0_truth_is_the_replica_truth_with_one_new_version_per_page() -> None:
    truth = day_truth(0)
    assert not truth.reprints
    assert {p.versions for p in truth.pages.values()} == {("new",)}
    assert all(p.removal is None and p.article is not None for p in truth.pages.values())


# -- every day's pages extract to their truth ---------------------------------------------------


@pytest.mark.parametrize("day", DAYS)
def test_every_live_article_page_extracts_exactly_to_its_truth(day: int) -> None:
    for (site_id, path), state in day_truth(day).pages.items():
        if state.article is None:
            continue
        t, f = state.article, extract(site_id, day, path)
        got = (
            f.title,
            f.subtitle,
            f.kicker,
            str(f.published),
            f.published_time,
            f.source,
            f.author,
            tuple(f.body.split("\n")),
            f.captions,
        )
        want = (
            t.title,
            t.subtitle,
            t.kicker,
            t.published,
            t.published_time,
            t.source,
            t.author,
            t.body,
            t.captions,
        )
        assert got == want, (day, site_id, path)
        for noise in t.must_not_contain:
            assert noise not in f.body, (day, path, noise)


@pytest.mark.parametrize("day", DAYS)
def test_noise_strings_of_each_day_are_on_the_page(day: int) -> None:
    for (site_id, path), state in day_truth(day).pages.items():
        if state.article is None:
            continue
        page = built(site_id, day).pages[path]
        text = lxml.html.fromstring(decode_body(page.body, page.content_type).text).text_content()
        assert state.article.must_not_contain
        for noise in state.article.must_not_contain:
            assert noise in text, (day, path, noise)


# -- the planned events -----------------------------------------------------------------------


def test_the_timeline_plants_every_kind_of_event() -> None:
    kinds = [e["kind"] for e in events()]
    for kind in ("minor_edit", "substantive_edit", "retitle", "publish", "repost", "mirror"):
        assert kind in kinds
    removals = {e["removal"] for e in events() if e["kind"] == "remove"}
    assert removals == {"http_404", "http_410", "redirect_home", "soft_404"}
    assert len([k for k in kinds if k == "publish"]) >= 2
    assert len([k for k in kinds if k == "repost"]) >= 3
    assert max(e["day"] for e in events()) == LAST_DAY
    for day in DAYS:
        keys = [event_key(e) for e in events(day)]
        assert len(keys) == len(set(keys)), day


def _version_text(t: TruthArticle) -> tuple[str, tuple[str, ...], str | None]:
    return t.title, t.body, t.source


def test_change_classes_follow_the_text_changes_and_noise_adds_nothing() -> None:
    for day in DAYS:
        before, after = day_truth(day - 1).pages, day_truth(day).pages
        for key, now in after.items():
            assert set(now.versions) <= set(CHANGE_CLASSES)
            if key not in before:
                assert now.versions == ("new",), key
                continue
            added = now.versions[len(before[key].versions) :]
            assert now.versions[: len(before[key].versions)] == before[key].versions
            old = before[key]
            if old.article is None or now.article is None:
                want = (
                    ()
                    if old.removal and now.removal
                    else ("removed",)
                    if now.removal
                    else ("restored",)
                )
                assert added == want, (day, key)
                continue
            a, b = _version_text(old.article), _version_text(now.article)
            if a == b:
                assert added == (), (day, key)  # counters, footer, whitespace: nothing
            elif a[0] != b[0]:
                assert added == ("retitle",) and a[1:] == b[1:], (day, key)
            elif len(a[1]) != len(b[1]):
                assert added == ("substantive_edit",), (day, key)
                assert any(len(p) >= 40 for p in set(b[1]) - set(a[1]))
            else:
                assert added == ("minor_edit",), (day, key)
                (i,) = [i for i, (x, y) in enumerate(zip(a[1], b[1], strict=True)) if x != y]
                assert len("".join(a[1])) >= 200, (day, key)
                assert 1 <= _char_distance(a[1][i], b[1][i]) <= 3, (day, key)


def _char_distance(x: str, y: str) -> int:
    """Levenshtein distance (short edits in one paragraph)."""
    prev = list(range(len(y) + 1))
    for i, cx in enumerate(x, 1):
        cur = [i]
        for j, cy in enumerate(y, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (cx != cy)))
        prev = cur
    return prev[-1]


def test_one_page_is_restored_identical_and_one_restored_changed() -> None:
    restored = [k for k, p in day_truth(LAST_DAY).pages.items() if "restored" in p.versions]
    assert len(restored) >= 2
    same = changed = 0
    for key in restored:
        first = day_truth(0).pages[key].article
        last = day_truth(LAST_DAY).pages[key].article
        assert first is not None and last is not None
        if _version_text(first) == _version_text(last):
            same += 1
        else:
            changed += 1
    assert same and changed


def test_whitespace_footer_and_counters_change_every_day() -> None:
    for day in DAYS:
        for (site_id, path), state in day_truth(day).pages.items():
            old = built(site_id, day - 1).pages.get(path)
            if site_id in ("qhzgh", "xazgh", "xnzgh") and state.article and old:
                assert built(site_id, day).pages[path].body != old.body, (day, path)
    for site_id, path in timeline_data()["noise"]["whitespace"]:
        bodies = {built(site_id, day).pages[path].body for day in range(0, LAST_DAY + 1)}
        assert len(bodies) == LAST_DAY + 1
    assert b"2018-2024" in built("xazgh", 1).pages["/"].body
    assert b"2018-" not in built("xazgh", 0).pages["/"].body


# -- served statuses and list pages ---------------------------------------------------------------


def _get(origin: str, path: str) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(origin)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def test_server_serves_removals_and_restorations_as_the_days_advance() -> None:
    expect = {"http_404": 404, "http_410": 410, "redirect_home": 302, "soft_404": 200}
    with ReplicaServer(day=0) as replica:
        origins = dict(replica.origins)
        for day in range(0, LAST_DAY + 1):
            replica.set_day(day)
            assert replica.day == day and replica.origins == origins
            for (site_id, path), state in day_truth(day).pages.items():
                status, headers, body = _get(origins[site_id], path)
                if state.removal is None:
                    assert status == 200, (day, path)
                    continue
                assert status == expect[state.removal], (day, path)
                if state.removal == "redirect_home":
                    assert headers["Location"] == "/"
                if state.removal == "soft_404":
                    text = decode_body(body, headers["Content-Type"]).text
                    assert SOFT_404_MESSAGE in text or SOFT_404_MESSAGE_HANT in text
                    old = day_truth(0).pages[(site_id, path)].article
                    assert old is not None and old.body[0] not in text
    with ReplicaServer(sites=["xnzgh"], day=LAST_DAY) as replica:
        assert _get(replica.origins["xnzgh"], "/info/1021/3450.htm")[0] == 302


@pytest.mark.parametrize("day", range(0, LAST_DAY + 1))
def test_a_crawler_reaches_every_live_article_and_no_removed_one(day: int) -> None:
    truth = day_truth(day).pages
    for site_id in SITE_IDS:
        seen = reachable(site_id, day)
        live = {p for (s, p), st in truth.items() if s == site_id and st.removal is None}
        gone = {p for (s, p), st in truth.items() if s == site_id and st.removal}
        assert live <= seen, (day, site_id, live - seen)
        assert not gone & seen, (day, site_id)


def test_new_articles_top_their_site_list() -> None:
    for e in events():
        if e["kind"] in ("publish", "repost", "mirror") and e["site"] != "bcrb":
            site = site_data_for_day(e["site"], e["day"])
            assert site.newest_first()[0].path == e["article"]["path"], e


# -- reprints and lookalikes --------------------------------------------------------------------


def test_reprint_clusters_are_close_copies_and_nothing_else_is() -> None:
    truth = day_truth(LAST_DAY)
    clusters = truth.reprints
    assert max(len(c.members) for c in clusters) >= 3
    member_of = {m: c for c in clusters for m in c.members}
    live = {k: p.article for k, p in truth.pages.items() if p.article is not None}
    texts = {k: hans_text(a) for k, a in live.items()}
    for c in clusters:
        original = live[c.original]
        names = {load_site(c.original[0]).name, hant.normalise(load_site(c.original[0]).name).hans}
        for m in c.members - {c.original}:
            assert jaccard(texts[c.original], texts[m]) >= 0.8, m
            copy = live[m]
            assert copy.source is not None and hant.normalise(copy.source).hans in names, m
            assert copy.published > original.published
    keys = sorted(live)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            same_cluster = a in member_of and member_of[a] is member_of.get(b)
            if a[0] != b[0] and not same_cluster:
                assert jaccard(texts[a], texts[b]) < 0.25, (a, b)


def test_the_zh_hant_mirror_keeps_converter_artefacts_and_reads_back_close() -> None:
    (e,) = [e for e in events() if e["kind"] == "mirror"]
    mirror = day_truth(e["day"]).pages[event_key(e)].article
    original = day_truth(e["day"]).pages[tuple(e["of"])].article
    assert mirror is not None and original is not None
    body = "\n".join(mirror.body)
    assert "(" in body and "?" in body and mirror.source == "青海省總工會"
    normalised = hant.normalise(body)
    assert normalised.script == "hant" and normalised.lost_chars == len(e["lose"])
    assert jaccard(hans_text(original), hans_text(mirror)) >= 0.8


def test_two_golden_autumn_reports_share_a_topic_but_are_not_reprints() -> None:
    truth = day_truth(LAST_DAY)
    found = [p.article for p in truth.pages.values() if p.article and "金秋助学" in p.article.title]
    assert {a.site_id for a in found} == {"xazgh", "xnzgh"}
    assert jaccard(hans_text(found[0]), hans_text(found[1])) < 0.2
    assert not any({(a.site_id, a.path) for a in found} <= c.members for c in truth.reprints)


def test_edited_repost_drops_a_sentence_and_one_repost_closes_with_the_source() -> None:
    truth = day_truth(LAST_DAY).pages
    dropped = [e for e in events() if e.get("drop")]
    closing = [e for e in events() if e.get("closing")]
    assert dropped and closing
    for e in dropped:
        copy = truth[event_key(e)].article
        assert copy is not None and e["drop"] not in "\n".join(copy.body)
    for e in closing:
        copy = truth[event_key(e)].article
        assert copy is not None and copy.body[-1].endswith(e["closing"])


def test_day_truth_round_trips_through_json() -> None:
    for day in range(0, LAST_DAY + 1):
        data = day_truth(day).to_json()
        assert json.loads(json.dumps(data, ensure_ascii=False)) == data
        assert len(data["pages"]) == len(day_truth(day).pages)
