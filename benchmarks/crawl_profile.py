#!/usr/bin/env python3
"""Where the crawl's CPU per archived article goes: one first crawl under cProfile, in buckets.

    .venv/bin/python benchmarks/crawl_profile.py [--articles-per-site 300] [--seed 1]
        [--clock wall|thread] [--no-reference] [--keep DIR] [--readme README.md]

Issue 14, point 2. The replica world of benchmarks/crawl_world.py (5 sites × N articles, its
relaxed seeds, its helper process) is crawled once, ``gonghui crawl --all`` from an empty
SQLite archive, with cProfile switched on inside the crawl process around the import of the
CLI and ``cli()`` (interpreter start-up before that is not seen). The profiler's clock is its
default one (``--clock wall``): the crawl is CPU-bound on loopback, and the reactor's idle
waits, the own time of ``epoll.poll``, are taken off the total (and reported); ``--clock
thread`` uses ``time.thread_time`` instead (CPU of the main thread only, immune to other load,
but a Python-level timer that about triples the crawl's CPU against about twice with the
default one, here). Unless ``--no-reference``, the same crawl is then run once more without
the profiler, for the CPU it really costs (the profiler's inflation is the ratio of the two).

The profile (``pstats``: per function its own time, cumulative time, and the same per
caller→callee edge) is cut into buckets by the cumulative time of each bucket's entry points,
nested buckets subtracted from the one they sit in, so nothing is counted twice:

- **start-up and shutdown**: everything outside ``CrawlerProcess.start`` (imports, click,
  migrations, opening and closing the runs' rows before and after the reactor, the table);
- **decode**: ``crawler.decode.decode_body`` (charset evidence, charset_normalizer, decoding);
- **links and parse**: ``SiteSpider.parse`` and the sitemap callbacks (lxml parse of each
  page, link finding, building requests and the page item), minus decode and minus the
  logging/stats calls made from the spider;
- **extract**: ``crawler.pipelines.page_plan.plan_page`` (``crawler.extract``: article
  extraction and the soft-404 check);
- **WARC**: ``Archive.write_warcs`` (a batch's revisit lookup, warcio records, gzip);
- **versions**: ``archive.textdiff.classify_change`` and ``archive.versioning``'s hashes;
- **reprints**: ``archive.reprint_batch.index_new_pages`` and ``archive.reprints.index_page``
  (MinHash signature, band lookup, cluster write, keys; its SQL included);
- **storage**: the pipeline's batches (``ArchivePipeline.flush``) minus WARC, versions,
  reprints and its stats calls (capture, page and version rows, the search index, the
  transaction and commit: SQLAlchemy and sqlite3), plus the pipeline's ``open_spider``, ``spider_closed`` and lease
  renewals and the spider's read of the known articles;
- **logging/stats**: calls into ``logging``, ``scrapy.statscollectors``, Scrapy's
  ``logformatter``, ``utils.log``, ``corestats`` and ``logstats`` extensions and
  ``crawler.logs`` from any caller except the code of the buckets above that are not
  subtracted for it (archive/, SQLAlchemy, Alembic, crawler.extract, crawler.decode, lxml,
  charset_normalizer: those stay in their bucket);
- **Scrapy engine and HTTP**: the rest of ``CrawlerProcess.start`` (Twisted reactor and HTTP
  client, scheduler, dupefilter and fingerprints, middlewares, including the project's own in
  crawler/middlewares.py and crawler/hostgate.py, item and signal plumbing, asyncio).

Each bucket is reported as ms of CPU per archived article and share of the profiled total,
with the ten functions of most own time beside them. cProfile adds a fixed cost to every
Python call, so call-heavy code (Scrapy and Twisted plumbing, SQLAlchemy's ORM) looks
heavier than it is against code that spends its time in C (lxml, zlib, sqlite3, regular
expressions); the shares are a map of where to look, not a bill. One JSON line is printed;
with ``--readme`` the section between ``<!-- crawl_profile:begin -->`` and
``<!-- crawl_profile:end -->`` is rewritten (added at the end of the Benchmarks section when
missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _path in (ROOT, ROOT / "benchmarks"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from crawl_world import Launcher, relaxed_seeds  # noqa: E402
from scrapy_overhead import AFTER, crawl_once  # noqa: E402

# Run as `python -c PROFILED gonghui-args...`: the CLI under cProfile, the profile written
# even though cli() ends with SystemExit, and the CLI's exit code kept.
PROFILED = """
import cProfile, sys, time
prof = cProfile.Profile({timer})
sys.argv[0] = "gonghui"
code = 0
prof.enable()
try:
    from crawler.cli.main import cli
    cli()
except SystemExit as exc:
    code = exc.code
finally:
    prof.disable()
    prof.dump_stats({out!r})
sys.exit(code)
"""

Key = tuple[str, int, str]
BUCKETS = (
    "Scrapy engine and HTTP",
    "links and parse",
    "decode",
    "extract",
    "storage",
    "WARC",
    "versions",
    "reprints",
    "logging/stats",
    "start-up and shutdown",
)
_LOGGING_FILES = (
    "/logging/__init__.py",
    "/logging/handlers.py",
    "scrapy/statscollectors.py",
    "scrapy/logformatter.py",
    "scrapy/utils/log.py",
    "scrapy/extensions/corestats.py",
    "scrapy/extensions/logstats.py",
    "crawler/logs.py",
)
# Callers whose calls into logging/stats stay in their own bucket.
_OWN_BUCKET_CALLERS = (
    "/archive/",
    "/sqlalchemy/",
    "/alembic/",
    "/crawler/extract/",
    "crawler/decode.py",
    "crawler/pipelines/page_plan.py",
    "/lxml/",
    "/charset_normalizer/",
)


class Profile:
    def __init__(self, path: Path) -> None:
        self.stats: dict[Key, Any] = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]

    def keys(self, suffix: str, name: str | None = None) -> list[Key]:
        return [
            k
            for k in self.stats
            if k[0].replace("\\", "/").endswith(suffix) and (name is None or k[2] == name)
        ]

    def cum(self, suffix: str, name: str, line: int | None = None) -> float:
        keys = [k for k in self.keys(suffix, name) if line is None or k[1] == line]
        return sum(self.stats[k][3] for k in keys)

    def edges(self, callee: Callable[[Key], bool], caller: Callable[[Key], bool]) -> float:
        """Cumulative time of the calls from ``caller`` functions into ``callee`` ones."""
        return sum(
            edge[3]
            for key, (_, _, _, _, callers) in self.stats.items()
            if callee(key)
            for by, edge in callers.items()
            if caller(by)
        )

    def total(self) -> float:
        return sum(v[2] for v in self.stats.values())

    def imports(self, n: int) -> tuple[float, list[dict[str, Any]]]:
        """CPU in imports (all of them, lazy ones inside the crawl included) and the ``n``
        installed packages whose top-level import took longest (nested imports included)."""
        seconds = sum(self.stats[k][3] for k in self.keys("_bootstrap>", "_find_and_load"))
        packages: dict[str, float] = {}
        for (path, _, func), value in self.stats.items():
            if func == "<module>" and "/site-packages/" in path:
                package = path.split("/site-packages/", 1)[1].split("/")[0]
                packages[package] = max(packages.get(package, 0.0), value[3])
        heaviest = sorted(packages.items(), key=lambda kv: kv[1], reverse=True)[:n]
        return seconds, [{"package": k, "s": round(v, 3)} for k, v in heaviest]

    def lazy_imports(self) -> list[dict[str, Any]]:
        """Imports made inside the project's functions (not at module level): they land in the
        bucket of the function that makes them, once per process."""
        found: dict[Key, float] = {}
        for key in self.keys("_bootstrap>", "_find_and_load"):
            for by, edge in self.stats[key][4].items():
                where = by[0].replace("\\", "/")
                if by[2] != "<module>" and ("/archive/" in where or "/crawler/" in where):
                    found[by] = found.get(by, 0.0) + edge[3]
        rows = sorted(found.items(), key=lambda kv: kv[1], reverse=True)
        return [{"function": _name(k), "s": round(v, 3)} for k, v in rows if v >= 0.01]

    def calls(self, path: str, name: str) -> int:
        """Calls of a function (``path`` "~" for a builtin, else the end of its file's path)."""
        keys = [k for k in self.stats if k[:1] == ("~",) and k[2] == name] if path == "~" else []
        return sum(self.stats[k][1] for k in keys or self.keys(path, name))

    def top(self, n: int) -> list[dict[str, Any]]:
        rows = sorted(self.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:n]
        return [{"function": _name(k), "own_s": round(v[2], 3), "calls": v[1]} for k, v in rows]


def _name(key: Key) -> str:
    path, line, func = key
    if path == "~":
        return func
    path = path.replace("\\", "/")
    for marker in ("/site-packages/", str(ROOT).replace("\\", "/") + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        path = "/".join(path.split("/")[-2:])
    return f"{path}:{line}({func})"


def _named(path: str, function: str) -> Callable[[Key], bool]:
    return lambda key: key[0].replace("\\", "/").endswith(path) and key[2] == function


def _in(*parts: str) -> Callable[[Key], bool]:
    return lambda key: any(p in key[0].replace("\\", "/") for p in parts)


def idle(prof: Profile) -> float:
    """Own time of the reactor's waits for the network (``select.epoll.poll`` and kin)."""
    return sum(
        v[2]
        for (path, _, func), v in prof.stats.items()
        if path == "~"
        and (
            func.startswith("<method 'poll' of 'select.")
            or func == "<built-in method select.select>"
        )
    )


def buckets(prof: Profile) -> dict[str, float]:
    """CPU seconds per bucket (see the module docstring)."""
    total = prof.total()
    # CrawlerProcess.start: the one defined in class CrawlerProcess (the reactor run).
    starts = [k for k in prof.keys("scrapy/crawler.py", "start") if prof.stats[k][3] > 0]
    crawl = max((prof.stats[k][3] for k in starts), default=0.0)
    logging_file = _in(*_LOGGING_FILES)
    not_own = lambda k: not logging_file(k) and not _in(*_OWN_BUCKET_CALLERS)(k)  # noqa: E731
    decode = prof.cum("crawler/decode.py", "decode_body")
    extract = prof.cum("crawler/pipelines/page_plan.py", "plan_page")
    warc = prof.cum("archive/store.py", "write_warcs")
    # A batch's new articles (reprint_batch), an edited article's new text (index_page):
    # neither calls the other.
    reprints = prof.cum("archive/reprint_batch.py", "index_new_pages") + prof.cum(
        "archive/reprints.py", "index_page"
    )
    versions = (
        prof.cum("archive/textdiff.py", "classify_change")
        + prof.cum("archive/versioning.py", "content_sha256")
        + prof.cum("archive/versioning.py", "digests")
    )
    log_stats = prof.edges(logging_file, not_own)
    pipeline = "crawler/pipelines/archive.py"
    storage = (
        prof.cum(pipeline, "flush")  # every batch, the last one from spider_closed too
        + prof.cum(pipeline, "open_spider")
        + prof.cum(pipeline, "spider_closed")
        - prof.edges(_named(pipeline, "flush"), _named(pipeline, "spider_closed"))
        + prof.cum(pipeline, "_renew_lease")
        + prof.cum("crawler/spiders/site.py", "_known_articles")
        - warc
        - reprints
        - versions
        - prof.edges(logging_file, _in("crawler/pipelines/"))
    )
    spider = _in("crawler/spiders/")
    parse = (
        prof.cum("crawler/spiders/site.py", "parse")
        + prof.cum("crawler/spiders/sitemap_mixin.py", "_sitemap")
        - prof.edges(lambda k: k[0].endswith("crawler/decode.py") and k[2] == "decode_body", spider)
        - prof.edges(logging_file, spider)
    )
    named = {
        "links and parse": parse,
        "decode": decode,
        "extract": extract,
        "storage": storage,
        "WARC": warc,
        "versions": versions,
        "reprints": reprints,
        "logging/stats": log_stats,
        "start-up and shutdown": total - crawl,
    }
    engine = total - idle(prof) - sum(named.values())
    return {"Scrapy engine and HTTP": engine, **named}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles-per-site", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--clock", choices=("wall", "thread"), default="wall", help="the profiler's timer"
    )
    parser.add_argument(
        "--no-reference", action="store_true", help="skip the crawl without the profiler"
    )
    parser.add_argument("--keep", type=Path, help="work here (kept) instead of a temp dir")
    parser.add_argument("--readme", type=Path, help="rewrite this README's crawl_profile section")
    args = parser.parse_args()
    load_before = os.getloadavg()
    launcher = Launcher()  # first, while this process is small
    started = time.monotonic()
    try:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=False)
            result = run(args, launcher, args.keep)
        else:
            with tempfile.TemporaryDirectory(prefix="crawl_profile_") as tmp:
                result = run(args, launcher, Path(tmp))
    finally:
        launcher.close()
    result["date"] = dt.date.today().isoformat()
    result["cpus"] = os.cpu_count()
    result["load_before"] = [round(x, 2) for x in load_before]
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    result["total_s"] = round(time.monotonic() - started, 1)
    print(json.dumps(result, ensure_ascii=False))
    if args.readme:
        update_readme(args.readme, result)


def run(args: argparse.Namespace, launcher: Launcher, work: Path) -> dict[str, Any]:
    from world_data import build_world
    from world_server import WorldServer

    from crawler.replica.pages import render_site

    world = build_world(args.articles_per_site, args.seed)
    pages = {s: render_site(site) for s, site in world.sites.items()}
    relaxed_seeds(work / "seeds", 4)
    out = work / "crawl.prof"
    with WorldServer(pages) as server:
        timer = "time.thread_time" if args.clock == "thread" else ""
        code = PROFILED.format(out=str(out), timer=timer)
        profiled = crawl_once(launcher, server, work / "profiled", code)
        reference = None
        if not args.no_reference:
            reference = crawl_once(launcher, server, work / "reference", AFTER)
    prof = Profile(out)
    seconds = buckets(prof)
    articles = profiled["articles"]
    waits = idle(prof)
    total = prof.total() - waits
    import_s, heaviest = prof.imports(5)
    return {
        "articles_per_site": args.articles_per_site,
        "articles": articles,
        "profiled_crawl": profiled,
        "reference_crawl": reference,
        "clock": args.clock,
        "profiled_total_s": round(total, 2),
        "idle_s": round(waits, 2),
        "inflation": (
            round(profiled["cpu_ms_per_article"] / reference["cpu_ms_per_article"], 2)
            if reference
            else None
        ),
        "buckets": {
            name: {
                "ms_per_article": round(1000 * seconds[name] / articles, 2),
                "share": round(seconds[name] / total, 3),
            }
            for name in BUCKETS
        },
        "top_own_time": prof.top(10),
        "imports_s": round(import_s, 2),
        "heaviest_imports": heaviest,
        "lazy_imports": prof.lazy_imports(),
        "calls": {
            "sqlite3 commit": prof.calls("~", "<method 'commit' of 'sqlite3.Connection' objects>"),
            "sqlite3 execute": prof.calls("~", "<method 'execute' of 'sqlite3.Cursor' objects>"),
            "urllib.parse.urlsplit": prof.calls("urllib/parse.py", "urlsplit"),
            "charset_normalizer.from_bytes": prof.calls("charset_normalizer/api.py", "from_bytes"),
            "lxml document_fromstring": prof.calls("lxml/html/__init__.py", "document_fromstring"),
        },
    }


def update_readme(path: Path, result: dict[str, Any]) -> None:
    from profile_readme import section
    from world_readme import write_section

    write_section(path, "crawl_profile", section(result))


if __name__ == "__main__":
    main()
