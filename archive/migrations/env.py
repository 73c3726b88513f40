"""Alembic environment for the archive schema.

Where the database URL comes from, first match wins:

1. a connection handed over by ``archive.db.migrate`` (``config.attributes["connection"]``);
2. ``alembic -x url=postgresql://user@host/db upgrade head``;
3. ``sqlalchemy.url`` set on the Config in code;
4. ``GONGHUI_DATABASE_URL`` through ``archive.config.load_settings()``, whose default is the
   SQLite file ``gonghui.sqlite3`` in the current directory.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from archive.config import load_settings
from archive.db import SQLITE_WRITE, check_foreign_keys, make_engine, sqlite_foreign_keys
from archive.models import Base

config = context.config
target_metadata = Base.metadata


def _database_url() -> str:
    x_url = context.get_x_argument(as_dictionary=True).get("url")
    return x_url or config.get_main_option("sqlalchemy.url") or load_settings().database_url


def _run(connection: Connection) -> None:
    """All pending revisions in one transaction: a kill or an error anywhere leaves the
    database as it was, never tables without their version bump.

    On SQLite that transaction is real because ``archive.db.make_engine`` sends BEGIN itself
    (IMMEDIATE here: the migration holds the write lock from the version check on). Alembic
    would otherwise commit each revision apart, its default for SQLite; and the foreign keys
    are off meanwhile (Alembic's advice for batch mode), checked once before the commit.
    """
    sqlite = connection.dialect.name == "sqlite"
    if not sqlite:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection.execution_options(**{SQLITE_WRITE: True})
    # A caller that handed over a connection already in its own transaction owns it: the
    # pragma cannot change inside it, so the keys stay as they are (and so does the caller's
    # transaction, which turning them back on would have to drop).
    owned = not connection.in_transaction()
    if owned:
        sqlite_foreign_keys(connection, on=False)
    try:
        _configure(connection, transactional_ddl=True)
        with context.begin_transaction():
            before = context.get_context().get_current_heads()
            context.run_migrations()
            # Only when a revision ran: on a current archive of 100 k pages the check is 0.7 s
            # of every crawl's start, for a schema nothing changed.
            if context.get_context().get_current_heads() != before:
                check_foreign_keys(connection)
    finally:  # Alembic has committed or rolled back by now
        if owned:
            sqlite_foreign_keys(connection, on=True)


def _configure(connection: Connection, **options: object) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
        **options,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=_database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=_database_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as connection:
            _run(connection)
            connection.commit()
    finally:
        engine.dispose()


if config.config_file_name is not None and config.get_section("loggers") is not None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
