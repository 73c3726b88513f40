"""Pytest plugin: how the suite is spread over pytest-xdist workers (``-n 2 --dist loadgroup``).

Every test is a unit of work of its own, except those sharing an expensive module-scoped fixture
(a real crawl, a scheduler session, a fault world): those go to one worker together, so the
setup runs once, not once per worker. A module whose shared fixtures all hang on
``module_database_url`` is one unit per backend: its SQLite half and its PostgreSQL half can run
on two workers at once. A test marked ``xdist_group(name)`` is in the unit ``name``.

The units are handed out longest first (so a long one does not start last and keep the whole
suite waiting): by the time each test took in the last run, kept in pytest's cache, or, in a
fresh clone, by a guess (a test marked ``slow`` a few seconds, the others next to nothing).

Why not xdist's own ``xdist_group``: it tags the node id (``item._nodeid``), which pytest 9.2 no
longer reads, so the grouping silently does nothing. Here each worker writes the unit of every
test to a file the controller names, and the controller's scheduler (xdist's public
``pytest_xdist_make_scheduler`` hook, a ``LoadScopeScheduling`` whose scope is that unit) reads it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

CACHE_KEY = "gonghui/durations"
GUESS_SLOW = 3.0  # seconds, for a test marked slow that the cache has no time for
GUESS_OTHER = 0.05
SHARED_SCOPES = ("class", "module", "package")
PER_BACKEND = "module_database_url"
UNITS_DIR = "gonghui_units_dir"  # the key in each worker's workerinput


def _shared(fixturedef) -> bool:
    """Set up once for several tests: module or class scope, or session scope but defined in a
    test module (its tests only: the suite-wide ones, the replica, are per worker anyway)."""
    if fixturedef.scope in SHARED_SCOPES:
        return True
    return fixturedef.scope == "session" and ".py" in getattr(fixturedef, "baseid", "")


def guess(item: pytest.Item) -> float:
    return GUESS_SLOW if item.get_closest_marker("slow") else GUESS_OTHER


def _depends_on(name: str, target: str, defs: dict, seen: set[str]) -> bool:
    if name == target:
        return True
    if name in seen or name not in defs:
        return False
    seen.add(name)
    return any(_depends_on(arg, target, defs, seen) for arg in defs[name][-1].argnames)


def unit_of(item: pytest.Item) -> str | None:
    """The unit a test must share with others (None: it can run anywhere on its own)."""
    group = item.get_closest_marker("xdist_group")
    if group is not None:
        return str(group.args[0] if group.args else group.kwargs.get("name", "default"))
    defs = item._fixtureinfo.name2fixturedefs  # type: ignore[attr-defined]
    shared = [
        name
        for name in item.fixturenames  # type: ignore[attr-defined]
        if name in defs and _shared(defs[name][-1])
    ]
    if not shared:
        return None
    module = item.nodeid.split("::", 1)[0]
    callspec = getattr(item, "callspec", None)
    backend = callspec.params.get(PER_BACKEND) if callspec is not None else None
    if backend is not None and all(_depends_on(n, PER_BACKEND, defs, set()) for n in shared):
        return f"{module}|{backend}"
    return module


# -- on each worker: order the tests unit by unit, longest first, and say which unit is which --


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or UNITS_DIR not in workerinput:
        return
    cache = getattr(config, "cache", None)
    took: dict[str, float] = cache.get(CACHE_KEY, {}) if cache is not None else {}
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(unit_of(item) or item.nodeid, []).append(item)

    def cost(unit_items: list[pytest.Item]) -> float:
        return sum(took.get(i.nodeid) or guess(i) for i in unit_items)

    # The same order on every worker (xdist checks); the scheduler keeps it.
    ordered = sorted(units.items(), key=lambda kv: cost(kv[1]), reverse=True)
    items[:] = [item for _, unit_items in ordered for item in unit_items]
    folder = Path(workerinput[UNITS_DIR])
    mine = folder / f"{workerinput['workerid']}.json"
    partial = mine.with_suffix(".part")
    partial.write_text(json.dumps({i.nodeid: u for u, us in ordered for i in us}))
    os.replace(partial, mine)


# -- on the controller: the scheduler, and each test's time kept for the next run's order -------


def _scheduler_class():
    from xdist.scheduler import LoadScopeScheduling

    class UnitScheduling(LoadScopeScheduling):
        """xdist's scope scheduling, the scope of a test being its unit as a worker wrote it."""

        def __init__(self, config: pytest.Config, log, folder: Path) -> None:
            super().__init__(config, log)
            self.folder = folder
            self.units: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.units is None:
                written = sorted(self.folder.glob("*.json"))
                self.units = json.loads(written[0].read_text()) if written else {}
            return self.units.get(nodeid, nodeid)

    return UnitScheduling


class _Timer:
    """Each test's time (setup, call and teardown), kept in the cache for the next run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.took: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.took[report.nodeid] = self.took.get(report.nodeid, 0.0) + report.duration

    def pytest_unconfigure(self) -> None:
        cache = getattr(self.config, "cache", None)
        if cache is None or not self.took:
            return
        known = cache.get(CACHE_KEY, {})
        known.update({k: round(v, 3) for k, v in self.took.items()})
        cache.set(CACHE_KEY, known)


class _Controller:
    """The xdist controller's side: where the workers write the units, and the scheduler."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="gonghui-xdist-units-"))

    def pytest_configure_node(self, node) -> None:
        node.workerinput[UNITS_DIR] = str(self.folder)

    def pytest_xdist_make_scheduler(self, config: pytest.Config, log):
        if config.getvalue("dist") != "loadgroup":
            return None
        config.option.loadscopereorder = False  # hand the units out in the workers' order
        return _scheduler_class()(config, log, self.folder)

    def pytest_unconfigure(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return
    # The controller, or a run without workers.
    config.pluginmanager.register(_Timer(config), "gonghui-test-timer")
    if config.pluginmanager.hasplugin("xdist") and config.getoption("tx", None):  # workers
        config.pluginmanager.register(_Controller(), "gonghui-xdist-units")
