"""Pytest plugin: how the suite is spread over pytest-xdist workers (``-n``, ``--dist loadgroup``).

Every test is a unit of work of its own, except those sharing an expensive module-scoped fixture
(a real crawl, a scheduler session, a fault world): those go to one worker together, so the
setup runs once, not once per worker. A module whose shared fixtures all hang on
``module_database_url`` is one unit per backend: its SQLite half and its PostgreSQL half can run
on two workers at once. A test that already names its own ``xdist_group`` keeps it.

The units are handed out longest first (so a long one does not start last and keep the whole
suite waiting): by the time each test took in the last run, kept in pytest's cache, or, in a
fresh clone, by a guess (a test marked ``slow`` a few seconds, the others next to nothing).

xdist learns the unit of a test from the ``@unit`` suffix of its node id, the same mechanism its
own ``xdist_group`` mark uses (xdist sets ``item._nodeid`` itself: there is no public way).
"""

from __future__ import annotations

import pytest

CACHE_KEY = "gonghui/durations"
GUESS_SLOW = 3.0  # seconds, for a test marked slow that the cache has no time for
GUESS_OTHER = 0.05
SHARED_SCOPES = ("class", "module", "package")
PER_BACKEND = "module_database_url"


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _plain_id(nodeid: str) -> str:
    """The node id without the ``@unit`` suffix (the same test in any run)."""
    if nodeid.rfind("@") > nodeid.rfind("]"):
        return nodeid.rsplit("@", 1)[0]
    return nodeid


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
        return f"{module}|{backend}"  # no "]": xdist reads a unit ending in "]" as a parameter
    return module


@pytest.hookimpl(trylast=True)  # after xdist has applied explicit xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not _is_worker(config) or config.getoption("dist", "no") != "loadgroup":
        return
    cache = getattr(config, "cache", None)
    took: dict[str, float] = cache.get(CACHE_KEY, {}) if cache is not None else {}
    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        if item.nodeid.rfind("@") > item.nodeid.rfind("]"):  # an xdist_group of its own
            unit = item.nodeid.rsplit("@", 1)[1]
        else:
            unit = unit_of(item)
            if unit is not None:
                item._nodeid = f"{item.nodeid}@{unit}"
        units.setdefault(unit or item.nodeid, []).append(item)

    def cost(unit_items: list[pytest.Item]) -> float:
        return sum(took.get(_plain_id(i.nodeid)) or guess(i) for i in unit_items)

    # The same order on every worker (xdist checks), the scheduler keeps it (--no-loadscope-reorder).
    ordered = sorted(units.values(), key=cost, reverse=True)
    items[:] = [item for unit_items in ordered for item in unit_items]


class _Timer:
    """On the controller (or a run without xdist): each test's total time, cached for next run."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.took: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        key = _plain_id(report.nodeid)
        self.took[key] = self.took.get(key, 0.0) + report.duration

    def pytest_sessionfinish(self) -> None:
        if self.config.cache is None or not self.took:
            return
        known = self.config.cache.get(CACHE_KEY, {})
        known.update({k: round(v, 3) for k, v in self.took.items()})
        self.config.cache.set(CACHE_KEY, known)


def pytest_configure(config: pytest.Config) -> None:
    if _is_worker(config):
        return
    if config.getoption("dist", "no") == "loadgroup":
        config.option.loadscopereorder = False  # hand the units out in the order set above
    if getattr(config, "cache", None) is not None:
        config.pluginmanager.register(_Timer(config), "gonghui-test-timer")
