"""A real crawl killed with SIGKILL twice, then resumed: the archive equals a crawl that was
never interrupted (0 versions lost, 0 duplicated), and the resumed runs do not fetch again
what the killed ones archived. SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import ArticleVersion, Page, Run
from crawler.replica.server import ReplicaServer
from tests.test_crawl import gonghui_argv

pytestmark = pytest.mark.slow

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
# Slower than the shipped replica seeds (0.05 s), so the crawl is still running when killed.
DELAY = 0.15


def slow_seeds(folder: Path) -> Path:
    folder.mkdir()
    for seed in SEEDS.glob("*.toml"):
        text = re.sub(r"download_delay = [0-9.]+", f"download_delay = {DELAY}", seed.read_text())
        (folder / seed.name).write_text(text, encoding="utf-8")
    return folder


def crawl_args(database_url: str, warc: Path, seeds: Path, replica: ReplicaServer) -> list[str]:
    origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
    return gonghui_argv(
        "crawl", "--all", *origins, database_url=database_url, warc_dir=warc, seeds_dir=seeds
    )


def versions(database_url: str) -> dict[str, list[tuple[int, str, str]]]:
    """Per page URL: (version number, content hash, change class) of every version."""
    engine = make_engine(database_url)
    with Session(engine) as session:
        rows = session.execute(
            select(
                Page.canonical_url,
                ArticleVersion.version_no,
                ArticleVersion.content_sha256,
                ArticleVersion.change_class,
            )
            .join(ArticleVersion)
            .order_by(Page.canonical_url, ArticleVersion.version_no)
        ).all()
    engine.dispose()
    out: dict[str, list[tuple[int, str, str]]] = {}
    for url, *version in rows:
        out.setdefault(url, []).append(tuple(version))  # type: ignore[arg-type]
    return out


def version_count(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(select(func.count()).select_from(ArticleVersion)) or 0
    except Exception:  # tables not created yet
        return 0
    finally:
        engine.dispose()


def kill_after(proc: subprocess.Popen[bytes], database_url: str, at_least: int) -> int:
    """SIGKILL the crawl once the archive holds ``at_least`` versions; the count then."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the crawl finished before it could be killed"
        count = version_count(database_url)
        if count >= at_least:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=30)
            return count
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the crawl did not reach {at_least} versions in 120 s")


@pytest.fixture(scope="module")
def undisturbed(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ReplicaServer, Path, dict]]:
    """The replica, the slowed seeds, and the versions of one crawl never interrupted (once for
    the module: the SQLite and the PostgreSQL case compare with it). That crawl, killed by
    nobody, uses the shipped seeds: they differ from the slowed ones in download_delay only."""
    tmp_path = tmp_path_factory.mktemp("undisturbed")
    seeds = slow_seeds(tmp_path / "seeds")
    with ReplicaServer() as replica:
        reference = f"sqlite:///{tmp_path / 'reference.sqlite3'}"
        done = subprocess.run(
            crawl_args(reference, tmp_path / "warc-ref", SEEDS, replica),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        yield replica, seeds, versions(reference)


def test_a_crawl_killed_twice_and_resumed_equals_one_never_interrupted(
    undisturbed: tuple[ReplicaServer, Path, dict], database_url: str, tmp_path: Path
) -> None:
    replica, seeds, expected = undisturbed
    total = sum(len(v) for v in expected.values())
    assert total >= 30
    args = crawl_args(database_url, tmp_path / "warc", seeds, replica)
    # A transaction a page, so the check of what was fetched again below can be exact: with
    # batches a kill also cuts off the batch not yet committed, whose pages the resumed run
    # fetches again by design (tests/test_store_batch.py: a kill leaves a batch whole or none).
    env = {**os.environ, "GONGHUI_BATCH_PAGES": "1"}
    first = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    killed_at = [kill_after(first, database_url, 5)]
    second = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    killed_at.append(kill_after(second, database_url, killed_at[0] + 8))
    archived_before_last = set(versions(database_url))
    log_mark = len(replica.request_log)
    # The last run is killed by nobody: the shipped seeds (the slowed ones but for the delay).
    last = subprocess.run(
        [*crawl_args(database_url, tmp_path / "warc", SEEDS, replica), "--resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert last.returncode == 0, last.stderr[-2000:]
    resumed_requests = replica.request_log[log_mark:]

    assert killed_at[0] < killed_at[1] < total
    got = versions(database_url)
    assert got == expected  # 0 lost, 0 duplicated, same change classes

    # The last run did not fetch again the articles the two killed runs archived.
    fetched_paths = {entry.path for entry in resumed_requests}
    refetched = {u for u in archived_before_last if "/" + u.split("/", 3)[3] in fetched_paths}
    assert not refetched, sorted(refetched)[:5]

    # The WARC files of the killed runs are still readable to the end.
    warcio = Path(sys.executable).parent / "warcio"
    files = sorted(str(path) for path in (tmp_path / "warc").rglob("*.warc.gz"))
    index = subprocess.run([str(warcio), "index", *files], capture_output=True, text=True)
    assert files and index.returncode == 0, index.stderr[-500:]  # one process reads them all

    engine = make_engine(database_url)
    with Session(engine) as session:
        runs = session.scalars(select(Run).order_by(Run.id)).all()
    engine.dispose()
    assert not [r for r in runs if r.status == "running"]
    killed = [r for r in runs if r.stop_reason and r.stop_reason.startswith("interrupted")]
    assert len({r.site_id for r in killed}) >= 1
    assert all(r.status == "failed" for r in killed)
    last_runs = {r.site_id: r for r in runs}  # the newest run of each site
    assert any(r.resumed_from for r in last_runs.values())
    assert all(r.status == "finished" for r in last_runs.values())
