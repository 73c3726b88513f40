#!/usr/bin/env python3
"""Score our extractor against trafilatura and readability on ../shared/eval, in one run.

    .venv/bin/pip install readability-lxml   # the baseline, not a dependency of the tool
    .venv/bin/python benchmarks/extract_eval.py [--eval ../shared/eval] [--readme README.md]

Runs the eval set's own scorer (score.py) once per system, one after the other in this
process's session so the machine's load is shared, prints the JSON lines, and rewrites the
table between the markers in the README.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN, END = "<!-- extract_eval:begin -->", "<!-- extract_eval:end -->"
COLUMNS = (
    ("body_F1", "body F1"),
    ("title_acc", "title"),
    ("date_acc", "date"),
    ("source_acc", "来源"),
    ("boilerplate_lines", "boilerplate lines"),
    ("crashes", "crashes"),
    ("ms_per_page", "ms/page"),
)


def score(eval_dir: Path, system: str) -> dict:
    cmd = [
        sys.executable,
        str(eval_dir / "score.py"),
        system,
        str(eval_dir),
        "--labels",
        str(eval_dir / "labels.tsv"),
    ]
    if system == "project":
        gonghui = shutil.which("gonghui", path=str(Path(sys.executable).parent)) or "gonghui"
        cmd += ["--cmd", f"{gonghui} extract --jsonl"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = [
        "| system | " + " | ".join(label for _, label in COLUMNS) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for row in rows:
        cells = []
        for key, _ in COLUMNS:
            value = row.get(key)
            cells.append(
                "-"
                if value is None or value != value
                else f"{value:.3f}".rstrip("0").rstrip(".")
                if isinstance(value, float)
                else str(value)
            )
        lines.append(f"| {row['system']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=ROOT.parent / "shared" / "eval")
    parser.add_argument("--readme", type=Path, default=ROOT / "README.md")
    args = parser.parse_args()
    rows = []
    for system in ("project", "trafilatura", "readability"):
        row = score(args.eval, system)
        print(json.dumps(row, ensure_ascii=False))
        rows.append(row)
    text = args.readme.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _, tail = rest.split(END, 1)
        args.readme.write_text(f"{head}{BEGIN}\n{table(rows)}\n{END}{tail}", encoding="utf-8")


if __name__ == "__main__":
    main()
