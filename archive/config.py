"""Settings, read from the environment in this one place and nowhere else.

| variable                | default                              |
|-------------------------|--------------------------------------|
| GONGHUI_DATABASE_URL    | sqlite:///gonghui.sqlite3 (in cwd)   |
| GONGHUI_WARC_DIR        | ./warc                               |
| GONGHUI_SEEDS_DIR       | the seeds/ folder shipped with us    |
| GONGHUI_TIMETABLE       | schedules/timetable.toml (shipped)   |
| GONGHUI_USER_AGENT      | GonghuiArchive/0.1 (...)            |
| GONGHUI_STORAGE_PATIENCE| 60 (seconds)                         |
| GONGHUI_BATCH_PAGES     | 50 (pages a crawl commits at once)   |
| GONGHUI_BATCH_SECONDS   | 2 (the longest a page waits for it)  |
| GONGHUI_ALERT_URLS      | none (Apprise URLs for the digest)   |
| GONGHUI_ALERT_CONFIG    | none (an Apprise configuration file) |
| GONGHUI_DIGEST_CRON     | 30 7 * * * (the timetable's zone)    |
"""

from __future__ import annotations

import os
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from archive.errors import ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "sqlite:///gonghui.sqlite3"
# Honest by default: who we are and that we obey robots.txt. Operators add their contact,
# e.g. GONGHUI_USER_AGENT="GonghuiArchive/0.1 (+mailto:archive@example.org)".
DEFAULT_USER_AGENT = "GonghuiArchive/0.1 (archive of trade-union news; obeys robots.txt)"


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    warc_dir: Path = Path("warc")
    seeds_dir: Path = PACKAGE_ROOT / "seeds"
    timetable: Path = PACKAGE_ROOT / "schedules" / "timetable.toml"
    user_agent: str = DEFAULT_USER_AGENT
    # How long a crawl keeps retrying a page through a transient storage fault (a locked or
    # unreachable database) before it stops the site and owes the page to the next run.
    storage_patience: float = 60.0
    # A crawl stores its pages in batches, one transaction each (archive/store_batch.py): at
    # most this many pages, none waiting longer than batch_seconds. A kill loses at most the
    # uncommitted batch, which the interrupted run's next crawl fetches again.
    batch_pages: int = 50
    batch_seconds: float = 2.0
    # Where the monitoring digest goes (archive.alerts): Apprise URLs, an Apprise config file,
    # and when the scheduler sends it (cron, in the timetable's time zone).
    alert_urls: tuple[str, ...] = ()
    alert_config: Path | None = None
    digest_cron: str = "30 7 * * *"

    def gonghui_argv(self, *args: str) -> list[str]:
        """The command line of ``gonghui ARGS`` on this archive, for a child process (the
        scheduler's crawls, the demo's): this interpreter, the archive's paths as flags."""
        return [
            sys.executable,
            "-m",
            "crawler.cli.main",
            "--database",
            self.database_url,
            "--warc-dir",
            str(self.warc_dir),
            "--seeds-dir",
            str(self.seeds_dir),
            *args,
        ]

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with the given fields replaced; None values are ignored."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from the environment (``os.environ`` unless given)."""
    env = os.environ if environ is None else environ
    defaults = Settings()

    def path(name: str, default: Path) -> Path:
        return Path(env[name]) if env.get(name) else default

    return Settings(
        database_url=env.get("GONGHUI_DATABASE_URL") or defaults.database_url,
        warc_dir=path("GONGHUI_WARC_DIR", defaults.warc_dir),
        seeds_dir=path("GONGHUI_SEEDS_DIR", defaults.seeds_dir),
        timetable=path("GONGHUI_TIMETABLE", defaults.timetable),
        user_agent=env.get("GONGHUI_USER_AGENT") or defaults.user_agent,
        storage_patience=_seconds(env, "GONGHUI_STORAGE_PATIENCE", defaults.storage_patience),
        batch_pages=_count(env, "GONGHUI_BATCH_PAGES", defaults.batch_pages),
        batch_seconds=_seconds(env, "GONGHUI_BATCH_SECONDS", defaults.batch_seconds),
        alert_urls=tuple(env.get("GONGHUI_ALERT_URLS", "").split()),
        alert_config=Path(env["GONGHUI_ALERT_CONFIG"]) if env.get("GONGHUI_ALERT_CONFIG") else None,
        digest_cron=env.get("GONGHUI_DIGEST_CRON") or defaults.digest_cron,
    )


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name)
    if not text:
        return default
    if not text.strip().isdigit() or int(text) < 1:
        raise ConfigError(f"{name}={text!r}: must be a whole number of at least 1")
    return int(text)


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    text = env.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r}: not a number of seconds") from None
    if value < 0:
        raise ConfigError(f"{name}={text!r}: must not be negative")
    return value


def read_toml(path: Path, what: str) -> dict[str, Any]:
    """A TOML configuration file (a seed, the timetable) as a dict; a missing, unreadable or
    malformed file is a ConfigError naming it (``what`` says what kind of file it is)."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"{what} {path}: cannot read: {exc.strerror or exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path}: not valid TOML: {exc}") from None
