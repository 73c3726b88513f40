"""Ground truth of the replica sites: what an extractor must get from each article page.

Built from the same ``articles.json`` the pages are rendered from, so the truth cannot drift
from what is served. Body paragraphs are compared after stripping the whitespace around them
(the pages indent with ``&nbsp;`` or U+3000); everything inside a paragraph is as published,
pinyin artefacts (``網(wǎng)``), lost characters (``?``) and repeated paragraphs included.
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.replica.data import SITE_IDS, Article, SiteData, load_site
from crawler.replica.pages import renderer


@dataclass(frozen=True)
class TruthArticle:
    site_id: str
    path: str  # URL path on the replica, e.g. "/html/2021-04/30/content_47305.htm"
    title: str
    subtitle: str | None
    kicker: str | None
    published: str  # "YYYY-MM-DD"
    published_time: str | None  # "HH:MM" or "HH:MM:SS" when the page shows a time
    source: str | None  # 来源 as the archive must store it
    author: str | None  # byline / 作者 without markers (● etc.)
    body: tuple[str, ...]  # paragraphs in order, headings included
    captions: tuple[str, ...]  # photo captions (never image file names)
    must_not_contain: tuple[str, ...]  # noise on that page that must not end up in the body
    is_seed: bool = False  # the page built around one of the five seed documents
    edition: str | None = None  # e-paper (bcrb): the "YYYY-MM-DD" of the edition printing it
    page: int | None = None  # e-paper (bcrb): its 版面 number in that edition


def _noise(site: SiteData, article: Article) -> tuple[str, ...]:
    """Noise printed on the page, minus any string the body legitimately contains."""
    candidates = [
        *site.must_not_contain,
        *article.must_not_contain,
        *renderer(site.site_id).page_noise(site, article),
        *article.captions,
        *(b.label for b in article.images if b.label),
    ]
    text = "\n".join(article.body)
    seen: dict[str, None] = {}
    for s in candidates:
        if s and s.strip() and s not in text:
            seen.setdefault(s, None)
    return tuple(seen)


def truth_of(site: SiteData, a: Article) -> TruthArticle:
    """The truth of one article page of ``site`` (any day's SiteData: the noise is that day's)."""
    return TruthArticle(
        site_id=site.site_id,
        path=a.path,
        title=a.title,
        subtitle=a.subtitle,
        kicker=a.kicker,
        published=a.published,
        published_time=a.published_time,
        source=a.source,
        author=a.author,
        body=a.body,
        captions=a.captions,
        must_not_contain=_noise(site, a),
        is_seed=a.seed,
        edition=a.extra.get("edition"),
        page=a.extra.get("page"),
    )


def load_truth(site_id: str) -> list[TruthArticle]:
    """Every article page of one replica site, in articles.json order."""
    site = load_site(site_id)
    return [truth_of(site, a) for a in site.articles]


def all_truth() -> list[TruthArticle]:
    return [t for site_id in SITE_IDS for t in load_truth(site_id)]


def editions(site_id: str) -> dict[str, dict[int, str]]:
    """An e-paper's editions on day 0: ``{"YYYY-MM-DD": {版面 number: 版面 name}}``."""
    meta = load_site(site_id).meta.get("editions", ())
    return {e["date"]: {p["no"]: p["name"] for p in e["pages"]} for e in meta}


def edition_truth(site_id: str, first: str, last: str) -> list[TruthArticle]:
    """The articles of the editions dated ``first`` to ``last`` (YYYY-MM-DD, both included):
    what a backfill of that range must archive, every 版面 of every edition."""
    return [t for t in load_truth(site_id) if t.edition and first <= t.edition <= last]
