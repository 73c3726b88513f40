"""The reprint index through the store: clusters merged by a bridging repost, keys replaced by an
edit, and the round trips a new article costs on PostgreSQL. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from archive import reprints
from archive.models import LshBand, MinHashSignature, Page, ReprintCluster
from archive.queries import reprint_clusters
from archive.similarity import BANDS
from archive.store import Archive
from crawler.replica.data import SITE_IDS, load_site
from tests.fixtures_db import T0, make_fetch, make_fields

# Eight unrelated paragraphs of the replica's seed text, 70-110 characters each.
PARAS = [
    p
    for s in SITE_IDS
    for a in load_site(s).articles
    for p in a.body
    if 70 <= len(p) <= 110 and not p.startswith("（")
][:8]
SITES = ("qhzgh", "xazgh", "xnzgh", "bcrb", "tibet3")


def body(first: int, last: int) -> str:
    """Paragraphs first..last (1-based, inclusive) of PARAS."""
    return "\n".join(PARAS[first - 1 : last])


@pytest.fixture
def runs(archive: Archive) -> dict[str, int]:
    for n, site in enumerate(SITES):
        archive.ensure_site(site, f"站点{n}", f"http://{site}.example/")
    return {site: archive.start_run(site) for site in SITES}


def store(archive: Archive, runs: dict[str, int], site: str, n: int, text: str, day: int = 0):
    at = T0 + dt.timedelta(days=day)
    url = f"http://{site}.example/a/{n}.html"
    capture = archive.record_capture(runs[site], site, make_fetch(url, at=at))
    archive.record_article(capture, make_fields(title=f"标题{n}", body=text, source=None))
    return url


def members(archive: Archive) -> list[set[str]]:
    return [{m.url for m in c.members} for c in reprint_clusters(archive.engine)]


def test_a_repost_close_to_two_clusters_merges_them_into_one(archive, runs):
    # X = 1..6 and X' = 3..8 share 4 of 8 paragraphs (Jaccard ~0.5: not reprints of each
    # other); Z = 2..7 shares 5 of 7 with each (~0.7): a reprint of both.
    a = store(archive, runs, "qhzgh", 1, body(1, 6))
    a2 = store(archive, runs, "xazgh", 2, body(1, 6), day=1)
    b = store(archive, runs, "xnzgh", 3, body(3, 8), day=2)
    b2 = store(archive, runs, "bcrb", 4, body(3, 8), day=3)
    assert sorted(map(sorted, members(archive))) == sorted([sorted({a, a2}), sorted({b, b2})])
    z = store(archive, runs, "tibet3", 5, body(2, 7), day=4)
    [cluster] = reprint_clusters(archive.engine)
    assert {m.url for m in cluster.members} == {a, a2, b, b2, z}
    assert cluster.original.url == a  # the first seen of the earliest published
    with archive.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ReprintCluster)) == 1
        assert conn.scalar(select(ReprintCluster.size)) == 5


def test_an_edit_replaces_the_pages_keys_and_a_repost_of_the_new_text_finds_it(archive, runs):
    a = store(archive, runs, "qhzgh", 1, body(1, 4))
    store(archive, runs, "qhzgh", 1, body(5, 8), day=1)  # the same page, another text
    with archive.engine.connect() as conn:
        page_id = conn.scalar(select(Page.id).where(Page.canonical_url == a))
        assert conn.scalar(select(func.count()).where(LshBand.page_id == page_id)) == BANDS
        assert conn.scalar(select(func.count()).where(MinHashSignature.page_id == page_id)) == 1
    old = store(archive, runs, "xazgh", 2, body(1, 4), day=2)
    assert members(archive) == []  # the old text is no longer the page's
    new = store(archive, runs, "xnzgh", 3, body(5, 8), day=3)
    assert members(archive) == [{a, new}]
    assert old not in members(archive)[0]


@contextmanager
def counted_statements(engine, monkeypatch, module, name: str) -> Iterator[list[int]]:
    """The statements each call of ``module.name`` executes on ``engine``, a count per call."""
    counts: list[int] = []
    inside = False

    def count(*_: object) -> None:
        if inside:
            counts[-1] += 1

    real = getattr(module, name)

    def counted(*args, **kwargs):  # the real function, its statements counted
        nonlocal inside
        counts.append(0)
        inside = True
        try:
            return real(*args, **kwargs)
        finally:
            inside = False

    monkeypatch.setattr(module, name, counted)
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_indexing_costs_one_round_trip_for_a_fresh_article_and_three_for_a_reprint(
    archive, runs, database_url, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("round trips are PostgreSQL's cost; SQLite's statements run in the process")
    with counted_statements(archive.engine, monkeypatch, reprints, "index_page") as counts:
        store(archive, runs, "qhzgh", 1, body(1, 6))  # fresh
        store(archive, runs, "xazgh", 2, body(1, 6), day=1)  # a reprint, new cluster
        store(archive, runs, "xnzgh", 3, body(1, 5), day=2)  # a reprint, joins it
    assert counts == [1, 3, 3]
    assert [len(m) for m in members(archive)] == [3]
