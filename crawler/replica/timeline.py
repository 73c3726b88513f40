"""Replica time: the replica sites on day 1, 2, 3 ..., for tests that crawl, advance, crawl again.

Day 0 is the replica as ``sites/<site_id>/articles.json`` has it. ``sites/timeline.json`` lists
what happens afterwards, cumulatively, at most one event per page and day:

* ``minor_edit`` (a few characters of one paragraph), ``substantive_edit`` (a paragraph added),
  ``retitle`` (only the title);
* ``remove`` (how: ``http_404``, ``http_410``, ``redirect_home``, ``soft_404``) and ``restore``
  (identical, or with an ``edit``: still the class "restored");
* ``publish`` (a new article; on bcrb with its new ``edition``), ``repost`` (an article of another
  site, in this site's layout, 来源 naming that site, optionally a sentence dropped or a closing
  ``(西宁市总工会)``), ``mirror`` (a zh-Hans article converted by OpenCC s2t, with the tibet3
  converter's artefacts: pinyin after some characters, characters lost as ``?``).

Besides the events, every day brings noise that must give an archive no new version: view
counters move, the xazgh footer prints the copyright years, two articles are laid out with
other whitespace (crawler.replica.pages.spacing).

:func:`day_truth` is what an archive must hold after crawling days 0..d once each: every
article page with its removal, its change classes and its extraction truth, and the clusters of
pages that are one article (reprints).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from crawler.replica.data import SITE_IDS, Article, Block, SiteData, load_site, parse_article
from crawler.replica.pages import REMOVALS
from crawler.replica.truth import TruthArticle, truth_of

LAST_DAY = 3
CHANGE_CLASSES = ("new", "minor_edit", "substantive_edit", "retitle", "removed", "restored")
# Characters after which the tibet3 converter prints their pinyin, as on the real mirror.
MIRROR_PINYIN = {
    "網": "wǎng",
    "動": "dòng",
    "個": "gè",
    "務": "wù",
    "實": "shí",
    "業": "yè",
    "進": "jìn",
    "區": "qū",
    "關": "guān",
}

Key = tuple[str, str]  # (site_id, path)
_COUNTER_RE = re.compile(r"(?:浏览|浏览次数|点击数)\s*[:：]\s*\d+")


@dataclass(frozen=True)
class PageState:
    site_id: str
    path: str
    removal: str | None  # None when live today; else one of crawler.replica.pages.REMOVALS
    versions: tuple[str, ...]  # change classes after crawling days 0..d once each, oldest first
    article: TruthArticle | None  # what the page shows today (None when removed)


@dataclass(frozen=True)
class ReprintCluster:
    members: frozenset[Key]  # the original included
    original: Key


@dataclass(frozen=True)
class DayTruth:
    day: int
    pages: dict[Key, PageState]  # every article page published on any day <= day
    reprints: tuple[ReprintCluster, ...]

    def to_json(self) -> dict[str, Any]:
        """Plain lists, strings and numbers: ``json.loads(json.dumps(x)) == x``."""
        return {
            "day": self.day,
            "pages": [
                {
                    "site_id": p.site_id,
                    "path": p.path,
                    "removal": p.removal,
                    "versions": list(p.versions),
                    "article": _plain(dataclasses.asdict(p.article)) if p.article else None,
                }
                for p in self.pages.values()
            ],
            "reprints": [
                {"members": sorted(list(m) for m in c.members), "original": list(c.original)}
                for c in self.reprints
            ],
        }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# -- the events -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    """One page's state on one day (the article is kept while the page is gone)."""

    article: Article
    removal: str | None
    versions: tuple[str, ...]


@dataclass(frozen=True)
class _Day:
    pages: dict[Key, _Page]  # insertion order: articles.json order, then by publication
    editions: dict[str, tuple[Mapping[str, Any], ...]]  # bcrb editions added by the timeline
    clusters: tuple[ReprintCluster, ...]


@functools.cache
def timeline_data() -> Mapping[str, Any]:
    """sites/timeline.json, parsed."""
    ref = resources.files("crawler.replica") / "sites" / "timeline.json"
    data: Mapping[str, Any] = json.loads(ref.read_text(encoding="utf-8"))
    return data


def events(day: int | None = None) -> list[Mapping[str, Any]]:
    """The events of one day (all of them without ``day``), in file order."""
    return [e for e in timeline_data()["events"] if day is None or e["day"] == day]


def event_key(event: Mapping[str, Any]) -> Key:
    path = event["path"] if "path" in event else event["article"]["path"]
    return (event["site"], path)


def _check_day(day: int) -> None:
    if not 0 <= day <= LAST_DAY:
        raise ValueError(f"the replica has days 0..{LAST_DAY}, not {day}")


@functools.cache
def _history() -> tuple[_Day, ...]:
    """Every day's state, day 0 first."""
    pages: dict[Key, _Page] = {
        (s, a.path): _Page(a, None, ("new",)) for s in SITE_IDS for a in load_site(s).articles
    }
    editions: dict[str, tuple[Mapping[str, Any], ...]] = {s: () for s in SITE_IDS}
    clusters: dict[Key, set[Key]] = {}
    days = [_Day(dict(pages), dict(editions), ())]
    for day in range(1, LAST_DAY + 1):
        touched: set[Key] = set()
        for event in events(day):
            key = event_key(event)
            if key in touched:
                raise ValueError(f"two events for {key} on day {day}")
            touched.add(key)
            _apply(event, key, pages, editions, clusters)
        frozen = tuple(
            ReprintCluster(frozenset({orig, *copies}), orig) for orig, copies in clusters.items()
        )
        days.append(_Day(dict(pages), dict(editions), frozen))
    return tuple(days)


def _apply(
    event: Mapping[str, Any],
    key: Key,
    pages: dict[Key, _Page],
    editions: dict[str, tuple[Mapping[str, Any], ...]],
    clusters: dict[Key, set[Key]],
) -> None:
    kind = event["kind"]
    if kind in ("publish", "repost", "mirror"):
        if key in pages:
            raise ValueError(f"{key} is published twice")
        if kind == "publish":
            article = _new_article(event["article"])
        else:
            original = tuple(event["of"])
            source = pages[original].article  # as the original reads that day
            article = _copy(source, original[0], event)
            clusters.setdefault(original, set()).add(key)
        if "edition" in event:
            editions[key[0]] = (*editions[key[0]], event["edition"])
        pages[key] = _Page(article, None, ("new",))
        return
    page = pages[key]
    if kind == "remove":
        if event["removal"] not in REMOVALS or page.removal:
            raise ValueError(f"bad removal of {key}: {event['removal']}")
        pages[key] = _Page(page.article, event["removal"], (*page.versions, "removed"))
        return
    if kind == "restore":
        if not page.removal:
            raise ValueError(f"{key} is restored but was never removed")
        edit = event.get("edit")
        article = _edit(page.article, edit) if edit else page.article
        pages[key] = _Page(article, None, (*page.versions, "restored"))
        return
    if page.removal:
        raise ValueError(f"{key} is edited while removed")
    if kind == "minor_edit":
        article = _edit(page.article, event)
    elif kind == "substantive_edit":
        article = _insert(page.article, event["paragraph"], event["text"])
    elif kind == "retitle":
        article = dataclasses.replace(page.article, title=event["title"])
    else:
        raise ValueError(f"unknown event kind {kind!r}")
    pages[key] = _Page(article, None, (*page.versions, kind))


def _body_index(article: Article, paragraph: int) -> int:
    """The block index of body paragraph ``paragraph`` (p and h blocks count)."""
    return [i for i, b in enumerate(article.blocks) if b.kind in ("p", "h")][paragraph]


def _edit(article: Article, edit: Mapping[str, Any]) -> Article:
    i = _body_index(article, edit["paragraph"])
    block = article.blocks[i]
    if block.text.count(edit["old"]) != 1:
        raise ValueError(f"{article.path}: {edit['old']!r} is not once in paragraph")
    changed = dataclasses.replace(block, text=block.text.replace(edit["old"], edit["new"]))
    return dataclasses.replace(article, blocks=_replaced(article.blocks, i, changed))


def _insert(article: Article, paragraph: int | None, text: str) -> Article:
    blocks = list(article.blocks)
    at = len(blocks) if paragraph is None else _body_index(article, paragraph)
    blocks.insert(at, Block("p", text))
    return dataclasses.replace(article, blocks=tuple(blocks))


def _replaced(blocks: Sequence[Block], i: int, block: Block) -> tuple[Block, ...]:
    return (*blocks[:i], block, *blocks[i + 1 :])


def _new_article(raw: Mapping[str, Any]) -> Article:
    full = {
        "seed": False,
        "subtitle": None,
        "kicker": None,
        "author": None,
        "byline": None,
        "must_not_contain": [],
        "blocks": [{"kind": "p", "text": t} for t in raw.get("paragraphs", ())],
        **{k: v for k, v in raw.items() if k != "paragraphs"},
    }
    return parse_article(full)


def _copy(original: Article, from_site: str, event: Mapping[str, Any]) -> Article:
    """A repost (or the zh-Hant mirror) of ``original``: its text without pictures, 来源 the
    site it came from, the rest (path, date, counters, layout extras) from the event."""
    name = load_site(from_site).name
    blocks = [b for b in original.blocks if b.kind in ("p", "h")]
    title = original.title
    if drop := event.get("drop"):
        (i,) = [i for i, b in enumerate(blocks) if drop in b.text]
        blocks[i] = dataclasses.replace(blocks[i], text=blocks[i].text.replace(drop, ""))
    if closing := event.get("closing"):
        i = max(i for i, b in enumerate(blocks) if b.kind == "p")
        blocks[i] = dataclasses.replace(blocks[i], text=blocks[i].text + closing)
    if event["kind"] == "mirror":
        lose = set(event.get("lose", ()))
        title = mirror_text(title, set())[0]
        count = 0
        for i, b in enumerate(blocks):
            text, count = mirror_text(b.text, lose, count)
            blocks[i] = dataclasses.replace(b, text=text)
        name = _s2t(name)
    raw = dict(event["article"])
    return _new_article(
        {
            "title": title,
            "subtitle": original.subtitle,
            "kicker": original.kicker,
            "source": name,
            "source_label": name,
            **raw,
            "blocks": [{"kind": b.kind, "text": b.text} for b in blocks],
        }
    )


def mirror_text(text: str, lose: set[int], count: int = 0) -> tuple[str, int]:
    """``text`` as the tibet3 converter prints it: OpenCC s2t, then the pinyin of every
    MIRROR_PINYIN character after it (``網(wǎng)``); the ``count``-th such character (counted
    over an article) is lost when ``count`` is in ``lose``, taking its opening bracket along
    (``?wù)``). Returns the text and the count after it."""
    out = []
    for char in _s2t(text):
        pinyin = MIRROR_PINYIN.get(char)
        if pinyin is None:
            out.append(char)
            continue
        out.append(f"?{pinyin})" if count in lose else f"{char}({pinyin})")
        count += 1
    return "".join(out), count


def _s2t(text: str) -> str:
    return _s2t_converter().convert(text)


@functools.cache
def _s2t_converter() -> Any:
    import opencc

    return opencc.OpenCC("s2t")


# -- what is served and what is true on a day ----------------------------------------------------


def _with_noise(site_id: str, article: Article, day: int) -> Article:
    noise = timeline_data()["noise"]
    changes: dict[str, Any] = {}
    if article.views is not None and day:
        changes["views"] = article.views + day * (3 + int(article.id) % noise["views_step"])
        # The counter as articles.json quotes it ("浏览: 90") is no longer on the page.
        changes["must_not_contain"] = tuple(
            s for s in article.must_not_contain if not _COUNTER_RE.fullmatch(s)
        )
    if day and [site_id, article.path] in noise["whitespace"]:
        changes["extra"] = {**article.extra, "ws": (day - 1) % 3 + 1}
    return dataclasses.replace(article, **changes) if changes else article


@functools.cache
def site_data_for_day(site_id: str, day: int) -> SiteData:
    """One site's content on ``day``: live articles with that day's text and noise; in
    ``meta``: ``removed`` ({path: how}), the added bcrb ``editions``, ``footer_years``."""
    _check_day(day)
    base = load_site(site_id)
    state = _history()[day]
    articles = tuple(
        _with_noise(site_id, page.article, day)
        for (s, _), page in state.pages.items()
        if s == site_id and page.removal is None
    )
    meta = dict(base.meta)
    if state.editions[site_id]:
        meta["editions"] = [*base.meta["editions"], *state.editions[site_id]]
    removed = {p: page.removal for (s, p), page in state.pages.items() if s == site_id}
    removed = {p: how for p, how in removed.items() if how}
    if removed:
        meta["removed"] = removed
    footer = timeline_data()["noise"]["footer_years"]
    if day and site_id == footer["site"]:
        meta["footer_years"] = f"{footer['since']}-{footer['day0_year'] + day}"
    return SiteData(
        site_id=base.site_id,
        name=base.name,
        articles=articles,
        must_not_contain=base.must_not_contain,
        dead_links=base.dead_links,
        meta=meta,
    )


@functools.cache
def day_truth(day: int) -> DayTruth:
    """What an archive must hold after crawling days 0..``day`` once each."""
    _check_day(day)
    state = _history()[day]
    sites = {s: site_data_for_day(s, day) for s in SITE_IDS}
    live = {(s, a.path): a for s, site in sites.items() for a in site.articles}
    pages = {
        key: PageState(
            site_id=key[0],
            path=key[1],
            removal=page.removal,
            versions=page.versions,
            article=truth_of(sites[key[0]], live[key]) if page.removal is None else None,
        )
        for key, page in state.pages.items()
    }
    return DayTruth(day, pages, state.clusters)
