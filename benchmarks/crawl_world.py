#!/usr/bin/env python3
"""Crawl a replica world of 5 sites and N articles each twice: speed, CPU, memory, revisits.

    .venv/bin/python benchmarks/crawl_world.py [--articles-per-site 1000] [--seed 1]
        [--concurrency 4] [--extract-sample 0] [--keep DIR] [--readme README.md]

1. The world (benchmarks/world_data.py): the five replica sites (the seeds' ids and layouts,
   rendered by crawler/replica/render_*.py) with ``--articles-per-site`` synthetic articles
   each, served on 127.0.0.1 ephemeral ports by the replica's own HTTP handler
   (benchmarks/world_server.py): ETag and 304 for qhzgh, xazgh, xnzgh and bcrb, none for tibet3;
   a sitemap.xml with each article's last change from the sites whose seed reads one.
2. A seeds folder copied from seeds/ with the politeness relaxed for a local benchmark
   (download_delay 0, AutoThrottle off, ``--concurrency`` requests per site, max_pages 10^6).
3. First crawl: ``gonghui crawl --all --origin SITE=URL ...`` as a subprocess (the production
   code path) on a fresh SQLite archive in a temp dir.
4. The world changes (world_data.change_world): edits, a retitle, removals (404/410) and new
   articles, mostly among the newest, plus old-article probes on qhzgh and tibet3.
5. Second crawl, the same command: incremental (the archive has a finished full run).
6. ``trafilatura.extract`` alone, and the project's ``extract_article``, on the article pages
   the first crawl was served (the same bytes, decoded by crawler.decode), timed with
   ``time.process_time`` in this process while no crawl runs.

Each crawl is started by a small helper process launched before the world is built and waited
for with ``os.wait4``, so its CPU seconds and peak RSS are its own (Linux carries a parent's
resident set into a child's ru_maxrss across fork and exec). Pages per second are responses
over the wall time of the crawl process, start-up included. One JSON line is printed; with
``--readme`` the section between ``<!-- crawl_world:begin -->`` and ``<!-- crawl_world:end -->``
is rewritten (the markers are added at the end of the Benchmarks section when missing).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Runs as ``python -c``: reads one job per line, runs it, answers with its own rusage.
_HELPER = r"""
import json, os, subprocess, sys, time
for line in sys.stdin:
    job = json.loads(line)
    with open(job["log"], "wb") as log:
        start = time.monotonic()
        child = subprocess.Popen(job["argv"], stdout=log, stderr=subprocess.STDOUT,
                                 cwd=job["cwd"], env=job["env"])
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    print(json.dumps({"returncode": child.returncode, "wall": wall, "utime": usage.ru_utime,
                      "stime": usage.ru_stime, "maxrss_kb": usage.ru_maxrss}), flush=True)
"""


class Launcher:
    """The helper process that starts each crawl (see the module docstring)."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HELPER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str], cwd: Path, log: Path) -> dict[str, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        job = {"argv": argv, "cwd": str(cwd), "log": str(log), "env": dict(os.environ)}
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()
        return dict(json.loads(self.proc.stdout.readline()))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


def relaxed_seeds(target: Path, concurrency: int) -> None:
    """seeds/*.toml with the [politeness] table replaced: no delay, no AutoThrottle."""
    from crawler.seeds import load_seed_file

    target.mkdir()
    for path in sorted((ROOT / "seeds").glob("*.toml")):
        lines, skipping = [], False
        for line in path.read_text(encoding="utf-8").splitlines():
            if re.match(r"\s*\[", line):
                skipping = line.strip() == "[politeness]"
            if not skipping:
                lines.append(line)
        lines += [
            "",
            "[politeness]",
            "# benchmarks/crawl_world.py: a local benchmark, not a real site",
            "download_delay = 0",
            "autothrottle = false",
            f"concurrent_requests = {concurrency}",
            "max_pages = 1000000",
        ]
        out = target / path.name
        out.write_text("\n".join(lines) + "\n", encoding="utf-8")
        load_seed_file(out)  # still a valid seed


def crawl_argv(work: Path, seeds: Path, server: Any, program: list[str] | None = None) -> list[str]:
    """``gonghui crawl --all`` of every site the world serves, into ``work``'s archive (the
    benchmarks' one command line; ``program`` replaces the ``gonghui`` script)."""
    argv = [
        *(program or [str(Path(sys.executable).with_name("gonghui"))]),
        "--database",
        f"sqlite:///{work / 'archive.sqlite3'}",
        "--warc-dir",
        str(work / "warc"),
        "--seeds-dir",
        str(seeds),
        "crawl",
        "--all",
    ]
    for site_id, origin in server.origins.items():
        argv += ["--origin", f"{site_id}={origin}"]
    return argv


def crawl(launcher: Launcher, server: Any, work: Path, name: str) -> dict[str, Any]:
    argv = crawl_argv(work, work / "seeds", server)
    mark = len(server.log)
    log = work / f"{name}.log"
    measured = launcher.run(argv, work, log)
    measured["requests"] = server.requests_since(mark)
    if measured["returncode"] != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
        print(f"{name}: gonghui crawl exited {measured['returncode']}:\n{tail}", file=sys.stderr)
    return measured


def time_extractors(renderings: dict[str, Any], seeds: dict[str, Any], sample: int) -> dict:
    """CPU per page of bare trafilatura.extract and of the project's extract_article on the
    article pages of the first crawl (decoded untimed), the same pages for both."""
    import random

    import trafilatura

    from crawler.decode import decode_body
    from crawler.extract.article import extract_article

    pages = [
        (site_id, path, page)
        for site_id, rendering in renderings.items()
        for path, page in rendering.pages.items()
        if page.etag is not None  # the article pages
    ]
    if sample and sample < len(pages):
        pages = random.Random(1).sample(pages, sample)
    texts = [(s, p, decode_body(page.body, page.content_type).text) for s, p, page in pages]
    trafilatura.extract(texts[0][2])  # warm: imports, compiled expressions
    extract_article(texts[0][2], seeds[texts[0][0]].absolute(texts[0][1]))
    start = time.process_time()
    empty = sum(1 for _, _, text in texts if not trafilatura.extract(text))
    bare = time.process_time() - start
    start = time.process_time()
    for site_id, path, text in texts:
        seed = seeds[site_id]
        extract_article(text, seed.absolute(path), seed.extract)
    ours = time.process_time() - start
    return {
        "pages": len(texts),
        "trafilatura_ms_per_page": round(1000 * bare / len(texts), 2),
        "trafilatura_empty": empty,
        "extract_article_ms_per_page": round(1000 * ours / len(texts), 2),
    }


def summarise(name: str, measured: dict[str, Any], counts: dict, runs: list[dict]) -> dict:
    total = counts["total"]
    archived = sum(r["articles_archived"] for r in runs)
    drops: dict[str, int] = {}
    for r in runs:
        for reason, n in (r["drops"] or {}).items():
            drops[reason] = drops.get(reason, 0) + n
    cpu = measured["utime"] + measured["stime"]
    return {
        "crawl": name,
        "modes": sorted({str(r["mode"]) for r in runs}),
        "statuses": sorted({str(r["status"]) for r in runs}),
        "returncode": measured["returncode"],
        "responses": total.get("responses", 0),
        "article_200": total.get("article_200", 0),
        "article_304": total.get("article_304", 0),
        "article_gone": total.get("article_404", 0) + total.get("article_410", 0),
        "list_pages": total.get("list", 0),
        "other": total.get("other", 0),
        "wall_s": round(measured["wall"], 1),
        "active_s": round(counts["active_seconds"], 1),
        "pages_per_s": round(total.get("responses", 0) / measured["wall"], 1),
        "cpu_s": round(cpu, 1),
        "cpu_ms_per_archived": round(1000 * cpu / archived, 2) if archived else None,
        "cpu_ms_per_response": round(1000 * cpu / max(total.get("responses", 0), 1), 2),
        "peak_rss_mb": round(measured["maxrss_kb"] / 1024, 1),
        "archived": archived,
        "new_versions": sum(r["new_versions"] for r in runs),
        "removals": sum(r["removals"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "drops": drops,
        "per_site": counts["per_site"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-per-site", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per site")
    parser.add_argument(
        "--extract-sample", type=int, default=0, help="article pages timed (0: all of them)"
    )
    parser.add_argument("--keep", type=Path, help="work here (kept) instead of a temp dir")
    parser.add_argument("--readme", type=Path, help="rewrite this README's crawl_world section")
    args = parser.parse_args()
    launcher = Launcher()  # first, while this process is small
    try:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=False)
            result = run(args, launcher, args.keep)
        else:
            with tempfile.TemporaryDirectory(prefix="crawl_world_") as tmp:
                result = run(args, launcher, Path(tmp))
    finally:
        launcher.close()
    print(json.dumps(result, ensure_ascii=False, default=str))
    if args.readme:
        from world_readme import update_readme

        update_readme(args.readme, result)


def run(args: argparse.Namespace, launcher: Launcher, work: Path) -> dict[str, Any]:
    from world_data import build_world, change_world
    from world_report import (
        article_pages,
        classify,
        runs_after,
        score_changes,
        second_crawl_shares,
        versions_by_runs,
    )
    from world_server import WorldServer

    from archive.db import make_engine
    from crawler.replica.pages import render_site
    from crawler.seeds import load_seeds

    t0 = started = time.monotonic()
    world = build_world(args.articles_per_site, args.seed)
    first_pages = {s: render_site(site) for s, site in world.sites.items()}
    build_s = time.monotonic() - started
    relaxed_seeds(work / "seeds", args.concurrency)
    seeds = load_seeds(work / "seeds")  # the seeds' own origins name the archived pages
    engine = make_engine(f"sqlite:///{work / 'archive.sqlite3'}")
    with WorldServer(first_pages) as server:
        first = crawl(launcher, server, work, "first")
        runs1 = runs_after(engine, 0)
        counts1 = classify(seeds, first["requests"])
        known = article_pages(engine)
        started = time.monotonic()
        changed, changes = change_world(world)
        server.swap({s: render_site(site) for s, site in changed.items()})
        change_s = time.monotonic() - started
        second = crawl(launcher, server, work, "second")
        runs2 = runs_after(engine, max(r["id"] for r in runs1))
        counts2 = classify(seeds, second["requests"])
    made = versions_by_runs(engine, [r["id"] for r in runs2])
    found = score_changes(changes, made, seeds, known)
    shares = second_crawl_shares(known, counts2["articles"], world.sites)
    engine.dispose()
    extractors = time_extractors(first_pages, seeds, args.extract_sample)
    crawls = [
        summarise("first", first, counts1, runs1),
        summarise("second", second, counts2, runs2),
    ]
    # Per archived article on the first crawl only: the second archives a handful and
    # confirms the rest with 304s, so its CPU per archived article says nothing.
    crawls[0]["x_trafilatura"] = round(
        crawls[0]["cpu_ms_per_archived"] / extractors["trafilatura_ms_per_page"], 1
    )
    crawls[1]["cpu_ms_per_archived"] = None
    return {
        "articles_per_site": args.articles_per_site,
        "articles": sum(len(s.articles) for s in world.sites.values()),
        "sites": list(world.sites),
        "sitemap_sites": [s for s in world.sites if seeds[s].revisit.sitemaps],
        "concurrency": args.concurrency,
        "seed": args.seed,
        "cpus": os.cpu_count(),
        "world_build_s": round(build_s, 1),
        "world_change_s": round(change_s, 1),
        "crawls": crawls,
        "extractors": extractors,
        "second_crawl": shares,
        "changes": found,
        "revisit": {s: seed.revisit.model_dump() for s, seed in seeds.items()},
        "total_s": round(time.monotonic() - t0, 1),
    }


if __name__ == "__main__":
    main()
