"""The suite on two pytest-xdist workers (tests/parallel.py): tests sharing a module's setup run
on one worker, so a crawl made once for a module is made once, not once per worker; a module
whose setup is per backend splits into its SQLite and its PostgreSQL half."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CONFTEST = """
import json, os, pytest

def log(**entry):
    entry["worker"] = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.environ["PARALLEL_LOG"], "a") as fh:
        fh.write(json.dumps(entry) + "\\n")

@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request):
    log(setup="module_database_url", param=request.param, module=request.module.__name__)
    return request.param
"""

PER_BACKEND = """
import pytest
from conftest import log

@pytest.fixture(scope="module")
def crawled(module_database_url):
    log(setup="crawled", param=module_database_url)
    return module_database_url

@pytest.mark.parametrize("n", range(4))
def test_reads_the_crawl(crawled, n):
    log(test="per_backend", param=crawled)
"""

ONE_WORLD = """
import pytest
from conftest import log

@pytest.fixture(scope="module")
def world():
    log(setup="world")
    return 1

@pytest.mark.parametrize("n", range(4))
def test_reads_the_world(world, n):
    log(test="world")
"""

ALONE = """
import pytest
from conftest import log

@pytest.mark.parametrize("n", range(8))
def test_alone(n):
    log(test="alone")
"""


@pytest.fixture
def runs(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Run the toy suite on two workers; the log of every setup and test, with its worker."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    monkeypatch.setenv("PYTHONPATH", path)
    log = tmp_path / "parallel.jsonl"
    monkeypatch.setenv("PARALLEL_LOG", str(log))
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_per_backend=PER_BACKEND, test_one_world=ONE_WORLD, test_alone=ALONE)
    done = pytester.runpytest_subprocess(
        "-p", "tests.parallel", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup"
    )
    done.assert_outcomes(passed=4 * 2 + 4 + 8)
    return [json.loads(line) for line in log.read_text().splitlines()]


@pytest.mark.slow
def test_a_shared_setup_runs_once_and_its_tests_share_its_worker(runs):
    setups = Counter(
        (e["setup"], e.get("param")) for e in runs if e.get("setup") in ("crawled", "world")
    )
    assert setups == {("crawled", "sqlite"): 1, ("crawled", "postgresql"): 1, ("world", None): 1}
    world = {e["worker"] for e in runs if e.get("test") == "world"}
    assert len(world) == 1
    for backend in ("sqlite", "postgresql"):
        assert len({e["worker"] for e in runs if e.get("param") == backend}) == 1, backend
    # The rest is spread: both workers ran tests.
    assert {e["worker"] for e in runs if "test" in e} == {"gw0", "gw1"}
