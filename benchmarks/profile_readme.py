"""The README section of benchmarks/crawl_profile.py: the table of where the crawl's CPU goes
and a "where to look" paragraph drawn from the figures (world_readme.py does the same for
crawl_world.py)."""

from __future__ import annotations

from typing import Any


def section(r: dict[str, Any]) -> str:
    p, ref, b = r["profiled_crawl"], r["reference_crawl"], r["buckets"]
    clock = (
        "clock: the main thread's CPU time"
        if r["clock"] == "thread"
        else f"cProfile's default clock, wall time, the CPU-bound crawl's {r['idle_s']} s of "
        "idle waits in `epoll` taken off, sqlite3 commits with their disk waits"
    )
    load = lambda xs: " / ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    lines = [
        f"Where the CPU per archived article goes, `benchmarks/crawl_profile.py` (issue 14), on "
        f"{r['date']}, {r['cpus']} CPUs, load average (1/5/15 min) {load(r['load_before'])} "
        f"before and {load(r['load_after'])} after; {r['total_s']} s in all. One first crawl "
        f"of the replica world ({r['articles_per_site']} articles per site, "
        f"{r['articles']} archived, the relaxed seeds) with cProfile on in the crawl process "
        f"({clock}); the profile is cut into buckets by the "
        "cumulative time of each one's entry points, nested buckets subtracted (the module "
        "docstring lists them): decode `decode_body`; links and parse `SiteSpider.parse` and "
        "the sitemap callbacks without decode; extract `plan_page`; WARC `write_warc`; "
        "versions `classify_change` and `content_sha256`; reprints `reprint_batch.index_new_pages` and `reprints.index_page`; "
        "storage the pipeline's `_store` without those (rows, transaction, commit: SQLAlchemy "
        "and sqlite3) plus opening and closing the run; logging/stats calls into `logging`, "
        "Scrapy's stats collector, log formatter and stats extensions; start-up and shutdown "
        "everything outside `CrawlerProcess.start` (imports, migrations, the table); Scrapy "
        "engine and HTTP the rest (Twisted, scheduler, fingerprints, middlewares, signals).",
        "",
    ]
    if ref:
        lines += [
            f"**The profiler's overhead**: the profiled crawl cost {p['cpu_ms_per_article']} ms "
            f"CPU per article (the process's `rusage`), the same crawl without it "
            f"{ref['cpu_ms_per_article']} ms ({r['inflation']}×). cProfile adds a fixed cost to "
            "every Python function call, so call-heavy code (Scrapy and Twisted plumbing, "
            "SQLAlchemy's ORM) is inflated much more than code that spends its time in C "
            "(lxml, zlib, sqlite3, regular expressions): read the shares as where to look, "
            "not as a bill; the ms column is profiled time.",
            "",
        ]
    lines += [
        "| bucket | ms CPU per article (profiled) | share |",
        "|---|---|---|",
    ]
    for name in b:  # in crawl_profile.BUCKETS order
        lines.append(f"| {name} | {b[name]['ms_per_article']} | {100 * b[name]['share']:.1f}% |")
    total_ms = round(1000 * r["profiled_total_s"] / r["articles"], 2)
    lines += [f"| total (profiled) | {total_ms} | 100% |", ""]
    lines.append("Most own time (self time, profiled):")
    lines.append("")
    for row in r["top_own_time"]:
        lines.append(f"- `{row['function']}`: {row['own_s']} s, {row['calls']} calls")
    lines += ["", where_to_look(r)]
    return "\n".join(lines)


def where_to_look(r: dict[str, Any]) -> str:
    b = r["buckets"]
    ranked = sorted(b, key=lambda n: b[n]["share"], reverse=True)
    top = ", ".join(f"{n} ({100 * b[n]['share']:.0f}%)" for n in ranked[:3])
    ours = sum(b[n]["share"] for n in ("storage", "WARC", "versions", "reprints", "logging/stats"))
    per = ", ".join(f"{n / r['articles']:.1f} `{name}` calls" for name, n in r["calls"].items())
    lazy = ", ".join(f"`{x['function']}` {x['s']} s" for x in r["lazy_imports"])
    heavy = ", ".join(f"{h['package']} {h['s']} s" for h in r["heaviest_imports"])
    return (
        f"**Where to look**: the largest buckets are {top}. The archive's own work after "
        f"extraction (storage, WARC, versions, reprints, logging/stats) is {100 * ours:.0f}% of "
        f"the profiled CPU, extraction {100 * b['extract']['share']:.0f}% and decode "
        f"{100 * b['decode']['share']:.0f}%. Per archived article the crawl made {per}. "
        f"Imports take {r['imports_s']} s of the profiled "
        f"time ({1000 * r['imports_s'] / r['articles']:.2f} ms per article of this crawl, a "
        f"fixed cost that a bigger crawl spreads thinner); the heaviest packages to import "
        f"(nested imports included): {heavy}."
        + (
            " Imports made inside the project's functions, counted in those functions' "
            f"buckets once per crawl: {lazy}."
            if lazy
            else ""
        )
    )
