"""The replica world of benchmarks/crawl_world.py: the five replica sites with N articles each.

Every article is synthetic but built from the replica's seed text
(crawler/replica/sites/*/articles.json): each body sentence is 2-4 clauses (cut at ，；：) of
different seed sentences, so no two articles share a sentence by chance, as real articles
don't; titles splice the head of one seed title to the tail of another and are all distinct.
Dates spread over three years, the newest last; the sites' own renderers
(crawler/replica/render_*.py through ``pages.render_site``) turn them into pages with their
real layout, lists and pagination, so the seeds' patterns and the extractor meet what they
meet on the replica. tibet3 runs its text through the mirror's converter
(``timeline.mirror_text``: OpenCC s2t, pinyin after some characters, now and then a lost one);
bcrb gets editions of 2-3 版面 with 1-3 articles each.

:func:`change_world` then does what a day does to the sites: view counters move, a few recent
articles are edited, retitled or taken down (404/410), new ones are published (bcrb: a new
edition), and on two sites an article about a year old is edited or removed as well (a probe of
how the incremental crawl treats old pages). It returns the changed world and the list of
changes, the truth the second crawl is scored against.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crawler.replica.data import SITE_IDS, Article, Block, SiteData, load_site
from crawler.replica.timeline import mirror_text

END = dt.date(2025, 6, 30)  # the newest article of the first crawl (fixed: reproducible)
SPAN_DAYS = 3 * 365
RECENT = 4  # changes to "recent" articles pick among each site's newest RECENT articles
_SENTENCE = re.compile(r"[^。！？]+[。！？]?")
_CLAUSE = re.compile(r"[^，；：,;:。！？]+[，；：,;:]?")
_FIRST_ID = {"qhzgh": 20001, "xazgh": 60001, "xnzgh": 40001, "bcrb": 80001, "tibet3": 7000001}
_SOURCES = {
    "qhzgh": (None, "青海省总工会", "青海日报", "西宁晚报", "海东市总工会"),
    "xazgh": ("劳动者报", "西安市总工会", "西安日报"),
    "xnzgh": ("西宁市总工会", "西宁晚报", "西海都市报"),
    "bcrb": (None,),
    "tibet3": ("中國藏族網通", "青海日報"),
}
_NAMES = ("于国林", "刘建军", "王晓东", "李静", "赵明", "马丽", "韩青")
_EDITORS = ("索南", "卓瑪", "才讓", "拉毛")
_PAGE_NAMES = ("要闻", "综合新闻", "工会园地", "社会民生", "经济新闻")


@dataclass(frozen=True)
class Change:
    """One thing that happened to the world between the two crawls."""

    site_id: str
    path: str
    kind: str  # "edit", "retitle", "removed", "new"
    age: str  # "recent" (among the site's newest articles), "old" (about a year) or "new"
    age_days: int  # days between the article's date and the site's newest one before the change
    detail: str = ""  # edit: "typo" or "paragraph"; removal: "http_404"/"http_410"; a title

    @property
    def label(self) -> str:
        return f"{self.kind} ({self.age})" if self.age == "old" else self.kind


# --- text ------------------------------------------------------------------------------------


class TextPool:
    """Clauses and titles of the zh-Hans replica sites (tibet3 is zh-Hant: converted later)."""

    def __init__(self) -> None:
        clauses: dict[str, None] = {}
        titles: dict[str, None] = {}
        for site_id in ("qhzgh", "xazgh", "xnzgh", "bcrb"):
            for article in load_site(site_id).articles:
                titles.setdefault(article.title, None)
                for paragraph in article.body:
                    for sentence in _SENTENCE.findall(paragraph):
                        for clause in _CLAUSE.findall(sentence):
                            clause = clause.strip()
                            if len(clause) >= 5 and _gbk_safe(clause):
                                clauses.setdefault(clause, None)
        self.clauses = list(clauses)
        self.titles = [t for t in titles if _gbk_safe(t)]

    def sentence(self, rng: random.Random) -> str:
        text = "".join(rng.sample(self.clauses, rng.randint(2, 4)))
        return (text[:-1] if text[-1] in "，；：,;:" else text) + "。"

    def paragraph(self, rng: random.Random) -> str:
        return "".join(self.sentence(rng) for _ in range(rng.randint(1, 3)))

    def phrase(self, rng: random.Random, longest: int = 16) -> str:
        """A short clause without its punctuation (a heading, kicker or caption)."""
        while True:
            text = rng.choice(self.clauses).rstrip("，；：,;:")
            if 4 <= len(text) <= longest:
                return text

    def title(self, rng: random.Random, taken: set[str]) -> str:
        """The head of one seed title and the tail of another; never one already taken."""
        while True:
            a, b = rng.sample(self.titles, 2)
            head = a[: rng.randint(4, max(4, len(a) // 2 + 2))]
            tail = b[rng.randint(len(b) // 3, max(len(b) // 3, len(b) - 5)) :]
            title = (head + tail)[:34]
            if len(title) >= 8 and title not in taken:
                taken.add(title)
                return title


def _gbk_safe(text: str) -> bool:
    """Three of the sites serve GBK (encoded strictly): keep text every codec can carry."""
    try:
        text.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


# --- the world -----------------------------------------------------------------------------


@dataclass
class World:
    """Each site's content (what ``pages.render_site`` renders) and how it was made."""

    sites: dict[str, SiteData]
    pool: TextPool
    seed: int
    next_id: dict[str, int]
    taken_titles: set[str]


def build_world(per_site: int, seed: int = 1) -> World:
    pool = TextPool()
    taken: set[str] = set()
    sites = {}
    next_id = {}
    for site_id in SITE_IDS:
        rng = random.Random(f"{seed}/{site_id}")
        days = sorted(END - dt.timedelta(days=rng.randrange(SPAN_DAYS)) for _ in range(per_site))
        days[-1] = END
        ids = iter(range(_FIRST_ID[site_id], _FIRST_ID[site_id] + 10 * per_site))
        if site_id == "bcrb":
            articles, editions = _bcrb_articles(pool, rng, per_site, ids, taken)
            meta: dict[str, Any] = {"editions": editions}
        else:
            articles = [_article(site_id, pool, rng, day, next(ids), taken) for day in days]
            meta = {}
        if site_id == "tibet3":
            articles = _with_related(articles, rng)
        base = load_site(site_id)
        sites[site_id] = SiteData(
            site_id=site_id,
            name=base.name,
            articles=tuple(articles),
            must_not_contain=(),
            dead_links=(),
            meta={**base.meta, **meta, "dead_links": []},
        )
        next_id[site_id] = next(ids)
    return World(sites, pool, seed, next_id, taken)


def _path(site_id: str, day: dt.date, article_id: int) -> str:
    if site_id == "qhzgh":
        return f"/html/gzdt/{day:%Y%m%d}/{article_id}.html"
    if site_id == "xazgh":
        return f"/xwzx/ghdt/{day:%Y%m}/t{day:%Y%m%d}_{article_id}.html"
    if site_id == "xnzgh":
        return f"/info/1021/{article_id}.htm"
    if site_id == "bcrb":
        return f"/html/{day:%Y-%m}/{day:%d}/content_{article_id}.htm"
    return f"/news/zangqu/{day:%Y-%m}/{day:%d}/content_{article_id}.htm"


def _article(
    site_id: str,
    pool: TextPool,
    rng: random.Random,
    day: dt.date,
    article_id: int,
    taken: set[str],
    extra: Mapping[str, Any] | None = None,
) -> Article:
    blocks = [Block("p", pool.paragraph(rng)) for _ in range(rng.randint(4, 9))]
    if site_id in ("xazgh", "xnzgh") and rng.random() < 0.2:
        blocks.insert(rng.randint(1, len(blocks) - 1), Block("h", pool.phrase(rng)))
    if rng.random() < 0.25:
        caption = "图为" + pool.phrase(rng, 24) if rng.random() < 0.8 else None
        blocks.insert(1, Block("img", src=f"/uploads/{day:%Y%m}/{article_id}.jpg", caption=caption))
    title = pool.title(rng, taken)
    label = rng.choice(_SOURCES[site_id])
    kicker = subtitle = byline = author = None
    if site_id in ("xnzgh", "bcrb") and rng.random() < 0.25:
        kicker = pool.phrase(rng, 14)
    if site_id == "xnzgh" and rng.random() < 0.2:
        subtitle = "——" + pool.phrase(rng, 20)
    if site_id == "bcrb" and rng.random() < 0.5:
        author = rng.choice(_NAMES)
        byline = f"●本报记者 {author}"
    time_of_day = f"{rng.randint(7, 20):02d}:{rng.randint(0, 59):02d}"
    published_time: str | None = {
        "qhzgh": time_of_day,
        "xazgh": None,
        "xnzgh": time_of_day,
        "bcrb": None,
        "tibet3": f"{time_of_day}:00",
    }[site_id]
    if site_id == "tibet3":
        lose = {rng.randrange(20)} if rng.random() < 0.1 else set()
        title = mirror_text(title, set())[0]
        count = 0
        converted = []
        for b in blocks:
            text, count = mirror_text(b.text, lose, count) if b.text else (b.text, count)
            caption = mirror_text(b.caption, set())[0] if b.caption else b.caption
            converted.append(dataclasses.replace(b, text=text, caption=caption))
        blocks = converted
    return Article(
        id=str(article_id),
        path=_path(site_id, day, article_id),
        seed=False,
        title=title,
        subtitle=subtitle,
        kicker=kicker,
        published=day.isoformat(),
        published_time=published_time,
        # What the archive should find: the label printed, bcrb's seed default, else nothing.
        source=label or ("白城日报" if site_id == "bcrb" else None),
        source_label=label,
        author=author,
        byline=byline,
        views=None if site_id in ("bcrb", "tibet3") else rng.randint(40, 5000),
        blocks=tuple(blocks),
        must_not_contain=(),
        extra={
            **({"editor": rng.choice(_EDITORS)} if site_id == "tibet3" else {}),
            **(extra or {}),
        },
    )


def _bcrb_articles(
    pool: TextPool,
    rng: random.Random,
    wanted: int,
    ids: Any,
    taken: set[str],
) -> tuple[list[Article], list[dict[str, Any]]]:
    """The e-paper: editions of 2-3 版面 with 1-3 articles each (an article's date is its
    edition's), about 5 days apart so they span the same years as the other sites, the newest
    on END. Planned newest first, numbered oldest first (Founder ids grow with time)."""
    step = max(1, SPAN_DAYS * 5 // max(wanted, 1))
    plan: list[tuple[dt.date, list[int]]] = []  # (date, articles on each 版面)
    day, planned = END, 0
    while planned < wanted:
        counts = []
        for _ in range(rng.randint(2, 3)):
            count = min(rng.randint(1, 3), wanted - planned)
            if count > 0:
                counts.append(count)
                planned += count
        plan.append((day, counts))
        day -= dt.timedelta(days=rng.randint(1, 2 * step - 1))
    articles: list[Article] = []
    editions: list[dict[str, Any]] = []
    for day, counts in reversed(plan):
        pages = []
        for no, count in enumerate(counts, start=1):
            pages.append({"no": no, "name": _PAGE_NAMES[(no - 1 + day.day) % len(_PAGE_NAMES)]})
            for _ in range(count):
                extra = {"edition": day.isoformat(), "page": no}
                articles.append(_article("bcrb", pool, rng, day, next(ids), taken, extra))
        editions.append({"date": day.isoformat(), "pages": pages})
    return articles, editions


def _with_related(articles: list[Article], rng: random.Random) -> list[Article]:
    """tibet3 prints 5 相關新聞 teasers under each article (others of the site)."""
    ids = [a.id for a in articles]
    out = []
    for a in articles:
        related = [i for i in rng.sample(ids, 6) if i != a.id][:5]
        out.append(dataclasses.replace(a, extra={**a.extra, "related": related}))
    return out


# --- between the crawls --------------------------------------------------------------------

# What happens to each site: (kind, which article, how). "recent", n: the site's n-th newest
# article; "old": the next closest to a year before the newest; an edit is a typo fix or a
# paragraph added; "new", n: n articles published.
PLAN: dict[str, tuple[tuple[str, str, Any], ...]] = {
    "qhzgh": (
        ("edit", "recent", (0, "typo")),
        ("removed", "recent", (1, "http_404")),
        ("edit", "old", (None, "paragraph")),
        ("new", "new", 2),
    ),
    "xazgh": (
        ("edit", "recent", (0, "paragraph")),
        ("retitle", "recent", (1, None)),
        ("new", "new", 1),
    ),
    "xnzgh": (
        ("edit", "recent", (0, "typo")),
        ("removed", "recent", (2, "http_410")),
        ("new", "new", 1),
    ),
    "bcrb": (
        ("edit", "recent", (0, "paragraph")),
        ("removed", "recent", (1, "http_404")),
        ("new", "new", 3),
    ),
    "tibet3": (
        ("edit", "recent", (0, "typo")),
        ("retitle", "recent", (1, None)),
        ("removed", "recent", (2, "http_404")),
        ("edit", "old", (None, "paragraph")),
        ("removed", "old", (None, "http_410")),
        ("new", "new", 2),
    ),
}


def change_world(world: World) -> tuple[dict[str, SiteData], list[Change]]:
    """The sites a day later (see the module docstring) and what changed."""
    changed: dict[str, SiteData] = {}
    changes: list[Change] = []
    for site_id, site in world.sites.items():
        rng = random.Random(f"{world.seed}/change/{site_id}")
        by_path = {a.path: _bump_views(a, rng) for a in site.articles}
        newest = site.newest_first()
        top = dt.date.fromisoformat(newest[0].published)
        year_ago = top - dt.timedelta(days=365)
        olds = iter(
            sorted(
                newest[RECENT:], key=lambda a: abs(dt.date.fromisoformat(a.published) - year_ago)
            )
        )
        removed: dict[str, str] = {}
        meta = dict(site.meta)
        hant = site_id == "tibet3"
        used: set[str] = set()
        for kind, age, how in PLAN[site_id]:
            if kind == "new":
                fresh, meta = _publish(world, site, meta, how, top, rng)
                for a in fresh:
                    by_path[a.path] = a
                    changes.append(Change(site_id, a.path, "new", "new", 0, a.title))
                continue
            index, manner = how
            target = next(olds) if age == "old" else newest[index]
            if target.path in used:
                raise ValueError(f"two changes to {site_id} {target.path}")
            used.add(target.path)
            age_days = (top - dt.date.fromisoformat(target.published)).days
            detail = ""
            if kind == "edit":
                big = manner == "paragraph"
                by_path[target.path] = _edit(by_path[target.path], world.pool, rng, big, hant)
                detail = manner
            elif kind == "retitle":
                title = world.pool.title(rng, world.taken_titles)
                detail = mirror_text(title, set())[0] if hant else title
                by_path[target.path] = dataclasses.replace(by_path[target.path], title=detail)
            else:
                detail = manner
                removed[target.path] = detail
                del by_path[target.path]
            changes.append(Change(site_id, target.path, kind, age, age_days, detail))
        if removed:
            meta["removed"] = removed
        articles = list(by_path.values())
        if hant:  # 相關新聞 lists only what is still there
            live = {a.id for a in articles}
            articles = [
                dataclasses.replace(
                    a, extra={**a.extra, "related": [i for i in a.extra["related"] if i in live]}
                )
                for a in articles
            ]
        changed[site_id] = dataclasses.replace(site, articles=tuple(articles), meta=meta)
    return changed, changes


def _bump_views(article: Article, rng: random.Random) -> Article:
    """Noise: a view counter moves every day (the sites' ETag leaves it out)."""
    if article.views is None:
        return article
    return dataclasses.replace(article, views=article.views + rng.randint(1, 40))


def _edit(article: Article, pool: TextPool, rng: random.Random, big: bool, hant: bool) -> Article:
    """A typo fix (two characters of the first paragraph) or, with ``big``, a paragraph added
    after the second one."""
    blocks = list(article.blocks)
    paragraphs = [i for i, b in enumerate(blocks) if b.kind == "p"]
    if big:
        text = pool.paragraph(rng)
        text = mirror_text(text, set())[0] if hant else text
        blocks.insert(paragraphs[min(1, len(paragraphs) - 1)] + 1, Block("p", text))
    else:
        i = paragraphs[0]
        text = blocks[i].text
        at = len(text) // 2
        fix = "有關" if hant else "有关"
        fix = fix if text[at : at + 2] != fix else "相應"[: len(fix)]
        blocks[i] = dataclasses.replace(blocks[i], text=text[:at] + fix + text[at + 2 :])
    return dataclasses.replace(article, blocks=tuple(blocks))


def _publish(
    world: World,
    site: SiteData,
    meta: dict[str, Any],
    count: int,
    top: dt.date,
    rng: random.Random,
) -> tuple[list[Article], dict[str, Any]]:
    """``count`` articles dated the day after the newest (bcrb: a new edition of them)."""
    site_id = site.site_id
    day = top + dt.timedelta(days=1)
    fresh = []
    pages: list[dict[str, Any]] = []
    for k in range(count):
        extra: dict[str, Any] = {}
        if site_id == "bcrb":
            no = 1 + k // 2  # two articles on 版面 1, the rest on 版面 2
            if not pages or pages[-1]["no"] != no:
                pages.append({"no": no, "name": _PAGE_NAMES[no - 1]})
            extra = {"edition": day.isoformat(), "page": no}
        if site_id == "tibet3":
            extra = {"related": [a.id for a in site.newest_first()[:5]]}
        article_id = world.next_id[site_id]
        world.next_id[site_id] += 1
        fresh.append(_article(site_id, world.pool, rng, day, article_id, world.taken_titles, extra))
    if site_id == "bcrb":
        meta = {**meta, "editions": [*meta["editions"], {"date": day.isoformat(), "pages": pages}]}
    return fresh, meta
