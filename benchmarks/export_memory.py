#!/usr/bin/env python3
"""Peak memory of `gonghui export --format parquet` as the archive grows, against a baseline.

    .venv/bin/python benchmarks/export_memory.py [--versions 2000 20000] [--body-chars 1500]

For each size, a fresh SQLite archive (migrated by the archive, then filled with bulk inserts:
one site, pages of three versions each, every version its own text of ``--body-chars`` Chinese
characters) is exported twice, each in its own process whose ``ru_maxrss`` is read with
``wait4`` (so this script's own size does not count):

1. ours: ``gonghui export --format parquet -o DIR`` (articles, versions, clusters; streamed in
   row groups of ``archive.export_parquet.ROW_GROUP_ROWS``);
2. baseline: what one writes without it, ``pandas.read_sql`` of the versions joined with their
   texts, then ``DataFrame.to_parquet`` (everything in memory at once).

One JSON line per size is printed: versions, database MB, peak RSS MB and seconds of each, and
the ratio ours/baseline. Flat memory: ours stays about the same from the small to the big size
while the baseline grows with the archive.

Measured (1,500-character bodies, a machine shared by many processes): 2,000 versions (10 MB
archive) ours 224 MB, baseline 195 MB; 20,000 versions (102 MB) ours 232 MB, baseline 472 MB
(0.49x); ours 132 s against the baseline's 38 s there (it writes three tables, each body with
its zh-Hans reading, and builds a dict per row).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BASELINE = """
import sys, pandas as pd, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1])
frame = pd.read_sql(
    "SELECT v.*, t.body, t.body_hans FROM article_version v "
    "JOIN article_text t ON t.id = v.text_id", engine)
frame.to_parquet(sys.argv[2])
"""
VERSIONS_PER_PAGE = 3
CHARS = "中华全国总工会劳动模范职工权益技能竞赛工匠精神服务群众建功新时代座谈会发言代表"


def fill(url: str, versions: int, body_chars: int) -> None:
    from sqlalchemy import insert

    from archive.models import ArticleText, ArticleVersion, Capture, Page, Run, Site
    from archive.store import Archive

    rng = random.Random(7)
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    with Archive.open(url, Path(tempfile.mkdtemp())) as archive, archive.engine.begin() as conn:
        conn.execute(
            insert(Site), [{"id": "s", "name": "站", "base_url": "http://s/", "created_at": now}]
        )
        conn.execute(
            insert(Run),
            [{"id": 1, "site_id": "s", "trigger": "manual", "status": "finished", "started_at": now,
              "drops": {}}],
        )  # fmt: skip
        pages = versions // VERSIONS_PER_PAGE
        conn.execute(
            insert(Page),
            [{"id": p, "site_id": "s", "canonical_url": f"http://s/{p}.html",
              "url": f"http://s/{p}.html", "first_seen_at": now, "last_seen_at": now,
              "last_status": 200} for p in range(1, pages + 1)],
        )  # fmt: skip
        for start in range(0, pages * VERSIONS_PER_PAGE, 2000):
            ids = range(start + 1, min(start + 2001, pages * VERSIONS_PER_PAGE + 1))
            conn.execute(
                insert(Capture),
                [{"id": i, "page_id": (i - 1) // VERSIONS_PER_PAGE + 1, "run_id": 1,
                  "url": "http://s/", "fetched_at": now, "http_status": 200, "headers": [],
                  "payload_sha256": f"{i:064x}", "payload_length": 1, "warc_filename": "s.warc.gz",
                  "warc_offset": i, "warc_length": 1} for i in ids],
            )  # fmt: skip
            conn.execute(
                insert(ArticleText),
                [{"id": i, "body_sha256": f"{i:064x}", "created_at": now,
                  "body": "".join(rng.choices(CHARS, k=body_chars))} for i in ids],
            )  # fmt: skip
            conn.execute(
                insert(ArticleVersion),
                [{"id": i, "page_id": (i - 1) // VERSIONS_PER_PAGE + 1,
                  "version_no": (i - 1) % VERSIONS_PER_PAGE + 1, "capture_id": i,
                  "last_capture_id": i, "content_sha256": f"{i:064x}",
                  "change_class": "new" if i % VERSIONS_PER_PAGE == 1 else "minor_edit",
                  "text_id": i, "title": f"第{i}篇", "published": now.date(),
                  "published_time": "09:15", "captions": ["图片说明"], "first_seen_at": now,
                  "last_seen_at": now} for i in ids],
            )  # fmt: skip


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(
            f"{argv[1:4]} failed: {proc.stderr.read().decode() if proc.stderr else ''}"
        )
    return usage.ru_maxrss / 1024, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--body-chars", type=int, default=1500)
    args = parser.parse_args()
    for versions in args.versions:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            url = f"sqlite:///{folder / 'archive.sqlite3'}"
            fill(url, versions, args.body_chars)
            env = {k: v for k, v in os.environ.items() if not k.startswith("GONGHUI_")}
            env["GONGHUI_DATABASE_URL"] = url
            ours = measured(
                [sys.executable, "-m", "crawler.cli.main", "export", "--format", "parquet",
                 "-o", str(folder / "pq")], env,
            )  # fmt: skip
            baseline = measured(
                [sys.executable, "-c", BASELINE, url, str(folder / "baseline.parquet")], env
            )
            print(
                json.dumps(
                    {
                        "versions": versions,
                        "database_mb": round(
                            (folder / "archive.sqlite3").stat().st_size / 2**20, 1
                        ),
                        "ours_peak_mb": round(ours[0], 1),
                        "ours_s": round(ours[1], 2),
                        "baseline_peak_mb": round(baseline[0], 1),
                        "baseline_s": round(baseline[1], 2),
                        "peak_ratio": round(ours[0] / baseline[0], 2),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
