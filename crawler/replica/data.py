"""The content of the replica sites, read from ``sites/<site_id>/articles.json``.

One JSON file per site holds everything a page is rendered from *and* what an extractor must
find on it: the site's meta (name, editions, dead links, noise printed on every page) and each
article as an ordered list of blocks. A block is a paragraph (``p``), an in-body heading
(``h``, still body text) or an image (``img``) with an optional photo caption and an optional
file-name label that the CMS prints under the picture (noise, never a caption).

articles.json: ``{"site": {...}, "articles": [...]}``. ``site`` has ``site_id``, ``name``,
``must_not_contain`` (noise on every article page), ``dead_links`` (listed, never served) and
layout-specific keys (bcrb ``editions``, qhzgh ``sidebar_teaser``). An article has ``id``,
``path``, ``seed``, ``title``, ``subtitle``, ``kicker``, ``published``, ``published_time``,
``source`` (truth) and ``source_label`` (what the page prints; null = nothing), ``author``
(truth) and ``byline`` (as printed), ``views``, ``blocks``, ``must_not_contain`` and optional
``edition``/``page`` (bcrb), ``related``/``editor`` (tibet3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

SITE_IDS: tuple[str, ...] = ("qhzgh", "xazgh", "xnzgh", "bcrb", "tibet3")


@dataclass(frozen=True)
class Block:
    kind: str  # "p" | "h" | "img"
    text: str = ""  # p / h
    src: str = ""  # img: URL path of the picture
    caption: str | None = None  # img: photo caption (kept apart from the body)
    label: str | None = None  # img: file name printed under the picture (noise)
    repeat: int = 1  # img: the CMS printed the picture (and its label) this many times


@dataclass(frozen=True)
class Article:
    id: str
    path: str
    seed: bool
    title: str
    subtitle: str | None
    kicker: str | None
    published: str  # YYYY-MM-DD
    published_time: str | None  # shown on the page when not None
    source: str | None  # what the archive must store as 来源
    source_label: str | None  # what the page prints after 来源 (None: no 来源 label)
    author: str | None
    byline: str | None  # the byline as printed, e.g. "●于国林 刘建军"
    views: int | None
    blocks: tuple[Block, ...]
    must_not_contain: tuple[str, ...]
    extra: Mapping[str, Any] = field(default_factory=dict)  # edition, page, related, editor

    @property
    def body(self) -> tuple[str, ...]:
        return tuple(b.text for b in self.blocks if b.kind in ("p", "h"))

    @property
    def captions(self) -> tuple[str, ...]:
        return tuple(b.caption for b in self.blocks if b.kind == "img" and b.caption)

    @property
    def images(self) -> tuple[Block, ...]:
        return tuple(b for b in self.blocks if b.kind == "img")


@dataclass(frozen=True)
class SiteData:
    site_id: str
    name: str
    articles: tuple[Article, ...]
    must_not_contain: tuple[str, ...]
    dead_links: tuple[Mapping[str, Any], ...]
    meta: Mapping[str, Any]

    def newest_first(self) -> list[Article]:
        return sorted(
            self.articles, key=lambda a: (a.published, a.published_time or "", a.id), reverse=True
        )

    def list_pages(self, per_page: int) -> list[list[tuple[str, str, str]]]:
        """The 栏目 list, newest first, cut into pages of (path, title, date); the dead links
        go on the last page, where a crawler meets them after every live article."""
        items = [(a.path, a.title, a.published) for a in self.newest_first()]
        pages = [items[i : i + per_page] for i in range(0, len(items), per_page)]
        pages[-1] = pages[-1] + [(d["path"], d["title"], d["published"]) for d in self.dead_links]
        return pages

    def neighbours(self, article: Article) -> tuple[Article | None, Article | None]:
        """(上一篇, 下一篇): the next older and the next newer article of the site."""
        ordered = list(reversed(self.newest_first()))
        i = ordered.index(article)
        return (ordered[i - 1] if i > 0 else None, ordered[i + 1] if i + 1 < len(ordered) else None)


_EXTRA_KEYS = ("channel", "edition", "page", "related", "editor")
# Per-day noise the timeline sets: "ws", the whitespace variant of the paragraphs
# (crawler.replica.pages.spacing).


def parse_article(raw: Mapping[str, Any]) -> Article:
    """One article as articles.json (or the timeline's new articles) writes it."""
    blocks = tuple(
        Block(
            kind=b["kind"],
            text=b.get("text", ""),
            src=b.get("src", ""),
            caption=b.get("caption"),
            label=b.get("label"),
            repeat=b.get("repeat", 1),
        )
        for b in raw["blocks"]
    )
    return Article(
        id=raw["id"],
        path=raw["path"],
        seed=bool(raw["seed"]),
        title=raw["title"],
        subtitle=raw["subtitle"],
        kicker=raw["kicker"],
        published=raw["published"],
        published_time=raw["published_time"],
        source=raw["source"],
        source_label=raw["source_label"],
        author=raw["author"],
        byline=raw["byline"],
        views=raw["views"],
        blocks=blocks,
        must_not_contain=tuple(raw["must_not_contain"]),
        extra={k: raw[k] for k in _EXTRA_KEYS if k in raw},
    )


@cache
def load_site(site_id: str) -> SiteData:
    """Read one site's articles.json (shipped as package data)."""
    if site_id not in SITE_IDS:
        raise KeyError(f"unknown replica site {site_id!r}; known: {', '.join(SITE_IDS)}")
    ref = resources.files("crawler.replica") / "sites" / site_id / "articles.json"
    raw = json.loads(ref.read_text(encoding="utf-8"))
    site = raw["site"]
    return SiteData(
        site_id=site["site_id"],
        name=site["name"],
        articles=tuple(parse_article(a) for a in raw["articles"]),
        must_not_contain=tuple(site.get("must_not_contain", ())),
        dead_links=tuple(site.get("dead_links", ())),
        meta=site,
    )
