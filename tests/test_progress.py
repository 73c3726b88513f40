"""The live progress of a crawl counts up while the crawl runs, not only at the end.

A hook connected to Scrapy's signals the default way is held by weak reference and collected
at once: the table then shows "starting 0 0 0" until the summary and no test noticed. Here a
real crawl of a replica site reports to a recording hook (``run_crawls(progress=...)`` in a
subprocess: the Twisted reactor runs once per process), and `gonghui crawl` under a pseudo
terminal draws its table counting up before the summary, as a user sees it.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console

from crawler.cli.render import CrawlProgress
from crawler.replica.server import ReplicaServer
from tests.test_crawl import gonghui_argv

pytestmark = pytest.mark.slow

SITE = "bcrb"  # the replica's largest site: about 29 pages, two seconds of crawling

# Runs in a subprocess: one crawl with a hook that prints each call as a JSON line.
HOOK_SCRIPT = """
import json, sys, time
from pathlib import Path
from archive.db import migrate
from crawler.runner import run_crawls
from crawler.seeds import select_seeds

site, origin, database_url, warc_dir = sys.argv[1:5]
seeds = select_seeds(Path("seeds"), [site])

def hook(site_id, stats):
    print(json.dumps({
        "site": site_id,
        "at": time.monotonic(),
        "state": stats.get("gonghui/state"),
        "finish_reason": stats.get("finish_reason"),
        "pages": stats.get("gonghui/pages_fetched", 0),
        "articles": stats.get("gonghui/articles_archived", 0),
        "versions": stats.get("gonghui/new_versions", 0),
    }), flush=True)

migrate(database_url)
results = run_crawls(
    seeds, database_url=database_url, warc_dir=Path(warc_dir), user_agent="GonghuiTest/1",
    origins={site: origin}, progress=hook,
)
print(json.dumps({"done": time.monotonic(), "pages": results[0].pages_fetched,
                  "finish_reason": results[0].finish_reason}), flush=True)
"""

ROOT = Path(__file__).resolve().parent.parent


def test_progress_hook_is_called_with_counts_rising_during_the_crawl(
    replica: ReplicaServer, tmp_path: Path
) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            HOOK_SCRIPT,
            SITE,
            replica.origins[SITE],
            f"sqlite:///{tmp_path / 'archive.sqlite3'}",
            str(tmp_path / "warc"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        # A transaction a page: the hook is called as each page is stored (with the default
        # batches the counts move at each batch).
        env={**os.environ, "GONGHUI_BATCH_PAGES": "1"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    *calls, done = lines
    assert done["finish_reason"] == "finished"
    assert calls and all(c["site"] == SITE for c in calls)
    # Opened, then a call per page stored, then the verdict when the spider closes and again
    # when the crawler has stopped (after the pipeline closed the run).
    assert calls[0]["state"] == "crawling" and calls[0]["pages"] == 0
    states = [c["state"] for c in calls]
    during = calls[: states.index("finished")]
    assert states == ["crawling"] * len(during) + ["finished", "finished"], states[-5:]
    assert calls[-1]["finish_reason"] == "finished"
    assert calls[-1]["pages"] == done["pages"] > 10
    pages = [c["pages"] for c in during]
    assert pages == sorted(pages), pages
    # Each page stored is reported (list and sitemap pages too, not only articles) ...
    assert len(during) >= done["pages"] and len(set(pages)) > done["pages"] // 2, pages
    assert [c["articles"] for c in during] == sorted(c["articles"] for c in during)
    # ... as it happens: the calls are spread over the crawl, not bunched at its end.
    halfway = next(c for c in during if c["pages"] >= done["pages"] // 2)
    assert calls[-1]["at"] - halfway["at"] > 0.2, (halfway, calls[-1])


def test_progress_rows_show_state_and_counts() -> None:
    out = Console(file=io.StringIO(), width=100, force_terminal=False)
    progress = CrawlProgress({"sitea": "甲", "siteb": "乙"}, out)
    progress.update("sitea", {"gonghui/state": "crawling", "gonghui/pages_fetched": 7})
    progress.update(
        "siteb",
        {
            "gonghui/state": "failed",
            "finish_reason": "too_many_errors",
            "gonghui/pages_fetched": 3,
            "gonghui/articles_archived": 2,
            "gonghui/new_versions": 1,
        },
    )
    render = Console(file=io.StringIO(), width=100)
    render.print(progress._table())
    text = render.file.getvalue()  # type: ignore[attr-defined]
    assert re.search(r"sitea\s+crawling\s+7\s+0\s+0", text), text
    assert re.search(r"siteb\s+failed: too_many_errors\s+3\s+2\s+1", text), text


# -- as a user sees it: `gonghui crawl` in a terminal -------------------------------------------

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_pty(argv: list[str], env: dict[str, str], timeout: float) -> tuple[int, str]:
    """Run ``argv`` with a pseudo terminal as stdin, stdout and stderr; return its exit code and
    everything it wrote there."""
    import pty

    master, slave = pty.openpty()
    process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        else:
            process.kill()
            pytest.fail(f"`{' '.join(argv)}` did not finish in {timeout} s")
        return process.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")
    finally:
        os.close(master)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo terminal")
def test_gonghui_crawl_in_a_terminal_shows_the_table_counting_up(
    replica: ReplicaServer, tmp_path: Path
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("NO_COLOR", "FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    }
    # A transaction a page, so the counts move with each page of this short crawl (with the
    # default batches they move at each batch: every 50 pages or 2 s).
    env.update(TERM="xterm-256color", COLUMNS="120", LINES="40", GONGHUI_BATCH_PAGES="1")
    argv = gonghui_argv(
        "crawl",
        SITE,
        f"--origin={SITE}={replica.origins[SITE]}",
        database_url=f"sqlite:///{tmp_path / 'archive.sqlite3'}",
        warc_dir=tmp_path / "warc",
    )
    code, output = run_in_pty(argv, env, timeout=120)
    text = ANSI.sub("", output)
    assert code == 0, text[-3000:]
    live, _, summary = text.partition("Crawl summary")
    assert summary, text[-3000:]
    frames = re.findall(rf"{SITE}\s+(starting|crawling|finished)\s+(\d+)\s+(\d+)\s+(\d+)", live)
    crawling = [int(pages) for state, pages, _, _ in frames if state == "crawling"]
    assert len(set(crawling)) >= 3, frames  # drawn several times with the count moving
    assert crawling == sorted(crawling), crawling
    final = re.search(rf"{SITE}\s+│\s+(\d+)\s+│", summary)
    assert final, summary
    assert max(crawling) <= int(final.group(1))
