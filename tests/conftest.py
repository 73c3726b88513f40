"""Suite-wide fixtures: the network guard, fresh databases, the replica sites."""

from __future__ import annotations

import os
import sys
from pathlib import Path

NETGUARD_DIR = Path(__file__).parent / "netguard"
sys.path.insert(0, str(NETGUARD_DIR))
import sitecustomize as _netguard  # noqa: E402  (the guard must be in place before any test runs)

_netguard.install()
# Subprocesses started by the tests (scheduler, CLI) load the same guard through PYTHONPATH.
os.environ["PYTHONPATH"] = os.pathsep.join(
    p for p in (str(NETGUARD_DIR), os.environ.get("PYTHONPATH", "")) if p
)

pytest_plugins = [
    "tests.fixtures_db",
    "tests.fixtures_replica",
    "tests.fixtures_wire",
    "tests.parallel",
    "pytester",  # tests/test_parallel.py runs a toy suite on two workers
]
