#!/usr/bin/env python3
"""Search over 100 k archived articles (the web view's search, ``archive.search``).

    .venv/bin/python benchmarks/search_100k.py [--articles 100000] [--queries 200] [--seed 1]
        [--database postgresql://postgres@127.0.0.1:5432/postgres] [--readme README.md]

1. The reprint benchmark's corpus (benchmarks/reprints_100k.py: articles of 6-20 sentences of
   the replica sites' own text, 2% planted reprints) bulk-loaded into a fresh, migrated archive
   (SQLite in a temp dir, or a PostgreSQL database made beside the one named).
2. The search index built for it with ``archive.search.rebuild`` (what migration 0007 does for
   an existing archive), timed.
3. ``--queries`` queries drawn from the corpus text: two-character words (工会, 职工 ... as they
   stand in its sentences), four-character phrases, two words together, a word with a site
   filter; each answered as the search page answers it (the count up to 10 000, the first 20
   hits with their snippets), timed. Reported: median, p90, max ms.
4. The baseline in the same run: the same two-character queries as a ``LIKE '%word%'`` scan of
   the current versions' title and body (what a search without an index does), on a sample of
   the queries; the ratio of medians.
5. One JSON line; with ``--readme`` the row of this backend in the table between
   ``<!-- search_100k:begin -->`` and ``<!-- search_100k:end -->`` is rewritten.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, select

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from reprint_corpus import Corpus
from reprint_load import load
from reprints_100k import pg_database

from archive import search, search_query
from archive.db import make_engine, migrate
from archive.models import ArticleText, ArticleVersion

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{4,}")


def queries(corpus: Corpus, count: int, seed: int) -> list[tuple[str, search_query.SearchFilters]]:
    rng = random.Random(f"{seed}/queries")
    runs = [run for s in corpus.sentences for run in _CJK_RUN.findall(s)]
    out: list[tuple[str, search_query.SearchFilters]] = []
    for k in range(count):
        run = rng.choice(runs)
        at = rng.randrange(len(run) - 3)
        kind = k % 4
        if kind == 0:
            out.append((run[at : at + 2], search_query.SearchFilters()))
        elif kind == 1:
            out.append((run[at : at + 4], search_query.SearchFilters()))
        elif kind == 2:
            other = rng.choice(runs)
            out.append((f"{run[at : at + 2]} {other[:2]}", search_query.SearchFilters()))
        else:
            site = rng.choice(corpus.sites)
            out.append((run[at : at + 2], search_query.SearchFilters(site_id=site)))
    return out


def _ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 2),
        "p90_ms": round(ordered[int(len(ordered) * 0.9)] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def measure(url: str, corpus: Corpus, count: int, seed: int) -> dict[str, Any]:
    engine = make_engine(url)
    asked = queries(corpus, count, seed)
    timings, found = [], []
    with engine.connect() as conn:
        search_query.search(conn, "工会")  # warm the caches and OpenCC once
        for query, filters in asked:
            t0 = time.perf_counter()
            result = search_query.search(conn, query, filters)
            timings.append(time.perf_counter() - t0)
            found.append(result.total)
        words = [q for q, f in asked if len(q) == 2 and f.site_id is None][:20]
        scans = []
        for word in words:
            t0 = time.perf_counter()
            conn.execute(
                select(func.count())
                .select_from(ArticleVersion)
                .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
                .where(or_(ArticleVersion.title.contains(word), ArticleText.body.contains(word)))
            ).scalar()
            scans.append(time.perf_counter() - t0)
    engine.dispose()
    ours, baseline = _ms(timings), _ms(scans)
    return {
        "queries": len(asked),
        **ours,
        "median_hits": statistics.median(found),
        "baseline_like_scan": {**baseline, "queries": len(scans)},
        "speedup_vs_like_scan": round(baseline["median_ms"] / max(ours["median_ms"], 1e-9), 1),
    }


def update_readme(path: Path, result: dict[str, Any]) -> None:
    begin, end = "<!-- search_100k:begin -->", "<!-- search_100k:end -->"
    text = path.read_text(encoding="utf-8")
    if begin not in text:
        return
    head, rest = text.split(begin, 1)
    table, tail = rest.split(end, 1)
    rows = [line for line in table.strip().splitlines() if line.startswith("| ")]
    header = rows[:1] or [
        "| backend | articles | index build s | median ms | p90 ms | max ms | LIKE scan median ms "
        "| ratio |"
    ]
    keep = [r for r in rows[1:] if not r.startswith(f"| {result['backend']} ")]
    row = (
        f"| {result['backend']} | {result['articles']:,} | {result['index_build_s']} "
        f"| {result['median_ms']} | {result['p90_ms']} | {result['max_ms']} "
        f"| {result['baseline_like_scan']['median_ms']} | {result['speedup_vs_like_scan']}x |"
    )
    lines = [header[0], "|" + "---|" * header[0].count(" | ") + "---|", *keep, row]
    path.write_text(f"{head}{begin}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", help="a PostgreSQL URL (default: SQLite in a temp dir)")
    parser.add_argument("--readme", type=Path, help="rewrite this README's table")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="search_100k_") as tmp:
        drop = None
        url = f"sqlite:///{tmp}/archive.sqlite"
        if args.database:
            url, drop = pg_database(args.database)
        try:
            migrate(url)
            engine = make_engine(url)
            corpus = Corpus(args.seed, args.articles)
            load(engine, corpus, args.articles, args.workers)
            t0 = time.perf_counter()
            with engine.begin() as conn:
                indexed = search.rebuild(conn)
            build = round(time.perf_counter() - t0, 1)
            backend = "PostgreSQL" if engine.dialect.name == "postgresql" else "SQLite"
            engine.dispose()
            measured = measure(url, corpus, args.queries, args.seed)
        finally:
            if drop is not None:
                drop()
    result = {
        "backend": backend,
        "articles": args.articles,
        "indexed": indexed,
        "index_build_s": build,
        **measured,
    }
    print(json.dumps(result, ensure_ascii=False))
    if args.readme:
        update_readme(args.readme, result)


if __name__ == "__main__":
    main()
