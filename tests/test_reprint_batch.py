"""New articles stored in one batch are indexed for reprints together (archive.reprint_batch) and
end up in the clusters that storing them one by one gives; on PostgreSQL a batch of fresh
articles costs one statement, however many pages it holds. SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from archive import store_batch
from archive.models import ReprintCluster
from archive.queries import reprint_clusters
from archive.similarity import fingerprint_text, shingles, signature
from archive.store import Archive, PageWrite
from tests.fixtures_db import T0, make_fetch, make_fields
from tests.test_reprints import PARAS, SITES, body, counted_statements, members, store
from tests.test_reprints import runs as runs  # the fixture, used by name


def batch(archive: Archive, runs: dict[str, int], pages: list[tuple[str, int, str]], day: int):
    """Store ``pages`` (site, n, text) through the crawl's batched path, in one batch."""
    writes = []
    for i, (site, n, text) in enumerate(pages):
        at = T0 + dt.timedelta(days=day, seconds=i)
        fetch = make_fetch(f"http://{site}.example/a/{n}.html", at=at)
        where = archive.write_warc(runs[site], site, fetch)
        fields = make_fields(title=f"标题{n}", body=text, source=None)
        writes.append(PageWrite(runs[site], site, fetch, where, fields=fields))
    return archive.store_pages(writes)


def share_a_key(*texts: str) -> bool:
    keys = [set(signature(shingles(fingerprint_text("", t))).band_keys()) for t in texts]
    return bool(set.intersection(*keys))


def sizes(archive: Archive) -> list[int]:
    with archive.engine.connect() as conn:
        return sorted(conn.scalars(select(ReprintCluster.size)))


def chain(archive: Archive, runs: dict[str, int], put) -> None:
    """A cluster held together by a chain: 1-5, 2-6, 3-7, 4-8 (each a reprint of the next,
    the ends far apart); then two new reprints of its two ends, and a fresh article."""
    for n, first in enumerate(range(1, 5)):
        store(archive, runs, SITES[n], n, body(first, first + 4), day=n)
    put([("tibet3", 10, body(1, 5)), ("tibet3", 11, body(4, 8)), ("tibet3", 12, "另一篇。")])


def test_a_batch_clusters_as_storing_page_by_page_does(runs, archive, tmp_path) -> None:
    # The two new reprints share no band key, so the batch is indexed together; they join one
    # cluster through different members, so the second must see what the first changed.
    assert not share_a_key(body(1, 5), body(4, 8))
    chain(archive, runs, lambda pages: batch(archive, runs, pages, day=9))

    other = Archive.open(f"sqlite:///{tmp_path / 'one-by-one.sqlite3'}", tmp_path / "warc")
    try:
        for n, site in enumerate(SITES):
            other.ensure_site(site, f"站点{n}", f"http://{site}.example/")
        other_runs = {site: other.start_run(site) for site in SITES}
        chain(
            other,
            other_runs,
            lambda pages: [store(other, other_runs, s, n, t, day=9) for s, n, t in pages],
        )
        assert members(archive) == members(other)
        assert sizes(archive) == sizes(other) == [6]
    finally:
        other.close()
    [cluster] = reprint_clusters(archive.engine)
    assert len(cluster.members) == 6


def test_pages_of_one_batch_that_are_reprints_of_each_other_are_clustered(runs, archive):
    # Two copies of one article (sharing band keys: the second is indexed a round after the
    # first) and two short fresh notices (indexed together with the first copy).
    pages = [("qhzgh", 1, body(1, 6)), ("xazgh", 2, body(1, 6))]
    pages += [("xnzgh", 3, "第三篇短文。"), ("bcrb", 4, "第四篇短文，另有内容。")]
    assert not share_a_key(pages[2][2], pages[3][2])
    batch(archive, runs, pages, day=0)
    assert members(archive) == [{"http://qhzgh.example/a/1.html", "http://xazgh.example/a/2.html"}]
    assert sizes(archive) == [2]


def test_a_batch_of_fresh_articles_is_one_statement_on_postgresql(
    runs, archive, database_url, monkeypatch
):
    if not database_url.startswith("postgresql"):
        pytest.skip("round trips are PostgreSQL's cost; SQLite's statements run in the process")
    store(archive, runs, "qhzgh", 1, body(1, 6))
    fresh = [(SITES[n], 20 + n, PARAS[n] + PARAS[7 - n]) for n in range(3)]
    assert not share_a_key(*(text for _, _, text in fresh))
    with counted_statements(archive.engine, monkeypatch, store_batch, "index_new_pages") as counts:
        batch(archive, runs, fresh, day=1)
        batch(archive, runs, [("xazgh", 30, body(1, 6)), ("xnzgh", 31, body(7, 8))], day=2)
    # fresh: the lookup and store; with a reprint: + texts and members, + the cluster write
    assert counts == [1, 3]
    with archive.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(ReprintCluster)) == 1


def test_reprints_within_a_batch_are_indexed_in_rounds_not_page_by_page(
    runs, archive, database_url, monkeypatch
):
    # Three articles and, later in the same batch, a copy of each (as when sites repost the
    # same release the same night): the copies make one more round, not three more.
    originals = [body(1, 2), body(3, 4), body(5, 6)]
    for n, text in enumerate(originals):
        assert not any(share_a_key(text, other) for other in originals[n + 1 :])
    pages = [(SITES[n], n, text) for n, text in enumerate(originals)]
    pages += [(SITES[(n + 3) % 5], 10 + n, text) for n, text in enumerate(originals)]
    with counted_statements(archive.engine, monkeypatch, store_batch, "index_new_pages") as counts:
        batch(archive, runs, pages, day=0)
    urls = [f"http://{site}.example/a/{n}.html" for site, n, _ in pages]
    assert sorted(map(sorted, members(archive))) == sorted(
        sorted({urls[n], urls[n + 3]}) for n in range(3)
    )
    if database_url.startswith("postgresql"):
        # round 1: the lookup and store; round 2: the same, the texts, a cluster write per copy
        assert counts == [1 + 2 + 3]
