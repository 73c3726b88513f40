import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from archive import db, search
from archive.errors import DatabaseError
from archive.models import Base, Site

REPO_ROOT = Path(__file__).resolve().parent.parent
TABLES = {"site", "run", "page", "capture", "article_version"}


def _head() -> str:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS_DIR))
    return ScriptDirectory.from_config(cfg).get_current_head()


def _current_revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_upgrade_head_matches_the_models_exactly(database_url):
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    try:
        with engine.connect() as conn:
            # the search index (FTS5 on SQLite) is no SQLAlchemy table: archive.search
            opts = {"compare_type": True, "include_name": search.include_name}
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
        assert _current_revision(engine) == _head()
    finally:
        engine.dispose()


def test_alembic_command_upgrades_an_empty_database_from_the_repo_root(database_url):
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "-x", f"url={database_url}", "upgrade", "head"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = db.make_engine(database_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
        assert _current_revision(engine) == _head()
    finally:
        engine.dispose()


def test_alembic_command_takes_the_url_from_gonghui_database_url(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'from-env.sqlite3'}"
    env = {**os.environ, "GONGHUI_DATABASE_URL": database_url}
    result = subprocess.run(
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    engine = db.make_engine(database_url)
    try:
        assert _current_revision(engine) == _head()
    finally:
        engine.dispose()


def test_migrate_works_from_any_directory_and_twice(database_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db.migrate(database_url)
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    try:
        assert TABLES <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert not (tmp_path / "gonghui.sqlite3").exists()  # did not fall back to the default file


def test_a_database_from_a_newer_release_is_refused_with_one_line(database_url):
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    finally:
        engine.dispose()
    with pytest.raises(DatabaseError) as err:
        db.migrate(database_url)
    assert str(err.value).startswith("cannot migrate database ")
    assert "9999_future" in str(err.value) and "\n" not in str(err.value)


def test_constraints_follow_the_naming_convention(database_url):
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    try:
        insp = inspect(engine)
        assert insp.get_pk_constraint("page")["name"] == "pk_page"
        assert {u["name"] for u in insp.get_unique_constraints("page")} == {"uq_page_canonical_url"}
        assert "fk_capture_run_id_run" in {fk["name"] for fk in insp.get_foreign_keys("capture")}
        assert "ix_article_version_published" in {
            ix["name"] for ix in insp.get_indexes("article_version")
        }
    finally:
        engine.dispose()


def test_timestamps_read_back_tz_aware_utc(database_url):
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    beijing = dt.timezone(dt.timedelta(hours=8))
    try:
        with engine.begin() as conn:
            conn.execute(
                Site.__table__.insert().values(
                    id="acftu",
                    name="中华全国总工会",
                    base_url="https://www.acftu.org/",
                    created_at=dt.datetime(2024, 5, 1, 16, 0, tzinfo=beijing),
                )
            )
        with engine.connect() as conn:
            created_at = conn.execute(select(Site.created_at)).scalar_one()
        assert created_at == dt.datetime(2024, 5, 1, 8, 0, tzinfo=dt.UTC)
        assert created_at.utcoffset() == dt.timedelta(0)
    finally:
        engine.dispose()


def test_naive_timestamps_are_refused(database_url):
    db.migrate(database_url)
    engine = db.make_engine(database_url)
    try:
        with pytest.raises(Exception, match="naive datetime"), engine.begin() as conn:
            conn.execute(
                Site.__table__.insert().values(
                    id="acftu", name="x", base_url="x", created_at=dt.datetime(2024, 5, 1)
                )
            )
    finally:
        engine.dispose()


def test_sqlite_connections_enforce_foreign_keys_and_use_wal(tmp_path):
    engine = db.make_engine(f"sqlite:///{tmp_path / 'a.sqlite3'}")
    try:
        with engine.connect() as conn:
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    finally:
        engine.dispose()


def test_plain_postgresql_url_uses_psycopg_3():
    engine = db.make_engine("postgresql://user:pw@127.0.0.1:5432/gonghui")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()


def test_unreachable_database_raises_one_line_with_password_masked():
    # port 9 (discard) on loopback: nothing listens there
    with pytest.raises(DatabaseError) as err:
        db.check_connection("postgresql://gonghui:s3cret@127.0.0.1:9/gonghui")
    message = str(err.value)
    assert message == "cannot open database postgresql://gonghui:***@127.0.0.1:9/gonghui: " + (
        "connection refused"
    )
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://u:pw@host:notaport/db", "malformed URL"),
        ("not a url", "malformed URL"),
        ("sqlite:////nonexistent-dir/sub/archive.sqlite3", "unable to open database file"),
    ],
)
def test_bad_database_urls_raise_one_line_database_errors(url, reason):
    with pytest.raises(DatabaseError) as err:
        db.migrate(url)
    assert str(err.value).startswith("cannot open database ")
    assert str(err.value).endswith(reason)
    assert "\n" not in str(err.value)
    assert "pw@" not in str(err.value)
