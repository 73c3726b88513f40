"""What benchmarks/crawl_world.py reads after each crawl: the world server's request log and
the archive database, and how the second crawl is scored against the changes made.

Kept apart from the runner so the runner reads as the steps of the benchmark. Only stable
archive columns are read (page, article_version, capture, run), through SQLAlchemy Core.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.engine import Engine
from world_data import Change
from world_server import TimedRequest

from archive.models import ArticleVersion, Capture, Page, Run
from crawler.seeds import Seed

# What each kind of change must leave in the archive: a version of one of these classes made
# by the second crawl.
EXPECTED_CLASSES = {
    "edit": {"minor_edit", "substantive_edit"},
    "retitle": {"retitle"},
    "removed": {"removed"},
    "new": {"new"},
}
Key = tuple[str, str]  # (site_id, URL path)


def classify(seeds: Mapping[str, Seed], requests: Iterable[TimedRequest]) -> dict[str, Any]:
    """Responses of one crawl by site and kind (article, list, other) and article status."""
    per_site: dict[str, Counter[str]] = defaultdict(Counter)
    articles: dict[Key, int] = {}
    times = []
    for r in requests:
        seed = seeds[r.site_id]
        url = seed.origin + r.path
        kind = "article" if seed.is_article(url) else "list" if seed.is_list(url) else "other"
        per_site[r.site_id][kind] += 1
        per_site[r.site_id]["responses"] += 1
        if kind == "article":
            per_site[r.site_id][f"article_{r.status}"] += 1
            articles[(r.site_id, urlsplit(r.path).path)] = r.status
        times.append(r.at)
    total: Counter[str] = Counter()
    for counts in per_site.values():
        total.update(counts)
    return {
        "per_site": {s: dict(c) for s, c in per_site.items()},
        "total": dict(total),
        "articles": articles,
        "active_seconds": (max(times) - min(times)) if times else 0.0,
    }


def runs_after(engine: Engine, run_id: int) -> list[dict[str, Any]]:
    """The run rows with an id above ``run_id`` (one per site of a crawl)."""
    stmt = select(Run).where(Run.id > run_id).order_by(Run.id)
    with engine.connect() as conn:
        rows = conn.execute(stmt).mappings().all()
    return [
        {
            k: row[k]
            for k in (
                "id",
                "site_id",
                "mode",
                "status",
                "stop_reason",
                "pages_fetched",
                "articles_archived",
                "new_versions",
                "removals",
                "errors",
                "drops",
            )
        }
        for row in rows
    ]


def article_pages(engine: Engine) -> dict[Key, dict[str, Any]]:
    """Every archived article page: (site, path) -> whether its last capture has an ETag."""
    last = select(ArticleVersion.page_id, ArticleVersion.last_capture_id).subquery()
    stmt = (
        select(Page.site_id, Page.url, Capture.headers)
        .join(last, last.c.page_id == Page.id)
        .join(Capture, Capture.id == last.c.last_capture_id)
    )
    out: dict[Key, dict[str, Any]] = {}
    with engine.connect() as conn:
        for site_id, url, headers in conn.execute(stmt):
            etag = any(str(name).lower() == "etag" for name, _ in headers or [])
            key = (site_id, urlsplit(url).path)
            out[key] = {"etag": etag or out.get(key, {}).get("etag", False)}
    return out


def versions_by_runs(engine: Engine, run_ids: list[int]) -> dict[Key, list[dict[str, Any]]]:
    """The article versions the given runs made, by page."""
    stmt = (
        select(
            Page.site_id,
            Page.url,
            ArticleVersion.version_no,
            ArticleVersion.change_class,
            ArticleVersion.title,
        )
        .join(ArticleVersion, ArticleVersion.page_id == Page.id)
        .join(Capture, Capture.id == ArticleVersion.capture_id)
        .where(Capture.run_id.in_(run_ids))
        .order_by(Page.id, ArticleVersion.version_no)
    )
    out: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    with engine.connect() as conn:
        for site_id, url, no, change_class, title in conn.execute(stmt):
            out[(site_id, urlsplit(url).path)].append(
                {"version_no": no, "change_class": change_class, "title": title}
            )
    return dict(out)


def score_changes(
    changes: list[Change],
    made: Mapping[Key, list[dict[str, Any]]],
    seeds: Mapping[str, Seed],
    known: Mapping[Key, Mapping[str, Any]],
) -> dict[str, Any]:
    """Which changes the second crawl found (a version of the expected class on that page),
    and which versions it made that no change explains."""
    found, missed = [], []
    for c in changes:
        versions = made.get((c.site_id, c.path), [])
        classes = [v["change_class"] for v in versions]
        ok = any(cls in EXPECTED_CLASSES[c.kind] for cls in classes)
        if ok and c.kind == "retitle":
            ok = any(v["title"] == c.detail for v in versions)
        record = {
            "site": c.site_id,
            "path": c.path,
            "kind": c.kind,
            "age": c.age,
            "age_days": c.age_days,
            "classes": classes,
        }
        if not ok:
            etag = known.get((c.site_id, c.path), {}).get("etag", False)
            record["why"] = _why_missed(c, seeds[c.site_id], etag)
        (found if ok else missed).append(record)
    explained = {(c.site_id, c.path) for c in changes}
    unexplained = {f"{k[0]}{k[1]}": v for k, v in made.items() if k not in explained}
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_site: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for record in found + missed:
        label = record["kind"] + (" (old)" if record["age"] == "old" else "")
        for tally in (by_kind[label], by_site[record["site"]]):
            tally[1] += 1
            tally[0] += record in found
    return {
        "found": len(found),
        "total": len(changes),
        "by_kind": {k: f"{a}/{b}" for k, (a, b) in by_kind.items()},
        "by_site": {k: f"{a}/{b}" for k, (a, b) in by_site.items()},
        "missed": missed,
        "found_records": found,
        "unexplained_versions": len(unexplained),
        "unexplained_sample": dict(list(unexplained.items())[:5]),
    }


def _why_missed(change: Change, seed: Seed, etag: bool) -> str:
    """The likely reason, from the seed's [revisit] rules (crawler/spiders/site.py ``_due``)."""
    revisit = seed.revisit
    if revisit.sitemaps:
        return "not found although the seed reads the site's sitemap: see the JSON line"
    if change.kind != "new" and change.age_days > revisit.recent_days:
        return (
            "the site publishes no sitemap, and "
            f"it is {change.age_days} days older than the site's newest article (recent_days = "
            f"{revisit.recent_days}) and its turn in the rotation (a 1/recheck_days = "
            f"1/{revisit.recheck_days} share of the known articles per crawl, least recently "
            "checked first) had not come, so the incremental crawl did not ask for it; a list "
            "no longer links a removed page nor shows an edit. Its turn or the next deep crawl "
            f"(every deep_every_days = {revisit.deep_every_days}) finds it"
        )
    return "not found: see the request log counts in the JSON line"


def second_crawl_shares(
    known: Mapping[Key, Mapping[str, Any]], requested: Mapping[Key, int], sites: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per site and overall: known article pages, those fetched with a body (200), those
    requested at all (304 re-checks and gone answers included), as counts and shares."""
    out: dict[str, dict[str, Any]] = {}
    for site in [*sites, "all"]:
        mine = {k for k in known if site in ("all", k[0])}
        asked = {k: s for k, s in requested.items() if k in mine}
        n = len(mine)
        fetched = sum(1 for s in asked.values() if s == 200)
        out[site] = {
            "known": n,
            "with_etag": sum(1 for k in mine if known[k]["etag"]),
            "fetched_200": fetched,
            "not_modified_304": sum(1 for s in asked.values() if s == 304),
            "gone": sum(1 for s in asked.values() if s in (404, 410)),
            "requested": len(asked),
            "new_articles_fetched": sum(
                1 for k, s in requested.items() if k not in known and site in ("all", k[0])
            ),
            "share_fetched": round(fetched / n, 4) if n else None,
            "share_requested": round(len(asked) / n, 4) if n else None,
        }
    return out
