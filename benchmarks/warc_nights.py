#!/usr/bin/env python3
"""WARC bytes per night with and without revisit records (issue 15, point 2).

    .venv/bin/python benchmarks/crawl_world.py --articles-per-site 300 --keep /tmp/world
    .venv/bin/python benchmarks/warc_nights.py /tmp/world/warc

For each night's WARC files (one per site and run, ``<site>/<site>-<stamp>-run<N>.warc.gz``): the bytes
on disk, the records by type, and what the same night would weigh without revisits: each
revisit record replaced by a full response record of the same exchange, whose size is its
original's record (same headers and body, compressed alike; only the record id and date differ,
a few bytes). Both figures come from the same files of the same crawl, so the machine's noise
plays no part. One JSON line per night (night k: each site's k-th run).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from warcio.archiveiterator import ArchiveIterator

from archive.warc_read import ORIGINAL_FILENAME, ORIGINAL_OFFSET

RUN = re.compile(r"-run(\d+)\.warc\.gz$")


def record_lengths(path: Path) -> dict[int, tuple[str, int, str, int]]:
    """offset -> (type, length, original file, original offset) of every record of a file."""
    out = {}
    with open(path, "rb") as fh:
        records = ArchiveIterator(fh)
        for record in records:
            record.raw_stream.read()
            headers = record.rec_headers
            out[records.get_record_offset()] = (
                record.rec_type,
                records.get_record_length(),
                headers.get_header(ORIGINAL_FILENAME) or "",
                int(headers.get_header(ORIGINAL_OFFSET) or -1),
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("warc_dir", type=Path)
    warc_dir = parser.parse_args().warc_dir
    files = {p.relative_to(warc_dir).as_posix(): p for p in sorted(warc_dir.rglob("*.warc.gz"))}
    index = {name: record_lengths(path) for name, path in files.items()}
    # Night k is each site's k-th run (a crawl --all starts one run per site).
    runs_of: dict[str, list[int]] = defaultdict(list)
    for name in index:
        runs_of[name.split("/")[0]].append(int(RUN.search(name).group(1)))
    nights: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    for name, records in index.items():
        site, run = name.split("/")[0], int(RUN.search(name).group(1))
        night = nights[sorted(runs_of[site]).index(run) + 1]
        night["bytes"] += files[name].stat().st_size
        night["without_revisits"] += files[name].stat().st_size
        for rec_type, length, original, offset in records.values():
            night[rec_type] += 1
            if rec_type == "revisit":
                full = index[original][offset][1]
                night["without_revisits"] += full - length
                night["revisit_bytes"] += length
                night["their_originals_bytes"] += full
    for number in sorted(nights):
        night = dict(nights[number])
        night["ratio"] = round(night["bytes"] / night["without_revisits"], 3)
        print(json.dumps({"night": number, **night}))


if __name__ == "__main__":
    main()
