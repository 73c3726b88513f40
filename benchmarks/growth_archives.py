"""Where benchmarks/growth.py's archives live: the two templates (empty, 100k) and a fresh copy
of one per crawl, on SQLite (files) and PostgreSQL (``CREATE DATABASE ... TEMPLATE``); the CPU of
PostgreSQL's backends, sampled from /proc.

The 100k template is loaded once, on SQLite, by reprints_100k.py's loader (or taken from a file
it loaded before, ``--corpus-file``: its sites are renamed ``old-<id>``); PostgreSQL's is
copied from it with ``COPY`` (the loader's row-by-row inserts took half an hour on this
machine), so both backends hold the very same rows.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import threading
from pathlib import Path

PREFIX = "old-"  # the loaded corpus's sites: the replica's ids with this in front
_TICK = os.sysconf("SC_CLK_TCK")


def adopt(path: Path) -> None:
    """Rename an archive's sites ``old-<id>`` (every ``site_id`` column and ``site.id``)."""
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")')]
            column = "id" if table == "site" else "site_id" if "site_id" in columns else None
            if column:
                conn.execute(
                    f'UPDATE "{table}" SET "{column}" = ? || "{column}"'
                    f' WHERE "{column}" NOT LIKE ?',
                    (PREFIX, f"{PREFIX}%"),
                )
        conn.execute("UPDATE site SET base_url = 'http://' || id || '.bench.invalid/'")


def copy_to_postgres(sqlite_path: Path, pg_dsn: str) -> dict[str, int]:
    """Every row of the archive's tables from SQLite into a migrated, empty PostgreSQL
    database with COPY; sequences moved past the ids, ANALYZE. Rows per table."""
    import psycopg
    from sqlalchemy import Integer

    from archive.models import Base

    counts: dict[str, int] = {}
    src = sqlite3.connect(sqlite_path)
    with psycopg.connect(pg_dsn) as dst:
        dst.execute("SET TIME ZONE 'UTC'")  # SQLite holds UTC wall times without a zone
        present = {r[0] for r in src.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for table in Base.metadata.sorted_tables:
            if table.name not in present:  # a model ahead of the migrations
                continue
            names = [c.name for c in table.columns]
            quoted = ", ".join(f'"{n}"' for n in names)
            rows = src.execute(f'SELECT {quoted} FROM "{table.name}"')
            with dst.cursor().copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                n = 0
                for row in rows:
                    copy.write_row(row)
                    n += 1
            counts[table.name] = n
            if "id" in names and isinstance(table.c.id.type, Integer) and n:
                dst.execute(
                    f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'),"
                    f' (SELECT max(id) FROM "{table.name}"))'
                )
        dst.commit()
    src.close()
    with psycopg.connect(pg_dsn, autocommit=True) as dst:
        dst.execute("ANALYZE")  # what autovacuum does soon after a bulk load
    return counts


class SQLiteArchives:
    """The templates as files; a round's archive is a copy."""

    name = "SQLite"

    def __init__(self, work: Path) -> None:
        self.work = work

    def template(self, arm: str) -> str:
        return f"sqlite:///{self.work / f'{arm}.sqlite3'}"

    def fresh(self, arm: str, work: Path) -> str:
        shutil.copyfile(self.work / f"{arm}.sqlite3", work / "archive.sqlite3")
        return f"sqlite:///{work / 'archive.sqlite3'}"

    def done(self, url: str) -> None:
        Path(url.removeprefix("sqlite:///")).unlink()

    def server_cpu(self, url: str) -> BackendCPU | None:
        return None

    def close(self) -> None:
        pass


class PostgresArchives:
    """The templates as databases; a round's archive is ``CREATE DATABASE ... TEMPLATE``."""

    name = "PostgreSQL"

    def __init__(self, url: str) -> None:
        from archive.db import normalise_url

        self.base = normalise_url(url)
        self.admin = self.base.set(drivername="postgresql").render_as_string(hide_password=False)
        self.prefix = f"gonghui_growth_{secrets.token_hex(4)}"
        self.made: list[str] = []
        self.count = 0

    def _create(self, name: str, template: str | None = None) -> str:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            suffix = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{suffix}')
        self.made.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def template(self, arm: str) -> str:
        return self._create(f"{self.prefix}_{arm}")

    def fresh(self, arm: str, work: Path) -> str:
        self.count += 1
        return self._create(f"{self.prefix}_{self.count}", f"{self.prefix}_{arm}")

    def done(self, url: str) -> None:
        self._drop(url.rsplit("/", 1)[1])

    def _drop(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.made.remove(name)

    def dsn(self, url: str) -> str:
        """The libpq form of a database URL made here (for psycopg itself)."""
        name = url.rsplit("/", 1)[1]
        return self.base.set(drivername="postgresql", database=name).render_as_string(
            hide_password=False
        )

    def server_cpu(self, url: str) -> BackendCPU:
        return BackendCPU(self.admin, url.rsplit("/", 1)[1])

    def close(self) -> None:
        for name in list(self.made):
            self._drop(name)


class BackendCPU(threading.Thread):
    """CPU seconds of the client backends connected to one database, sampled from /proc."""

    def __init__(self, admin_dsn: str, database: str, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.dsn, self.database, self.interval = admin_dsn, database, interval
        self.ticks: dict[int, int] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        import psycopg

        query = "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            while not self.halt.wait(self.interval):
                for (pid,) in conn.execute(query, (self.database,)).fetchall():
                    try:
                        stat = Path(f"/proc/{pid}/stat").read_text()
                    except OSError:
                        continue  # gone since the query
                    fields = stat.rsplit(")", 1)[1].split()
                    self.ticks[pid] = max(self.ticks.get(pid, 0), int(fields[11]) + int(fields[12]))

    def stop(self) -> float:
        self.halt.set()
        self.join()
        return sum(self.ticks.values()) / _TICK
