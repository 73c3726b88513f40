"""`gonghui runs --coverage`: each run's coverage (archive.coverage) as a table."""

from __future__ import annotations

from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from archive import coverage as cov
from crawler.cli.render import console


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def print_coverage(engine: Engine, limit: int, site_id: str | None) -> None:
    table = Table(title="Run coverage", title_justify="left")
    columns = ("run", "site", "articles", "extracted", "date", "来源", "author", "captions")
    for column in (*columns, "median body", "fallback", "lists", "links/list", "drops", "errors"):
        table.add_column(column)
    with Session(engine) as session:
        for c in cov.latest(session, site_id, limit):
            links = cov.links_per_list(c)
            table.add_row(
                str(c.run_id),
                c.site_id,
                str(c.articles),
                str(c.extracted),
                *(_pct(cov.share(c, field)) for field in cov.FIELDS),
                "-" if c.median_body is None else str(c.median_body),
                _pct(cov.fallback_share(c)),
                "-" if c.list_pages is None else str(c.list_pages),
                "-" if links is None else f"{links:.1f}",
                ", ".join(f"{k} {v}" for k, v in (c.drops or {}).items()) or "-",
                ", ".join(f"{k} {v}" for k, v in (c.errors or {}).items()) or "-",
            )
    console().print(table)
