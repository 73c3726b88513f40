"""What a storage failure means for the crawl that met it.

- **transient**: worth retrying after a pause: SQLite's write lock held past the busy timeout,
  a PostgreSQL connection terminated or lost (the pool hands out a new one), a serialisation
  failure or deadlock, a server that refuses connections while it restarts;
- **fatal**: it will not go away by waiting, and every further page would fail alike: a
  read-only database, a full disk, an I/O error, a WARC folder that cannot be written. The
  crawl of the site stops at once, with the cause in one line;
- **page**: something about this one page (a constraint, a value the column refuses, a bug):
  the page is counted and owed, the crawl goes on.

The messages are the drivers' own (sqlite3, psycopg); they are matched on their stable parts.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

from archive.errors import DatabaseError, StorageError

TRANSIENT, FATAL, PAGE = "transient", "fatal", "page"

_FATAL_MESSAGES = (
    "readonly database",
    "read-only",
    "read only",
    "database or disk is full",
    "no space left",
    "could not extend file",
    "disk i/o error",
    "unable to open database file",
    "file is not a database",
    "database disk image is malformed",
    "no such table",
    "permission denied",
)


def classify(exc: BaseException) -> str:
    """TRANSIENT, FATAL or PAGE for an exception raised while storing a page."""
    if isinstance(exc, StorageError):  # WARC files: disk full, read-only, missing folder
        return FATAL
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else exc
    message = str(getattr(cause, "orig", None) or cause or exc).lower()
    if any(text in message for text in _FATAL_MESSAGES):
        return FATAL
    if isinstance(cause, DBAPIError) and cause.connection_invalidated:
        return TRANSIENT
    if isinstance(cause, OperationalError):
        return TRANSIENT  # locked, busy, connection lost or refused, deadlock, serialisation
    if isinstance(exc, DatabaseError) and cause is None:
        return TRANSIENT
    return PAGE
