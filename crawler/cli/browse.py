"""`gonghui status`, `gonghui articles`, `gonghui runs`: read what the archive holds."""

from __future__ import annotations

import click
from rich.table import Table

from crawler.cli.readonly import open_engine, require_site


@click.command(name="status")
@click.pass_context
def status_command(ctx: click.Context) -> None:
    """Per site: pages, articles, versions and the last run.

    \b
    Example:
      gonghui status
    """
    from archive.queries import site_overview
    from crawler.cli.render import console

    table = Table(title="Archive", title_justify="left")
    for column in ("site", "name", "pages", "articles", "versions", "last run", "status"):
        table.add_column(column)
    for row in site_overview(open_engine(ctx)):
        table.add_row(
            row.site_id,
            row.name,
            str(row.pages),
            str(row.articles),
            str(row.versions),
            f"{row.last_run_at:%Y-%m-%d %H:%M}" if row.last_run_at else "-",
            row.last_run_status or "-",
        )
    console().print(table)


@click.command(name="articles")
@click.option("--site", "site_id", help="Only this site.")
@click.option("--limit", default=50, show_default=True, help="How many rows.")
@click.pass_context
def articles_command(ctx: click.Context, site_id: str | None, limit: int) -> None:
    """Archived articles, newest first (current version of each page).

    \b
    Example:
      gonghui articles --site xazgh --limit 10
    """
    from archive.queries import list_articles
    from crawler.cli.render import console

    table = Table(title="Articles", title_justify="left")
    for column in ("site", "published", "title", "来源", "versions", "url"):
        table.add_column(column, overflow="fold")
    engine = open_engine(ctx)
    require_site(engine, site_id)
    for row in list_articles(engine, site_id=site_id, limit=limit):
        table.add_row(
            row.site_id,
            str(row.published or "-"),
            row.title,
            row.source or "-",
            str(row.versions),
            row.url,
        )
    console().print(table)


@click.command(name="runs")
@click.option("--limit", default=20, show_default=True, help="How many runs.")
@click.option("--site", "site_id", help="Only this site's runs.")
@click.option("--coverage", is_flag=True, help="Each run's field coverage, lists, drops.")
@click.pass_context
def runs_command(ctx: click.Context, limit: int, site_id: str | None, coverage: bool) -> None:
    """The latest crawl runs: when, how they ended and why, what they archived and dropped.

    \b
    Example:
      gonghui runs --limit 5
      gonghui runs --site qhzgh
      gonghui runs --coverage
    """
    if coverage:  # what each run archived: shares of date, 来源, author, captions ...
        from crawler.cli.coverage_table import print_coverage

        engine = open_engine(ctx)
        require_site(engine, site_id)
        return print_coverage(engine, limit, site_id)
    from archive.queries import latest_runs
    from crawler.cli.render import console

    table = Table(title="Runs", title_justify="left")
    for column in (
        "run",
        "site",
        "trigger",
        "mode",
        "started",
        "status",
        "pages",
        "articles",
        "new articles",
        "new versions",
        "removed",
        "drops",
        "errors",
    ):
        table.add_column(column)
    engine = open_engine(ctx)
    require_site(engine, site_id)
    for run in latest_runs(engine, limit=limit, site_id=site_id):
        drops = ", ".join(f"{k} {v}" for k, v in (run.drops or {}).items()) or "-"
        status = run.status + (f" ({run.stop_reason})" if run.stop_reason else "")
        if run.resumed_from:
            status += f", resumed run {run.resumed_from}"
        table.add_row(
            str(run.id),
            run.site_id,
            run.trigger,
            run.mode or "-",
            f"{run.started_at:%Y-%m-%d %H:%M:%S}",
            status,
            str(run.pages_fetched),
            str(run.articles_archived),
            str(run.new_articles),
            str(run.new_versions),
            str(run.removals),
            drops,
            str(run.errors),
        )
    console().print(table)
