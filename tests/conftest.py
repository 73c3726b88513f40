"""Suite-wide fixtures: the network guard, fresh databases, the replica sites, the browser."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

NETGUARD_DIR = Path(__file__).parent / "netguard"
sys.path.insert(0, str(NETGUARD_DIR))
import sitecustomize as _netguard  # noqa: E402  (the guard must be in place before any test runs)

_netguard.install()
# Subprocesses started by the tests (scheduler, CLI) load the same guard through PYTHONPATH.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(NETGUARD_DIR), os.environ.get("PYTHONPATH", "")) if p
)

ROOT = Path(__file__).resolve().parent.parent
PROJECT_PACKAGES = ("archive", "crawler", "jobs", "schedules", "seeds", "web", "tests")


def pytest_configure(config: pytest.Config) -> None:
    """With PYTHONDONTWRITEBYTECODE set (as it was where the suite was timed), nothing writes
    the project's bytecode, and each of the ~300 `gonghui` subprocesses the suite starts
    compiled the project's modules from source again: 0.5-0.6 s of every crawl and every
    `gonghui status`. Compiled once here instead (the controller, before any worker starts),
    into the gitignored __pycache__ folders beside the sources, as any import would write them
    without the setting; Python checks each against its source, so an edited file is compiled
    again. Site-packages come compiled by pip."""
    if hasattr(config, "workerinput") or not sys.dont_write_bytecode:
        return
    import compileall

    for name in PROJECT_PACKAGES:
        compileall.compile_dir(ROOT / name, quiet=1)


pytest_plugins = [
    "tests.fixtures_db",
    "tests.fixtures_replica",
    "tests.fixtures_wire",
    "tests.parallel",
    "pytester",  # tests/test_parallel.py runs a toy suite on two workers
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Playwright cannot download its browser here: launch Debian's chromium.

    Here, not in tests/test_web.py: a session fixture of a test module puts its tests in a
    unit of their own (tests/parallel.py), which split the web module's browser tests from its
    other tests, and each part crawled the replica and started `gonghui serve` again."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        message = "no chromium on PATH (apt-get install chromium fonts-wqy-microhei)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": chromium}
