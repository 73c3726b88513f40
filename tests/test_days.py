"""Crawl, advance the replica a day, crawl again, over every day of the replica's timeline: the
archive's versions, change classes, removals and reprint clusters equal the replica's ground
truth of each day, on SQLite and PostgreSQL. The real spider, in `gonghui crawl` subprocesses;
the commands that only read (history, diff, reprints, export) run in this process, through the
same entry point (tests/test_cli.py and tests/test_cli_guards.py run them as subprocesses)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.db import make_engine
from archive.models import ArticleVersion, Page, ReprintCluster, Run
from crawler.cli.main import cli
from crawler.replica.server import ReplicaServer
from crawler.replica.timeline import LAST_DAY, DayTruth, day_truth
from tests.test_crawl import gonghui

pytestmark = pytest.mark.slow

Key = tuple[str, str]  # (site_id, path)


@dataclass
class Snapshot:
    """What the archive holds after one day's crawl."""

    pages: dict[Key, tuple[tuple[str, ...], str | None]]  # classes oldest first, removal
    clusters: set[tuple[frozenset[Key], Key | None]]  # members, original
    new_versions: int  # in that day's runs
    removals: int
    output: str


def _key(page: Page) -> Key:
    return page.site_id, "/" + page.url.split("/", 3)[3]


def snapshot(database_url: str, output: str) -> Snapshot:
    engine = make_engine(database_url)
    with Session(engine) as session:
        pages = {p.id: p for p in session.scalars(select(Page))}
        classes: dict[int, list[str]] = {}
        for page_id, change in session.execute(
            select(ArticleVersion.page_id, ArticleVersion.change_class).order_by(
                ArticleVersion.page_id, ArticleVersion.version_no
            )
        ):
            classes.setdefault(page_id, []).append(change)
        members: dict[int, set[Key]] = {}
        for p in pages.values():
            if p.cluster_id is not None:
                members.setdefault(p.cluster_id, set()).add(_key(p))
        clusters = {
            (
                frozenset(members[c.id]),
                _key(pages[c.original_page_id]) if c.original_page_id else None,
            )
            for c in session.scalars(select(ReprintCluster))
            if c.id in members
        }
        last_runs = session.scalars(select(Run).order_by(Run.id.desc()).limit(5)).all()
        result = Snapshot(
            {_key(pages[pid]): (tuple(cs), pages[pid].removal) for pid, cs in classes.items()},
            clusters,
            sum(r.new_versions for r in last_runs),
            sum(r.removals for r in last_runs),
            output,
        )
    engine.dispose()
    return result


@pytest.fixture(scope="module")
def days(
    module_database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Snapshot]]:
    """One crawl per replica day, then a second crawl of the last day."""
    warc = tmp_path_factory.mktemp("days") / "warc"
    snapshots = []
    with ReplicaServer() as replica:
        origins = [f"--origin={site}={origin}" for site, origin in replica.origins.items()]
        for day in [*range(LAST_DAY + 1), LAST_DAY]:
            replica.set_day(day)
            done = gonghui(
                "crawl", "--all", *origins, database_url=module_database_url, warc_dir=warc
            )
            assert done.returncode == 0, done.stderr[-3000:]
            snapshots.append(snapshot(module_database_url, done.stdout))
    yield snapshots


def read(*args: str, database_url: str, warc_dir: Path) -> Result:
    """`gonghui ARGS` for a command that only reads, in this process (no interpreter to start,
    as tests/test_monitoring.py does): the entry point's error line and exit code as a
    subprocess would give them, and never an exception other than that exit."""
    result = CliRunner().invoke(
        cli, ["--database", database_url, "--warc-dir", str(warc_dir), *args]
    )
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


def expected(truth: DayTruth) -> dict[Key, tuple[tuple[str, ...], str | None]]:
    return {key: (tuple(state.versions), state.removal) for key, state in truth.pages.items()}


@pytest.mark.parametrize("day", range(LAST_DAY + 1))
def test_versions_change_classes_and_removals_equal_the_truth_of_each_day(days, day):
    # Every day changes counters, a footer and whitespace on pages the truth leaves alone:
    # equality here also says those changes made no version.
    assert days[day].pages == expected(day_truth(day))


@pytest.mark.parametrize("day", range(LAST_DAY + 1))
def test_reprint_clusters_and_their_originals_equal_the_truth_of_each_day(days, day):
    truth = {(c.members, c.original) for c in day_truth(day).reprints}
    assert days[day].clusters == truth


def _pairs(clusters) -> set[frozenset[Key]]:
    return {frozenset(p) for members, _ in clusters for p in itertools.combinations(members, 2)}


def test_reprint_detection_precision_and_recall_on_the_planted_reprints(days):
    truth = _pairs({(c.members, c.original) for c in day_truth(LAST_DAY).reprints})
    found = _pairs(days[LAST_DAY].clusters)
    precision = len(found & truth) / len(found) if found else 1.0
    recall = len(found & truth) / len(truth)
    assert precision >= 0.98 and recall >= 0.95, (precision, recall, found ^ truth)
    mirror = {
        k for k in (m for c in day_truth(LAST_DAY).reprints for m in c.members) if k[0] == "tibet3"
    }
    assert mirror and all(any(k in p for p in found) for k in mirror)  # the zh-Hant copy too


def test_two_articles_on_one_topic_from_two_cities_are_not_merged(days):
    state = day_truth(LAST_DAY).pages
    topic = [k for k, s in state.items() if s.article and "金秋助学" in s.article.title]
    assert {site for site, _ in topic} >= {"xazgh", "xnzgh"}
    for a, b in itertools.combinations(topic, 2):
        assert frozenset((a, b)) not in _pairs(days[LAST_DAY].clusters)


def test_removals_are_counted_in_the_runs_and_never_lose_the_last_text(days, module_database_url):
    assert sum(s.removals for s in days) == sum(
        c.count("removed") for c, _ in days[LAST_DAY].pages.values()
    )
    engine = make_engine(module_database_url)
    with Session(engine) as session:
        for page in session.scalars(select(Page).where(Page.removal.is_not(None))):
            last = session.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.page_id == page.id)
                .order_by(ArticleVersion.version_no.desc())
            ).first()
            assert last.change_class == "removed" and last.body and last.title
    engine.dispose()


def test_every_day_after_the_first_was_crawled_incrementally(days, module_database_url):
    """The days' changes above were found by incremental crawls (stop-when-seen, 304s)."""
    engine = make_engine(module_database_url)
    with Session(engine) as session:
        modes = [(r.site_id, r.mode) for r in session.scalars(select(Run).order_by(Run.id))]
    engine.dispose()
    firsts = {site: mode for site, mode in reversed(modes)}  # each site's first run
    assert set(firsts.values()) == {"full"}
    later = [mode for n, (site, mode) in enumerate(modes) if (site, mode) in modes[:n]]
    assert later and set(later) == {"incremental"}


def test_a_recrawl_with_nothing_changed_adds_no_version(days):
    again = days[-1]
    assert again.new_versions == 0 and again.removals == 0
    assert again.pages == days[LAST_DAY].pages and again.clusters == days[LAST_DAY].clusters


def _page_url(database_url: str, classes: tuple[str, ...]) -> str:
    """The URL of an archived page whose versions have exactly these classes."""
    key = next(k for k, s in day_truth(LAST_DAY).pages.items() if tuple(s.versions) == classes)
    engine = make_engine(database_url)
    with Session(engine) as session:
        url = next(p.url for p in session.scalars(select(Page)) if _key(p) == key)
    engine.dispose()
    return url


def test_history_lists_a_removal_and_a_restoration_with_how_the_page_went(
    days, module_database_url, tmp_path
):
    url = _page_url(module_database_url, ("new", "removed", "restored"))
    done = read("history", url, database_url=module_database_url, warc_dir=tmp_path)
    assert done.exit_code == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [
        n for n in ("new", "removed (http_", "restored") if not any(n in ln for ln in lines)
    ] == []
    assert f"{url}: live" in done.stdout  # restored: no longer marked removed


def test_diff_marks_a_typo_fix_inside_its_sentence(days, module_database_url, tmp_path):
    url = _page_url(module_database_url, ("new", "minor_edit"))
    done = read("diff", url, database_url=module_database_url, warc_dir=tmp_path)
    assert done.exit_code == 0, done.stderr
    changed = [ln for ln in done.stdout.splitlines() if ln.startswith("~ ")]
    assert len(changed) == 1 and "[-" in changed[0] and "{+" in changed[0], done.stdout
    assert "--- v1 new" in done.stdout and "+++ v2 minor_edit" in done.stdout


def test_reprints_lists_each_cluster_with_its_original_first(days, module_database_url, tmp_path):
    done = read("reprints", database_url=module_database_url, warc_dir=tmp_path)
    assert done.exit_code == 0, done.stderr
    assert f"Reprint clusters: {len(day_truth(LAST_DAY).reprints)}" in done.stdout
    assert done.stdout.count("original") == len(day_truth(LAST_DAY).reprints)


@pytest.mark.parametrize(
    "args",
    [
        ("history", "http://127.0.0.1:8601/never/archived.html"),
        ("diff", "http://127.0.0.1:8601/never/archived.html"),
        ("history", "not a url"),
        ("diff", "{page}", "1", "99"),
    ],
)
def test_unknown_urls_and_versions_get_one_error_line(days, module_database_url, tmp_path, args):
    page = _page_url(module_database_url, ("new", "minor_edit"))
    args = tuple(a.replace("{page}", page) for a in args)
    done = read(*args, database_url=module_database_url, warc_dir=tmp_path)
    assert done.exit_code != 0
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr + done.stdout


def test_the_export_carries_cluster_ids_removals_and_change_classes(
    days, module_database_url, tmp_path
):
    import json

    done = read(
        "export",
        "--format",
        "jsonl",
        "-o",
        "-",
        database_url=module_database_url,
        warc_dir=tmp_path,
    )
    assert done.exit_code == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    groups: dict[int, set[Key]] = {}
    for row in rows:
        if row["cluster_id"] is not None:
            groups.setdefault(row["cluster_id"], set()).add(
                (row["site_id"], "/" + row["url"].split("/", 3)[3])
            )
    assert {frozenset(g) for g in groups.values()} == {
        c.members for c in day_truth(LAST_DAY).reprints
    }
    truth = day_truth(LAST_DAY).pages
    for row in rows:
        state = truth[(row["site_id"], "/" + row["url"].split("/", 3)[3])]
        assert row["removal"] == state.removal and (row["removed_at"] is None) == (
            state.removal is None
        )
        assert row["change_class"] == state.versions[-1]


def test_no_monitoring_finding_across_the_normal_days(days, module_database_url):
    # Every run of every day got its coverage row, and no drift rule fired (issue 17).
    from archive.models_monitor import Finding, RunCoverage

    engine = make_engine(module_database_url)
    with Session(engine) as session:
        runs = session.scalars(select(Run.id)).all()
        assert sorted(session.scalars(select(RunCoverage.run_id))) == sorted(runs)
        assert [(f.site_id, f.message) for f in session.scalars(select(Finding))] == []
    engine.dispose()
