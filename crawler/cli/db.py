"""`gonghui db upgrade`: bring the archive schema to the newest migration."""

from __future__ import annotations

import click

from crawler.cli.main import settings_of


@click.group(name="db")
def command() -> None:
    """Database maintenance.

    \b
    Example:
      gonghui db upgrade
    """


@command.command(name="upgrade")
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Run the Alembic migrations up to head (crawls do this themselves too).

    \b
    Example:
      GONGHUI_DATABASE_URL=postgresql://postgres@127.0.0.1/gonghui gonghui db upgrade
    """
    from archive.db import migrate

    settings = settings_of(ctx)
    migrate(settings.database_url)
    click.echo(f"schema is at head: {settings.database_url}")
