"""The README section of benchmarks/crawl_world.py, written between its two markers.

Everything between ``<!-- crawl_world:begin -->`` and ``<!-- crawl_world:end -->`` is
generated from one run's result (text, tables and the verdicts alike), so the figures and the
words about them cannot drift apart. The markers are added at the end of the Benchmarks section
(before the next ``## `` heading, or at the end of the file) when the README has none.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGET_SHARE = 0.05  # issue 6: at most 5% of known article pages fetched by a second crawl


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def section(r: dict[str, Any]) -> str:
    ex = r["extractors"]
    first, second = r["crawls"]
    shares = r["second_crawl"]
    changes = r["changes"]
    conditional = [s for s in r["sites"] if shares[s]["with_etag"]]
    plain = [s for s in r["sites"] if not shares[s]["with_etag"]]
    lines = [
        "Crawling a replica world, `benchmarks/crawl_world.py`: the five replica sites (the "
        "seeds' ids, layouts, charsets and pagination, rendered by "
        f"`crawler/replica/render_*.py`) with {r['articles_per_site']} synthetic articles each "
        f"({r['articles']} in all; the first crawl archived {first['archived']}): bodies of sentences mixed from 2-4 clauses of the replica's "
        "seed text, distinct titles, dates spread over three years, tibet3 through the mirror's "
        "zh-Hant converter, bcrb as editions of 2-3 版面. The world is served on 127.0.0.1 by "
        f"the replica's HTTP handler: ETag and 304 for {', '.join(conditional) or 'none'}, no "
        f"validator from {', '.join(plain) or 'none'}; a `/sitemap.xml` named in robots.txt "
        "(every live article with the time it last changed, as a CMS writes it) from "
        f"{', '.join(r.get('sitemap_sites') or []) or 'none'}, whose seeds read it. Each crawl "
        "is a real "
        "`gonghui crawl --all --origin SITE=URL ...` subprocess on a fresh SQLite archive, with "
        "the seeds' politeness **relaxed for a local benchmark**: `download_delay = 0`, "
        f"AutoThrottle off, {r['concurrency']} requests in flight per site, `max_pages` 10^6 "
        "(robots.txt still obeyed; the shipped seeds are not changed). Between the crawls the "
        "world changes: every view counter moves; on each site some of the newest articles are "
        "edited (a typo fixed or a paragraph added), retitled or taken down (404/410) and new "
        "ones appear (bcrb: a new edition); on "
        "qhzgh and tibet3 articles a year old are edited or removed as well. The second crawl "
        "has no flags (incremental: the archive holds a finished full run).",
        "",
        "Columns: responses, every answer the world sent (robots.txt, sitemap.xml, home, list, article, 304); "
        "article 200 / 304 / gone, the answers to article URLs; list pages, 栏目 and 版面 pages "
        "read; wall s, the crawl process from exec to exit (start-up and migrations included); "
        "pages/s, responses / wall s; CPU s, user + system time of the crawl process "
        "(`os.wait4`); CPU ms/response, CPU s over responses; CPU ms/article, CPU s over the "
        "articles the first crawl archived (the second archives a handful and confirms the rest "
        "with 304s, so it has none); × trafilatura, that over bare `trafilatura.extract(html)` on the same first-crawl "
        f"article pages in the same run ({ex['trafilatura_ms_per_page']} ms CPU per page over "
        f"{ex['pages']} pages; the project's own `extract_article` alone: "
        f"{ex['extract_article_ms_per_page']} ms); peak RSS, the crawl process's ru_maxrss. "
        f"{r['cpus']} CPUs; the whole benchmark took {r['total_s']:.0f} s.",
        "",
        "| crawl | mode | responses | article 200 | article 304 | article gone | list pages "
        "| wall s | pages/s | CPU s | CPU ms/response | CPU ms/article | × trafilatura "
        "| peak RSS MB | archived | new versions | removals |",
        "|---" * 17 + "|",
    ]
    for c in (first, second):
        lines.append(
            "| "
            + " | ".join(
                str(x)
                for x in (
                    c["crawl"],
                    "/".join(c["modes"]),
                    c["responses"],
                    c["article_200"],
                    c["article_304"],
                    c["article_gone"],
                    c["list_pages"],
                    c["wall_s"],
                    c["pages_per_s"],
                    c["cpu_s"],
                    c["cpu_ms_per_response"],
                    c["cpu_ms_per_archived"] or "-",
                    c.get("x_trafilatura", "-"),
                    c["peak_rss_mb"],
                    c["archived"],
                    c["new_versions"],
                    c["removals"],
                )
            )
            + " |"
        )
    drops = first["drops"]
    lines += [
        "",
        "First crawl drops by reason: "
        + (", ".join(f"{k} {v}" for k, v in sorted(drops.items())) or "none")
        + ".",
        "",
        "Second crawl per site: known, the article pages archived by the first crawl; fetched, "
        "answered with a body (200); requested, asked for at all (304 re-checks and 404/410 "
        "included); new, articles first published between the crawls; changes found, edits, "
        "retitles, removals and new articles the archive recorded with the right change class "
        "(found/changed):",
        "",
        "| site | ETag | known | fetched (200) | 304 | gone | share fetched | share requested "
        "| new fetched | list pages | changes found |",
        "|---" * 11 + "|",
    ]
    for site in [*r["sites"], "all"]:
        s = shares[site]
        lists = (
            second["list_pages"]
            if site == "all"
            else second["per_site"].get(site, {}).get("list", 0)
        )
        found = (
            f"{changes['found']}/{changes['total']}"
            if site == "all"
            else changes["by_site"].get(site, "-")
        )
        etag = "-" if site == "all" else "yes" if s["with_etag"] else "no"
        lines.append(
            f"| {site} | {etag} | {s['known']} | {s['fetched_200']} "
            f"| {s['not_modified_304']} | {s['gone']} | {_pct(s['share_fetched'])} "
            f"| {_pct(s['share_requested'])} | {s['new_articles_fetched']} | {lists} | {found} |"
        )
    lines += ["", *verdicts(r)]
    return "\n".join(lines)


def verdicts(r: dict[str, Any]) -> list[str]:
    """Plain sentences on the two acceptance figures, whatever they came out as."""
    shares = r["second_crawl"]
    changes = r["changes"]
    total = shares["all"]
    first_lists, second_lists = (c["per_site"] for c in r["crawls"])
    out = []
    over = total["share_requested"] is not None and total["share_requested"] > TARGET_SHARE
    out.append(
        f"- Known article pages the second crawl fetched: {_pct(total['share_fetched'])} with a "
        f"body, {_pct(total['share_requested'])} requested at all (re-checks included): "
        + ("**above** the 5% target." if over else "within the 5% target.")
    )
    etag_sites = [s for s in r["sites"] if shares[s]["with_etag"]]
    rechecked = sum(shares[s]["requested"] for s in etag_sites)
    with_etag = sum(shares[s]["with_etag"] for s in etag_sites)
    if over and with_etag:
        not_modified = sum(shares[s]["not_modified_304"] for s in etag_sites)
        every = rechecked >= 0.99 * with_etag
        out.append(
            f"  On {', '.join(etag_sites)} {rechecked} of the {with_etag} known articles with "
            f"an ETag were asked for again ({not_modified} answered 304, no body)"
            + (
                ": the incremental crawl re-checks every article whose server sent a "
                "validator, so its requests grow with the archive even when nothing changed."
                if every
                else "."
            )
        )
    lists = [
        f"{s} {first_lists.get(s, {}).get('list', 0)}→{second_lists.get(s, {}).get('list', 0)}"
        for s in r["sites"]
    ]
    out.append(
        f"- List pages read, first crawl → second: {', '.join(lists)}. Stop-when-seen: an "
        "incremental crawl does not walk on from a list page that links an archived article "
        "(lists run newest first); the list pages a start page links are read, except that "
        "an e-paper's front page (往期回顾, linking every edition) is followed only to the "
        "editions not older than the newest one archived."
    )
    by_kind = ", ".join(f"{k} {v}" for k, v in changes["by_kind"].items())
    out.append(f"- Changes found: {changes['found']}/{changes['total']} ({by_kind}).")
    for m in changes["missed"]:
        what = {"edit": "the edit", "retitle": "the retitle", "removed": "the removal"}
        out.append(
            f"  **Missed**: {m['site']}, {what.get(m['kind'], m['kind'])} of {m['path']} "
            f"({m['age_days']} days older than the newest article; versions made: "
            f"{', '.join(m['classes']) or 'none'}): {m['why']}."
        )
    without = [s for s in r["sites"] if s not in (r.get("sitemap_sites") or [])]
    if without:
        out.append(
            f"- No sitemap on {', '.join(without)}: there an edit or removal of an article "
            "older than `recent_days` that no list shows waits for its turn in the rotation "
            "(within `recheck_days` crawls) or the next deep crawl"
            + (
                "; this world plants no such change there."
                if not any(
                    c["site"] in without and c["age"] == "old"
                    for c in [*changes["found_records"], *changes["missed"]]
                )
                else "."
            )
        )
    out.append(
        f"- Versions the second crawl made that no change explains: "
        f"{changes['unexplained_versions']}."
    )
    return out


def update_readme(path: Path, result: dict[str, Any]) -> None:
    write_section(path, "crawl_world", section(result))


def write_section(path: Path, name: str, text: str) -> None:
    """Rewrite what stands between ``<!-- NAME:begin -->`` and ``<!-- NAME:end -->`` in the
    README (the benchmarks' one writer); the markers are added at the end of the Benchmarks
    section when missing."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    content = path.read_text(encoding="utf-8")
    if begin not in content or end not in content:
        start = content.find("\n## Benchmarks")
        if start < 0:
            raise SystemExit("README has no '## Benchmarks' section")
        nxt = content.find("\n## ", start + 1)
        cut = len(content) if nxt < 0 else nxt
        content = f"{content[:cut].rstrip()}\n\n{begin}\n{end}\n{content[cut:]}"
    before, rest = content.split(begin, 1)
    _, after = rest.split(end, 1)
    path.write_text(f"{before}{begin}\n{text}\n{end}{after}", encoding="utf-8")
