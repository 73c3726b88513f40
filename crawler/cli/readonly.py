"""Opening the archive for a command: reads never create, migrate or guess.

``gonghui status``, ``articles``, ``runs``, ``history``, ``diff``, ``reprints`` and ``export``
only read. Run in the wrong folder, or given a mistyped ``--database sqlite:///typo.sqlite3``,
they used to migrate (and so create) an empty archive and show empty tables. Now
``open_engine(ctx)`` refuses, with one DatabaseError line (exit 3) and without creating
anything, a database that is not an archive at this release's schema:

- SQLite: a missing file (checked before anything connects, so no file appears), a file
  without the archive's tables, a file that is not SQLite;
- PostgreSQL: a database without the archive's tables (never migrated);
- either: an archive at an older schema revision (``gonghui db upgrade`` brings it up; a
  read does not migrate) or a newer one (migrated by a newer release).

Commands that write (crawl, demo, ``db upgrade``, ``reprints --reindex``, schedule) call
``open_engine(ctx, write=True)`` or migrate themselves, and so create the archive.

``require_site`` refuses a ``--site`` the archive's site table does not hold (ConfigError,
exit 2), naming the sites it does hold.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from pathlib import Path

import click
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError

from archive.errors import ConfigError, DatabaseError
from crawler.cli.main import settings_of

CREATE_HINT = "a crawl or `gonghui db upgrade` creates one"
UPGRADE_HINT = "`gonghui db upgrade` brings it up to date"


def open_engine(ctx: click.Context, *, write: bool = False) -> Engine:
    """An engine on the configured archive. ``write=True`` migrates (creating the archive
    if need be); otherwise the archive must already exist at this release's schema."""
    from archive.db import make_engine, migrate, normalise_url

    database_url = settings_of(ctx).database_url
    if write:
        migrate(database_url)
        return make_engine(database_url)
    url = normalise_url(database_url)
    if url.get_backend_name() == "sqlite":
        revision = _sqlite_revision(url)
        engine = make_engine(url)
    else:
        engine = make_engine(url)
        revision = _revision(engine)
    _check_revision(url, revision)
    return engine


def require_site(engine: Engine, site_id: str | None) -> None:
    """ConfigError naming the archive's sites when ``site_id`` is not one of them."""
    if site_id is None:
        return
    from archive.db import database_error
    from archive.models import Site

    try:
        with engine.connect() as conn:
            known = list(conn.scalars(select(Site.id).order_by(Site.id)))
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc
    if site_id not in known:
        holds = (
            f"the archive holds {', '.join(known)}" if known else "the archive holds no site yet"
        )
        raise ConfigError(f"unknown site {site_id!r}: {holds} (a site is known once crawled)")


def _sqlite_revision(url: URL) -> str | None:
    """The schema revision of an SQLite archive, read without creating or changing the file."""
    from archive.db import display_url, short_reason

    path = _sqlite_path(url.database)
    if path is None:
        raise DatabaseError(f"no archive in an in-memory SQLite database ({CREATE_HINT})")
    where = path.resolve()
    if not path.exists():
        raise DatabaseError(f"no archive at {where}: the file does not exist ({CREATE_HINT})")
    if not path.is_file():
        raise DatabaseError(f"no archive at {where}: it is not a file")
    try:
        # mode=rw: opens an existing file, never creates one (even if it vanished meanwhile)
        conn = sqlite3.connect(f"file:{urllib.parse.quote(str(path))}?mode=rw", uri=True)
    except sqlite3.Error as exc:
        raise DatabaseError(
            f"cannot open database {display_url(url)}: {short_reason(exc)}"
        ) from exc
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if "alembic_version" not in tables:
            raise DatabaseError(
                f"no archive at {where}: the database has no archive tables ({CREATE_HINT})"
            )
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error as exc:
        raise DatabaseError(
            f"cannot open database {display_url(url)}: {short_reason(exc)}"
        ) from exc
    finally:
        conn.close()
    return row[0] if row else None


def _sqlite_path(database: str | None) -> Path | None:
    if not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # ?uri=true URLs
        raw = urllib.parse.unquote(database[5:].split("?", 1)[0])
        if not raw or raw == ":memory:" or "mode=memory" in database:
            return None
        return Path(raw)
    return Path(database)


def _revision(engine: Engine) -> str | None:
    from archive.db import database_error, display_url

    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                raise DatabaseError(
                    f"no archive in database {display_url(engine.url)}: it has no archive "
                    f"tables ({CREATE_HINT})"
                )
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except SQLAlchemyError as exc:
        raise database_error(engine, exc) from exc


def _check_revision(url: URL, revision: str | None) -> None:
    from alembic.script import ScriptDirectory

    from archive.db import MIGRATIONS_DIR, display_url

    scripts = ScriptDirectory(str(MIGRATIONS_DIR))
    heads = set(scripts.get_heads())
    if revision in heads:
        return
    where = display_url(url)
    if revision is None:
        raise DatabaseError(
            f"no archive in database {where}: it was never migrated ({CREATE_HINT})"
        )
    known = {script.revision for script in scripts.walk_revisions()}
    if revision in known:
        raise DatabaseError(
            f"the archive {where} is at schema revision {revision}, this release reads "
            f"{', '.join(sorted(heads))} ({UPGRADE_HINT}; a read never migrates)"
        )
    raise DatabaseError(
        f"the archive {where} is at schema revision {revision}, unknown to this release "
        f"(migrated by a newer one?): use that release"
    )
