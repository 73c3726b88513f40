"""The `gonghui` command. Subcommands live one per module and are imported only when run,
so `gonghui --help` and `gonghui export` never pay for importing Scrapy."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import click

from archive.config import Settings, load_settings
from archive.errors import GonghuiError

# name -> (module, help line). The module defines `command`, a click.Command.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": (
        "crawler.cli.demo",
        "Serve the five replica sites and crawl them into ./ (try this first).",
    ),
    "crawl": ("crawler.cli.crawl", "Crawl sites named by their seed file into the archive."),
    "extract": (
        "crawler.cli.extract",
        "Extract articles from saved page files, one JSON line each.",
    ),
    "sites": ("crawler.cli.sites", "List the seed files (sites that can be crawled)."),
    "status": ("crawler.cli.browse", "What the archive holds, per site."),
    "articles": ("crawler.cli.browse", "List archived articles (current versions)."),
    "runs": ("crawler.cli.browse", "Latest crawl runs with their counts and drop reasons."),
    "history": ("crawler.cli.history", "Every version of one archived article, with change classes."),
    "diff": ("crawler.cli.history", "What changed between two versions of an article, by sentence."),
    "reprints": ("crawler.cli.history", "Clusters of the same article reposted across sites."),
    "export": ("crawler.cli.export", "Write articles, versions and reprints (JSONL, CSV, Parquet), a datasette SQLite or a WACZ."),
    "verify": ("crawler.cli.verify", "Check every capture reads back intact from its WARC file."),
    "health": ("crawler.cli.health", "Open findings per site (drift monitoring); exit 0/1/2."),
    "schedule": (
        "crawler.cli.schedule",
        "Run the nightly crawl scheduler (APScheduler) in the foreground.",
    ),
    "replica": ("crawler.cli.replica", "Serve the replica sites on their seed ports until Ctrl-C."),
    "db": ("crawler.cli.db", "Database maintenance: upgrade the schema."),
    "serve": ("crawler.cli.serve", "Browse the archive in a web browser (read-only, 127.0.0.1)."),
    "worker": ("crawler.cli.worker", "Run queued crawl jobs (procrastinate on PostgreSQL)."),
    "enqueue": ("crawler.cli.enqueue", "Queue crawl or backfill jobs for the workers."),
    "jobs": ("crawler.cli.jobs", "List the workers' queue: queued, running, stalled, failed."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        return getattr(module, f"{cmd_name}_command", None) or module.command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, help_) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except GonghuiError as exc:
            click.secho(f"error: {exc}", fg="red", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--database",
    "database_url",
    metavar="URL",
    help="Archive database URL [env GONGHUI_DATABASE_URL; default sqlite:///gonghui.sqlite3].",
)
@click.option(
    "--warc-dir",
    type=click.Path(path_type=Path),
    help="Folder for WARC files [env GONGHUI_WARC_DIR; default ./warc].",
)
@click.option(
    "--seeds-dir",
    type=click.Path(path_type=Path),
    help="Folder of seed files [env GONGHUI_SEEDS_DIR; default the shipped seeds/].",
)
@click.version_option("0.1.0", prog_name="gonghui")
@click.pass_context
def cli(
    ctx: click.Context, database_url: str | None, warc_dir: Path | None, seeds_dir: Path | None
) -> None:
    """Gonghui Archive: crawl Chinese trade-union news sites into a versioned archive.

    \b
    Example:
      gonghui demo                 # replica sites -> ./gonghui.sqlite3 + ./warc
      gonghui articles --site bcrb
      gonghui export --format jsonl -o articles.jsonl
    """
    ctx.obj = load_settings().with_overrides(
        database_url=database_url, warc_dir=warc_dir, seeds_dir=seeds_dir
    )


def settings_of(ctx: click.Context) -> Settings:
    settings = ctx.find_root().obj
    assert isinstance(settings, Settings)
    return settings


if __name__ == "__main__":
    cli()
