"""Owed pages: fetched by a run that could not store them, asked for first by the next run.

A page is owed when its storage failed past every retry (the database stayed locked or out
of reach) or when the site was stopped by a storage error while the page was in flight. The
debt is written where it can be:

- in the database (``owed_page``), one row per site and canonical URL;
- when the database itself is what failed, in a journal beside the WARC files,
  ``<warc_dir>/<site_id>/owed.jsonl`` (appended and fsynced), which the next run moves into
  the database before it starts.

The next run of the site, full, incremental or a backfill, asks for every owed page before
anything else; storing the page settles the debt. An article that would otherwise wait for
its turn in the rotation (an e-paper has no sitemap to point at it) is not lost that way.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.models import OwedPage

JOURNAL_NAME = "owed.jsonl"


@dataclass(frozen=True, slots=True)
class Owed:
    url: str  # as the seed names it
    canonical_url: str
    kind: str  # "article", "list" or "other"
    reason: str  # one line: why it was not stored


def record(
    session: Session, site_id: str, run_id: int | None, pages: Iterable[Owed], now: dt.datetime
) -> int:
    """Write the debts (a page owed again keeps one row, with the newest reason and run)."""
    count = 0
    for page in pages:
        row = session.scalars(
            select(OwedPage).where(
                OwedPage.site_id == site_id, OwedPage.canonical_url == page.canonical_url
            )
        ).one_or_none()
        if row is None:
            row = OwedPage(site_id=site_id, canonical_url=page.canonical_url)
            session.add(row)
        row.url, row.kind, row.reason = page.url, page.kind, page.reason[:300]
        row.run_id, row.owed_at = run_id, now
        count += 1
    session.flush()
    return count


def pending(session: Session, site_id: str) -> list[Owed]:
    """The site's owed pages, oldest debt first."""
    rows = session.scalars(
        select(OwedPage).where(OwedPage.site_id == site_id).order_by(OwedPage.id)
    )
    return [Owed(r.url, r.canonical_url, r.kind, r.reason) for r in rows]


def settle(session: Session, site_id: str, canonical_urls: Iterable[str]) -> None:
    urls = list(canonical_urls)
    if urls:
        session.execute(
            delete(OwedPage).where(
                OwedPage.site_id == site_id, OwedPage.canonical_url.in_(urls)
            )
        )


def journal_path(warc_dir: Path, site_id: str) -> Path:
    return Path(warc_dir) / site_id / JOURNAL_NAME


def append_journal(warc_dir: Path, site_id: str, run_id: int | None, pages: list[Owed]) -> None:
    """Append the debts to the site's journal (the database could not take them)."""
    path = journal_path(warc_dir, site_id)
    lines = "".join(json.dumps({**asdict(p), "run_id": run_id}) + "\n" for p in pages)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(lines)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise StorageError(f"cannot write {path}: {exc.strerror or exc}") from exc


def read_journal(warc_dir: Path, site_id: str) -> list[tuple[Owed, int | None]]:
    """The journal's debts; a torn last line (a kill mid-write) is skipped."""
    path = journal_path(warc_dir, site_id)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StorageError(f"cannot read {path}: {exc.strerror or exc}") from exc
    out = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
            run_id = data.pop("run_id", None)
            out.append((Owed(**data), run_id))
        except (ValueError, TypeError):
            continue
    return out


def clear_journal(warc_dir: Path, site_id: str) -> None:
    """Remove the journal once its debts are in the database."""
    try:
        journal_path(warc_dir, site_id).unlink(missing_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot remove {journal_path(warc_dir, site_id)}: {exc}") from exc
