#!/usr/bin/env python3
"""Our crawl beside the crawler a user would write in an afternoon, in one invocation (issue 14).

    .venv/bin/python benchmarks/baseline_crawl.py [--articles-per-site 300] [--rounds 2]
        [--seed 1] [--concurrency 4] [--readme README.md]

On the replica world of benchmarks/crawl_world.py (its ``build_world`` and ``WorldServer``:
five sites, ``--articles-per-site`` articles each, on 127.0.0.1), three crawlers take turns,
``--rounds`` times in the order ours, baseline, bare:

- **ours**: ``gonghui crawl --all --origin SITE=URL ...`` with crawl_world's relaxed seeds (no
  delay, no AutoThrottle, ``--concurrency`` requests per site, robots.txt obeyed) on a fresh
  SQLite archive;
- **baseline**: benchmarks/baseline/, a plain Scrapy ``CrawlSpider`` following the same seeds'
  list and article patterns from the same start URLs with the same politeness, calling
  ``trafilatura.extract`` (title and date included) on each article page and inserting url,
  title, date, text and a sha256 into SQLite, a commit per article;
- **bare**: the same spider doing nothing with the article pages.

Each crawl is its own process, started by crawl_world's ``Launcher`` helper and reaped with
``os.wait4``, so its CPU seconds and peak RSS are its own. Responses are the requests the world
answered during the crawl (the server's log), article pages those of them that match a seed's
article pattern with a 200. One JSON line is printed (medians per arm over the rounds, the
ratios ours/baseline, every run); with ``--readme`` the section between
``<!-- baseline_crawl:begin -->`` and ``<!-- baseline_crawl:end -->`` is rewritten (the markers
are added at the end of the Benchmarks section when missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "benchmarks"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from crawl_world import Launcher, crawl_argv, relaxed_seeds  # noqa: E402

ARMS = ("ours", "baseline", "bare")
BASELINE = ROOT / "benchmarks" / "baseline" / "run.py"
_CJK = re.compile(r"[\u4e00-\u9fff]")


def run_ours(launcher: Launcher, server: Any, work: Path) -> dict[str, Any]:
    argv = crawl_argv(work, work.parent / "seeds", server)
    measured = checked(launcher.run(argv, ROOT, work / "crawl.log"), work / "crawl.log")
    with sqlite3.connect(work / "archive.sqlite3") as conn:
        (articles,) = conn.execute("SELECT sum(articles_archived) FROM run").fetchone()
        texts = [text for (text,) in conn.execute("SELECT body FROM article_text")]
    return {**measured, "articles": articles or 0, "garbled": sum(map(garbled, texts))}


def garbled(text: str) -> bool:
    """Text decoded with the wrong charset (a header or <meta> that lies): little Chinese left."""
    return "\ufffd" in text or len(_CJK.findall(text)) < len(text) / 4


def run_baseline(
    launcher: Launcher, work: Path, concurrency: int, bare: bool, hosts: dict[str, str]
) -> dict[str, Any]:
    argv = [
        sys.executable,
        str(BASELINE),
        "--config",
        str(work.parent / "sites.json"),
        "--db",
        str(work / "baseline.sqlite3"),
        "--stats",
        str(work / "stats.json"),
        "--concurrency",
        str(concurrency),
    ]
    if bare:
        argv.append("--bare")
    measured = checked(launcher.run(argv, ROOT, work / "crawl.log"), work / "crawl.log")
    stats = json.loads((work / "stats.json").read_text(encoding="utf-8"))
    result = {**measured, "extract_empty": stats.get("baseline/extract_empty", 0)}
    if bare:
        return result
    with sqlite3.connect(work / "baseline.sqlite3") as conn:
        rows = conn.execute("SELECT url, text FROM article").fetchall()
        undated = conn.execute("SELECT count(*) FROM article WHERE date IS NULL").fetchone()[0]
    bad: dict[str, int] = {}
    for url, text in rows:
        if garbled(text):
            site_id = hosts[urlsplit(url).netloc]
            bad[site_id] = bad.get(site_id, 0) + 1
    return {
        **result,
        "articles": len(rows),
        "garbled": sum(bad.values()),
        "garbled_by_site": bad,
        "undated": undated,
    }


def checked(measured: dict[str, Any], log: Path) -> dict[str, Any]:
    if measured["returncode"] != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise SystemExit(f"crawl exited {measured['returncode']}:\n{tail}")
    cpu = measured["utime"] + measured["stime"]
    return {"wall_s": measured["wall"], "cpu_s": cpu, "peak_rss_mb": measured["maxrss_kb"] / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-per-site", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight per site")
    parser.add_argument("--readme", type=Path, help="rewrite this README's baseline_crawl section")
    args = parser.parse_args()
    launcher = Launcher()  # first, while this process is small
    load_before = os.getloadavg()
    try:
        with tempfile.TemporaryDirectory(prefix="baseline_crawl_") as tmp:
            result = run(args, launcher, Path(tmp))
    finally:
        launcher.close()
    result["load_before"] = [round(x, 2) for x in load_before]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["uptime"] = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(json.dumps(result, ensure_ascii=False))
    if args.readme:
        update_readme(args.readme, result)


def run(args: argparse.Namespace, launcher: Launcher, work: Path) -> dict[str, Any]:
    from world_data import build_world
    from world_server import WorldServer

    from crawler.replica.pages import render_site
    from crawler.seeds import load_seeds

    started = time.monotonic()
    world = build_world(args.articles_per_site, args.seed)
    pages = {s: render_site(site) for s, site in world.sites.items()}
    relaxed_seeds(work / "seeds", args.concurrency)
    runs: dict[str, list[dict[str, Any]]] = {arm: [] for arm in ARMS}
    with WorldServer(pages) as server:
        seeds = {
            s: seed.served_at(server.origins[s]) for s, seed in load_seeds(work / "seeds").items()
        }
        sites = [
            {
                "id": s,
                "start_urls": seed.start_urls,
                "list_patterns": seed.list_patterns,
                "article_patterns": seed.article_patterns,
            }
            for s, seed in seeds.items()
        ]
        (work / "sites.json").write_text(json.dumps({"sites": sites}), encoding="utf-8")
        for n in range(args.rounds):
            for arm in ARMS:
                run_dir = work / f"{arm}{n}"
                run_dir.mkdir()
                mark = len(server.log)
                if arm == "ours":
                    measured = run_ours(launcher, server, run_dir)
                else:
                    hosts = {urlsplit(o).netloc: s for s, o in server.origins.items()}
                    measured = run_baseline(
                        launcher, run_dir, args.concurrency, arm == "bare", hosts
                    )
                requests = server.requests_since(mark)
                article_200 = sum(
                    1
                    for r in requests
                    if r.status == 200
                    and seeds[r.site_id].is_article(server.origins[r.site_id] + r.path)
                )
                measured.update(responses=len(requests), article_pages=article_200)
                runs[arm].append(figures(arm, measured))
    medians = {arm: median_of(arm_runs) for arm, arm_runs in runs.items()}
    ours, base = medians["ours"], medians["baseline"]
    return {
        "date": dt.date.today().isoformat(),
        "articles_per_site": args.articles_per_site,
        "world_articles": sum(len(s.articles) for s in world.sites.values()),
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "cpus": os.cpu_count(),
        "medians": medians,
        "ours_over_baseline": {
            "cpu_ms_per_article": round(ours["cpu_ms_per_article"] / base["cpu_ms_per_article"], 3),
            "pages_per_s": round(ours["pages_per_s"] / base["pages_per_s"], 3),
            "peak_rss_mb": round(ours["peak_rss_mb"] / base["peak_rss_mb"], 3),
        },
        "runs": runs,
        "total_s": round(time.monotonic() - started, 1),
    }


def figures(arm: str, m: dict[str, Any]) -> dict[str, Any]:
    # Per archived article for ours and the baseline; per article page for bare Scrapy.
    per = m["article_pages"] if arm == "bare" else m["articles"]
    out = {
        "responses": m["responses"],
        "article_pages": m["article_pages"],
        "articles": m.get("articles"),
        "wall_s": round(m["wall_s"], 2),
        "pages_per_s": round(m["responses"] / m["wall_s"], 1),
        "cpu_s": round(m["cpu_s"], 2),
        "cpu_ms_per_article": round(1000 * m["cpu_s"] / per, 2) if per else None,
        "peak_rss_mb": round(m["peak_rss_mb"], 1),
    }
    for key in ("extract_empty", "garbled", "garbled_by_site", "undated"):
        if key in m:
            out[key] = m[key]
    return out


def median_of(arm_runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in arm_runs[0].items():
        values = [r[key] for r in arm_runs if r.get(key) is not None]
        if isinstance(value, int | float) and values:
            mid = statistics.median(values)
            out[key] = int(mid) if isinstance(value, int) and mid == int(mid) else round(mid, 2)
        else:
            out[key] = value
    return out


# --- README ----------------------------------------------------------------------------------


def section(result: dict[str, Any]) -> str:
    m, ratio = result["medians"], result["ours_over_baseline"]
    rows = [
        "| crawler | responses | article pages | articles | not extracted | garbled | wall s"
        " | pages/s | CPU s | CPU ms/article | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    names = {
        "ours": "ours (`gonghui crawl`)",
        "baseline": "baseline (Scrapy + trafilatura + SQLite)",
        "bare": "bare Scrapy",
    }
    for arm in ARMS:
        r = m[arm]
        dash = "-" if arm == "bare" else None
        rows.append(
            f"| {names[arm]} | {r['responses']} | {r['article_pages']}"
            f" | {dash or r['articles']} | {dash or r.get('extract_empty', '-')}"
            f" | {dash or r['garbled']} | {r['wall_s']} | {r['pages_per_s']}"
            f" | {r['cpu_s']} | {r['cpu_ms_per_article']} | {r['peak_rss_mb']} |"
        )
    load = " / ".join(f"{x:.2f}" for x in result["load_before"])
    load_after = " / ".join(f"{x:.2f}" for x in result["load_after"])
    text = (
        f"Our crawl beside the crawler a user would write in an afternoon,"
        f" `benchmarks/baseline_crawl.py` (issue 14), on {result['date']}, {result['cpus']} CPUs,"
        f" load average (1/5/15 min, `uptime`) {load} before and {load_after} after; the whole"
        f" benchmark took {result['total_s']} s. The replica world of `crawl_world.py` with"
        f" {result['articles_per_site']} articles per site ({result['world_articles']} in all);"
        f" {result['rounds']} rounds of three crawls back to back (ours, baseline, bare), each its"
        " own process on a fresh database; medians over the rounds. **ours** is `gonghui crawl"
        " --all` with the relaxed seeds (no delay, no AutoThrottle,"
        f" {result['concurrency']} requests in flight per site, robots.txt obeyed); **baseline** is"
        " `benchmarks/baseline/`, a plain Scrapy `CrawlSpider` following the same seeds' list and"
        " article patterns from the same start URLs with the same politeness, calling"
        " `trafilatura.extract` (JSON with title and date) on each article page and inserting url,"
        " title, date, text and a sha256 into SQLite with a commit per article; **bare Scrapy** is"
        " that spider doing nothing with the pages. Columns: responses, every answer the world"
        " sent (robots.txt, sitemap.xml, home, list, article); article pages, article URLs"
        " answered 200; articles, those archived (ours: the runs' `articles_archived`) or stored"
        " (baseline); not extracted, article pages trafilatura returned nothing for; garbled,"
        " stored texts that are not Chinese text (less than a quarter CJK characters or a U+FFFD:"
        " decoded with a charset a header or `<meta>` wrongly declared: baseline"
        f" {garbled_sites(m['baseline'])}, ours {garbled_sites(m['ours'])});"
        " wall s, the crawl process from exec to exit; pages/s, responses over wall s; CPU s, user"
        " + system time of the crawl process (`os.wait4`); CPU ms/article, CPU s per archived or"
        " stored article (bare: per article page); peak RSS, its ru_maxrss."
        f" **Ours over the baseline: {ratio['cpu_ms_per_article']}× the CPU per article,"
        f" {ratio['pages_per_s']}× the pages/s, {ratio['peak_rss_mb']}× the peak RSS** (issue 14"
        " asks for ≤ 0.8×, ≥ 1× and ≤ 250 MB)."
    )
    return text + "\n\n" + "\n".join(rows)


def garbled_sites(r: dict[str, Any]) -> str:
    by_site = r.get("garbled_by_site")
    if not by_site:
        return str(r["garbled"])
    return ", ".join(f"{site} {n}" for site, n in sorted(by_site.items()))


def update_readme(path: Path, result: dict[str, Any]) -> None:
    from world_readme import write_section

    write_section(path, "baseline_crawl", section(result))


if __name__ == "__main__":
    main()
