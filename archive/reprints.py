"""Reprint clusters: the same article on several pages (reposts, mirrors, edited reposts).

When a page gets a new text, ``index_page`` (called by the store in the same transaction):

1. computes the MinHash signature of its zh-Hans text (``archive.similarity``) and looks its
   band keys up in ``lsh_band``: pages sharing a key are candidates;
2. verifies every candidate by the exact Jaccard similarity of the two texts' shingles;
3. replaces the page's band keys with the new ones;
4. puts the page and every verified match into one cluster: an existing one (the lowest id,
   merging the others into it) or a new one; then names the cluster's likely original.

The index lives in the archive database, so it survives restarts and every crawl process
shares it. A page stays in its cluster when a later edit moves its text away: a cluster records
that the pages carried one article, which stays true.

The likely original: a member whose site's name is the 来源 of another member (the reposting
site says where it took the text from); failing that, the earliest published member, then the
first seen.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from archive.models import ArticleText, ArticleVersion, LshBand, Page, ReprintCluster, Site
from archive.similarity import fingerprint_text, is_reprint, shingles, signature


def index_page(session: Session, page: Page, title_hans: str, body_hans: str) -> int | None:
    """Index the page's new text and cluster it with its reprints; the cluster id or None."""
    own = shingles(fingerprint_text(title_hans, body_hans))
    keys = signature(own).band_keys()
    candidates = set(
        session.scalars(
            select(LshBand.page_id)
            .where(LshBand.key.in_(keys), LshBand.page_id != page.id)
            .distinct()
        )
    )
    # A key is only a candidate in its own band; checking the pair keeps bands apart.
    if candidates:
        rows = session.execute(
            select(LshBand.page_id, LshBand.band, LshBand.key).where(
                LshBand.page_id.in_(candidates), LshBand.key.in_(keys)
            )
        )
        candidates = {pid for pid, band, key in rows if band < len(keys) and keys[band] == key}
    matches = [pid for pid in sorted(candidates) if is_reprint(own, _page_shingles(session, pid))]

    session.execute(delete(LshBand).where(LshBand.page_id == page.id))
    session.execute(
        insert(LshBand), [{"page_id": page.id, "band": b, "key": k} for b, k in enumerate(keys)]
    )
    if not matches:
        return page.cluster_id
    return _join(session, page, matches)


def _page_shingles(session: Session, page_id: int) -> set[int]:
    """Shingles of a page's current text (its newest version's)."""
    row = session.execute(
        select(ArticleVersion.title, ArticleVersion.title_hans, ArticleText.body, ArticleText.body_hans)
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .where(ArticleVersion.page_id == page_id)
        .order_by(ArticleVersion.version_no.desc())
        .limit(1)
    ).one()
    title, title_hans, body, body_hans = row
    return shingles(fingerprint_text(title_hans or title, body_hans or body))


def _join(session: Session, page: Page, matches: list[int]) -> int:
    members = [page.id, *matches]
    existing = sorted(
        set(
            session.scalars(
                select(Page.cluster_id).where(Page.id.in_(members), Page.cluster_id.is_not(None))
            )
        )
    )
    now = _now()
    if existing:
        cluster_id, merged = existing[0], existing[1:]
    else:
        cluster = ReprintCluster(size=0, created_at=now, updated_at=now)
        session.add(cluster)
        session.flush()
        cluster_id, merged = cluster.id, []
    if merged:
        session.execute(
            update(Page).where(Page.cluster_id.in_(merged)).values(cluster_id=cluster_id)
        )
    session.execute(update(Page).where(Page.id.in_(members)).values(cluster_id=cluster_id))
    if merged:
        session.execute(delete(ReprintCluster).where(ReprintCluster.id.in_(merged)))
    session.expire(page, ["cluster_id"])
    _refresh(session, cluster_id, now)
    return cluster_id


def _refresh(session: Session, cluster_id: int, now: dt.datetime) -> None:
    """Recount the cluster and name its likely original."""
    current = (
        select(ArticleVersion.page_id, func.max(ArticleVersion.version_no).label("no"))
        .group_by(ArticleVersion.page_id)
        .subquery()
    )
    rows = session.execute(
        select(Page.id, Page.site_id, Site.name, ArticleVersion.source, ArticleVersion.published, Page.first_seen_at)
        .join(Site, Site.id == Page.site_id)
        .join(current, current.c.page_id == Page.id)
        .join(
            ArticleVersion,
            (ArticleVersion.page_id == Page.id) & (ArticleVersion.version_no == current.c.no),
        )
        .where(Page.cluster_id == cluster_id)
    ).all()
    cluster = session.get_one(ReprintCluster, cluster_id)
    cluster.size = len(rows)
    cluster.original_page_id = likely_original(
        [
            Member(page_id, site_id, name, source, published, first_seen)
            for page_id, site_id, name, source, published, first_seen in rows
        ]
    )
    cluster.updated_at = now


class Member:
    """What naming the original needs to know of one page of a cluster."""

    __slots__ = ("first_seen_at", "page_id", "published", "site_id", "site_name", "source")

    def __init__(
        self,
        page_id: int,
        site_id: str,
        site_name: str,
        source: str | None,
        published: dt.date | None,
        first_seen_at: dt.datetime,
    ) -> None:
        self.page_id, self.site_id, self.site_name = page_id, site_id, site_name
        self.source, self.published, self.first_seen_at = source, published, first_seen_at


def likely_original(members: list[Member]) -> int | None:
    """The page most likely first published (see the module docstring)."""
    if not members:
        return None

    def order(m: Member) -> tuple[dt.date, dt.datetime, int]:
        return (m.published or dt.date.max, m.first_seen_at, m.page_id)

    named = {
        m.site_id
        for m in members
        for other in members
        if other.site_id != m.site_id and other.source and _names(other.source, m.site_name)
    }
    pool = [m for m in members if m.site_id in named] or members
    return min(pool, key=order).page_id


def _names(source: str, site_name: str) -> bool:
    """Does a 来源 name this site? Compared in zh-Hans (a zh-Hant mirror writes 總工會)."""
    a, b = _hans(source), _hans(site_name)
    return bool(b) and (a == b or b in a)


@cache
def _hans(text: str) -> str:
    return "".join(_t2s().convert(text).split())


@cache
def _t2s():  # type: ignore[no-untyped-def]
    import opencc  # loaded when a cluster first has a 来源 to compare

    return opencc.OpenCC("t2s")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
