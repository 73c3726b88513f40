"""The README section of benchmarks/growth.py (between ``<!-- growth:begin/end -->``)."""

from __future__ import annotations

from typing import Any

from world_readme import write_section

LIMIT = 1.2  # issue 14: empty vs 100 k within 20 %


def section(r: dict[str, Any]) -> str:
    rows = [
        "| backend | archive before | pages in archive after | articles archived | crawled"
        " pages clustered | wall s | crawl CPU s | crawl CPU ms/article | server CPU ms/article"
        " | crawl + server ms/article | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    for name, b in r["backends"].items():
        for arm in ("empty", "100k"):
            m = {k: _int(v) for k, v in b["medians"][arm].items()}
            rows.append(
                f"| {name} | {arm} | {m['pages_in_archive']} | {m['articles']}"
                f" | {m['crawled_pages_clustered']} | {m['wall_s']} | {m['cpu_s']}"
                f" | {m['cpu_ms_per_article']} | {m.get('server_ms_per_article', '-')}"
                f" | {m.get('total_ms_per_article', '-')} | {m['peak_rss_mb']} |"
            )
        ratio = b["ratio_100k_over_empty"]
        cpu = ratio["cpu_ms_per_article"]
        text = f"{name}: {cpu}× the crawl's CPU per article"
        if "total_ms_per_article" in ratio:
            text += f", {ratio['total_ms_per_article']}× with the server's backends"
        worst = max(v for k, v in ratio.items() if k != "wall_s")
        verdicts.append(text + (" (within 20 %)" if worst <= LIMIT else " (**not** within 20 %)"))
    intro = (
        f"Cost as the archive grows, `benchmarks/growth.py` (issue 14, point 5), on {r['date']},"
        f" {r['cpus']} CPUs, `uptime` before: `{r['uptime_before']}`, after:"
        f" `{r['uptime_after']}`; the whole benchmark took {r['total_s']} s. The replica world of"
        f" `crawl_world.py` ({r['articles_per_site']} articles per site, five sites) crawled with"
        " `gonghui crawl --all` and the relaxed seeds into a fresh copy of an **empty** archive"
        f" and of one already holding **{r['corpus_pages']}** synthetic articles of"
        " `reprints_100k.py` (its `clauses` corpus and loader: pages, captures, versions, texts,"
        f" {r['corpus_lsh_band_rows']} band keys, a signature each, clusters; on sites of their"
        " own, so the crawl does not re-check them, but its store reads and writes beside every"
        " row of them; loaded on SQLite, copied into PostgreSQL with COPY, ANALYZEd there);"
        f" {r['rounds']} rounds, the arms' order alternating, medians. Crawl CPU is user + system"
        " time of the crawl process (`os.wait4`); on PostgreSQL the server's client backends"
        " for that database are sampled from /proc every 0.1 s during the crawl (a backend's"
        " last 0.1 s at most is missed, autovacuum not counted). Crawled pages clustered: pages"
        " of the crawl put in a reprint cluster. CPU per article includes the crawl process's"
        " start-up and is inflated by the machine's load (see `uptime`). **100k over empty: "
        + "; ".join(verdicts)
        + ".**"
    )
    return intro + "\n\n" + "\n".join(rows)


def _int(v: Any) -> Any:
    """A median of counts stays a count (the JSON may hold 639.0)."""
    return int(v) if isinstance(v, float) and v == int(v) else v


def update_readme(path: Any, result: dict[str, Any]) -> None:
    write_section(path, "growth", section(result))
