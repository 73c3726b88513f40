"""`gonghui demo` as the README tells a new user to run it: twice, in an empty folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import ArticleVersion, Capture, Page, Run
from crawler.replica.truth import all_truth

pytestmark = pytest.mark.slow


def demo(cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
    return subprocess.run([sys.executable, "-m", "crawler.cli.main", "demo"], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def totals(output: str) -> list[int]:
    """pages fetched, articles archived, new versions, removed from the table's total row."""
    line = next(line for line in output.splitlines() if re.search(r"\btotal\b", line))
    return [int(n) for n in re.findall(r"\b\d+\b", line)]


def counts(db: Path) -> dict[str, int]:
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        result = {t.__tablename__: session.scalar(select(func.count()).select_from(t)) or 0
                  for t in (Page, ArticleVersion, Capture, Run)}
    engine.dispose()
    return result


def test_demo_archives_every_replica_article_and_a_second_run_adds_no_version(tmp_path):
    first = demo(tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    assert "Traceback" not in first.stdout + first.stderr
    for site in ("qhzgh", "xazgh", "xnzgh", "bcrb", "tibet3"):
        assert site in first.stdout
    pages, articles, versions, removed = totals(first.stdout)
    assert articles == versions == len(all_truth()) and removed == 0
    db = tmp_path / "gonghui.sqlite3"
    assert db.exists() and list((tmp_path / "warc").rglob("*.warc.gz"))
    before = counts(db)

    second = demo(tmp_path)
    assert second.returncode == 0, second.stderr[-2000:]
    # The second run is incremental: fewer pages (304 re-checks, no walk past known lists).
    pages2, articles2, versions2, removed2 = totals(second.stdout)
    assert (versions2, removed2) == (0, 0) and pages2 < pages and articles2 < articles
    after = counts(db)
    assert after["page"] == before["page"] and after["article_version"] == before["article_version"]
    assert before["capture"] < after["capture"] < 2 * before["capture"]
    assert after["run"] == 2 * before["run"]
