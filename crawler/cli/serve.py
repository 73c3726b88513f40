"""`gonghui serve`: the read-only web view of the archive (web/), under waitress."""

from __future__ import annotations

import click

from archive.errors import ConfigError
from crawler.cli.main import settings_of
from crawler.cli.readonly import open_engine


@click.command(name="serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64))
@click.pass_context
def command(ctx: click.Context, host: str, port: int, threads: int) -> None:
    """Browse the archive in a web browser: search in Chinese, every version of an article on
    a timeline with diffs, reprints, the raw capture, site health, changes as Atom feeds.

    Reads only (the database is opened read-only). Listens on 127.0.0.1 unless told otherwise:
    there is no login, so think before you put it on a public address.

    \b
    Example:
      gonghui serve                    # then open http://127.0.0.1:8000/
      gonghui --database postgresql://archive@db/gonghui serve --port 8080
    """
    import waitress

    from archive.db import display_url
    from web import create_app

    settings = settings_of(ctx)
    open_engine(ctx).dispose()  # an archive at this release's schema, or one error line
    app = create_app(settings.database_url, settings.warc_dir)
    try:
        server = waitress.create_server(app, host=host, port=port, threads=threads)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    port = getattr(server, "effective_port", port)
    where = display_url(settings.database_url)
    click.echo(f"serving {where} on http://{host}:{port}/ (Ctrl-C stops)", err=True)
    try:
        server.run()
    finally:
        server.close()
