"""Tables and progress displays shared by the commands (rich)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

if TYPE_CHECKING:  # importing the runner would import Scrapy for `gonghui status`
    from crawler.runner import SiteResult


def console(stderr: bool = False) -> Console:
    out = Console(stderr=stderr, highlight=False)
    if not out.is_terminal:  # piped or captured: do not squeeze tables into 80 columns
        out = Console(stderr=stderr, highlight=False, width=160)
    return out


def summary_table(results: Iterable[SiteResult], title: str = "Crawl summary") -> Table:
    """One row per site: pages fetched, articles archived, new versions, articles seen removed,
    drops, errors, how the crawl ended; below, why a site was stopped early, one line each."""
    results = list(results)
    stops = [f"{r.site_id}: {r.stop_reason}" for r in results if r.stop_reason]
    table = Table(
        title=title,
        title_justify="left",
        caption="\n".join(stops) or None,
        caption_justify="left",
    )
    table.add_column("site", no_wrap=True)
    for column in ("pages", "articles", "new versions", "removed"):
        table.add_column(column, justify="right", no_wrap=True)
    table.add_column("drops by reason")
    table.add_column("errors")
    table.add_column("status", no_wrap=True)
    totals = [0, 0, 0, 0]
    for r in results:
        row = [r.pages_fetched, r.articles_archived, r.new_versions, r.removals]
        totals = [a + b for a, b in zip(totals, row, strict=True)]
        table.add_row(
            r.site_id, *map(str, row), _counts(r.drops), _counts(r.errors), r.finish_reason
        )
    table.add_section()
    table.add_row("total", *map(str, totals), "", "", "")
    return table


def sitemap_lines(results: Iterable[SiteResult]) -> list[str]:
    """What each site's sitemaps listed and flagged; the crawl asks for every flagged article
    (once: one a list or the re-checks already asked for is not fetched twice)."""
    return [
        f"{r.site_id}: sitemap listed {m.get('listed', 0)} articles: {m.get('new', 0)} not "
        f"archived yet, {m.get('changed', 0)} changed since last checked; "
        f"{m.get('absent', 0)} archived ones no longer listed" + _sitemap_limits(m)
        for r in results
        if (m := r.sitemap)
    ]


def _sitemap_limits(m: Mapping[str, int]) -> str:
    """What the per-run bounds left unread or unasked (crawler/spiders/sitemap_mixin.py)."""
    notes = [
        f"{m[key]} {what}"
        for key, what in (
            ("over_cap", "more not asked for (max_pages)"),
            ("documents_skipped", "sitemaps not read (50 a run)"),
            ("malformed", "malformed sitemaps read as far as they go"),
            ("stopped", "sitemap readings cut short by the stop"),
        )
        if m.get(key)
    ]
    return "; " + ", ".join(notes) if notes else ""


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "-"


class CrawlProgress:
    """A live line per site, counting up as the crawl goes (crawler.runner._connect_progress
    calls ``update`` when a site starts, after every page it stores, and when it ends): state
    (starting, crawling, finished, failed: why), pages fetched, articles archived, new versions.
    """

    def __init__(self, sites: Mapping[str, str], out: Console):
        self.rows: dict[str, dict[str, Any]] = {
            s: {"name": n, "state": "starting"} for s, n in sites.items()
        }
        self.live = Live(self._table(), console=out, refresh_per_second=8, transient=True)

    def __enter__(self) -> CrawlProgress:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(*exc)  # type: ignore[arg-type]

    def update(self, site_id: str, stats: Mapping[str, Any]) -> None:
        state = stats.get("gonghui/state", "crawling")
        if state == "failed":
            state = f"failed: {stats.get('finish_reason', '?')}"
        self.rows[site_id].update(
            pages=stats.get("gonghui/pages_fetched", 0),
            articles=stats.get("gonghui/articles_archived", 0),
            versions=stats.get("gonghui/new_versions", 0),
            state=state,
        )
        self.live.update(self._table())  # drawn by Live's own refresh, 8 times a second

    def _table(self) -> Table:
        table = Table(box=None, show_header=True, header_style="bold")
        table.add_column("site", no_wrap=True)
        table.add_column("state", no_wrap=True)
        for column in ("pages", "articles", "new versions"):
            table.add_column(column, justify="right", no_wrap=True)
        for site_id, row in self.rows.items():
            table.add_row(
                site_id,
                row["state"],
                str(row.get("pages", 0)),
                str(row.get("articles", 0)),
                str(row.get("versions", 0)),
            )
        return table
