"""Database fixtures: every archive test runs on SQLite and on PostgreSQL.

``database_url`` gives an *empty* database (no tables): a fresh SQLite file in ``tmp_path``, or
the session's PostgreSQL database ``gonghui_test_<random>`` with its ``public`` schema dropped
and recreated. ``archive`` opens (and so migrates) an ``Archive`` on it.

PostgreSQL is found through ``GONGHUI_TEST_PG_ADMIN_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``). When it cannot be reached the
PostgreSQL half of the suite is skipped, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from archive.db import short_reason
from archive.records import ArticleFields, EncodingEvidence, Fetch
from archive.store import Archive

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


class _PostgresServer:
    """The test database on the server, created on first use and dropped at session end."""

    def __init__(self, admin_url: str) -> None:
        url = make_url(admin_url)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        self.admin_url = url
        self.db_name = f"gonghui_test_{secrets.token_hex(4)}"
        self.url = url.set(database=self.db_name).render_as_string(hide_password=False)
        self.error: str | None = None
        self._created = False
        self._engine: Engine | None = None

    def ensure(self) -> str:
        """The URL of the (created) test database, or raise with why it cannot be had."""
        if self.error is None and not self._created:
            try:
                admin = create_engine(
                    self.admin_url,
                    isolation_level="AUTOCOMMIT",
                    connect_args={"connect_timeout": 5},
                )
                try:
                    with admin.connect() as conn:
                        conn.execute(text(f'CREATE DATABASE "{self.db_name}"'))
                finally:
                    admin.dispose()
                self._created = True
                self._engine = create_engine(self.url, isolation_level="AUTOCOMMIT")
            except Exception as exc:
                self.error = short_reason(exc)
        if self.error is not None:
            where = self.admin_url.render_as_string(hide_password=True)
            message = f"PostgreSQL not reachable at {where}: {self.error}"
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(message)
            pytest.skip(message)
        return self.url

    def reset(self) -> None:
        """Drop every table (and the alembic version) by recreating the public schema."""
        assert self._engine is not None
        with self._engine.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))

    def drop(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
        if not self._created:
            return
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
        finally:
            admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[_PostgresServer]:
    server = _PostgresServer(os.environ.get("GONGHUI_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL)
    yield server
    server.drop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of an empty database (no tables yet) on the parametrised backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite3'}"
    server: _PostgresServer = request.getfixturevalue("postgres_server")
    url = server.ensure()
    server.reset()
    return url


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ],
)
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """An empty database shared by one test module, for setups too slow to repeat per test
    (a real crawl, a scheduler session); PostgreSQL gets a database of its own, dropped after."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("module-db")
        yield f"sqlite:///{folder / 'archive.sqlite3'}"
        return
    server = _PostgresServer(os.environ.get("GONGHUI_TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL)
    try:
        yield server.ensure()  # skip (CI: fail) when unreachable
    finally:
        server.drop()


@pytest.fixture
def archive(database_url: str, tmp_path: Path) -> Iterator[Archive]:
    """An open, migrated Archive writing WARC files to ``tmp_path/"warc"``."""
    opened = Archive.open(database_url, tmp_path / "warc")
    try:
        yield opened
    finally:
        opened.close()


# -- builders shared by the archive tests -------------------------------------------------------

T0 = dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
GBK_PAGE = (
    '<html><head><meta charset="gbk"><title>全总召开劳模座谈会</title></head>'
    "<body><p>中华全国总工会今天召开座谈会。</p><p>来源：工人日报</p></body></html>"
).encode("gbk")


def make_fetch(
    url: str = "http://www.acftu.org/xwdt/202405/t20240501_1.html",
    body: bytes = GBK_PAGE,
    *,
    at: dt.datetime = T0,
    status: int = 200,
    headers: list[tuple[str, str]] | None = None,
    page_url: str | None = None,
) -> Fetch:
    return Fetch(
        url=url,
        status=status,
        headers=headers if headers is not None else [("Content-Type", "text/html")],
        body=body,
        fetched_at=at,
        request_headers=[("User-Agent", "GonghuiArchive/test")],
        encoding=EncodingEvidence(
            http_charset=None,
            meta_charset="gbk",
            detected=None,
            chosen="gb18030",
            replacement_count=0,
        ),
        page_url=page_url,
    )


def make_fields(**changes: object) -> ArticleFields:
    values: dict[str, object] = {
        "title": "全总召开劳模座谈会",
        "body": "中华全国总工会今天召开座谈会。\n与会劳模代表发言。",
        "published": dt.date(2024, 5, 1),
        "published_time": "08:00",
        "source": "工人日报",
        "author": "张三",
        "captions": ("座谈会现场",),
    }
    values.update(changes)
    return ArticleFields(**values)  # type: ignore[arg-type]
