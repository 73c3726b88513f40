"""`gonghui extract --jsonl PATH...`: run the crawler's decode and extraction on saved pages."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click


def extract_file(path: Path, url: str | None = None) -> dict[str, Any]:
    """One JSON-ready record; a page that cannot be read gives a record with ``error``."""
    from dataclasses import asdict

    from crawler.decode import decode_body
    from crawler.extract.article import extract_article

    record: dict[str, Any] = {"path": str(path)}
    try:
        body = path.read_bytes()
    except OSError as exc:
        return record | {"error": f"cannot read: {exc.strerror or exc}"}
    decoded = decode_body(body, None)
    result = extract_article(decoded.text, url or path.resolve().as_uri())
    record["encoding"] = asdict(decoded.evidence)
    fields = result.fields
    if fields is not None:
        record.update(
            title=fields.title,
            subtitle=fields.subtitle,
            kicker=fields.kicker,
            published=fields.published.isoformat() if fields.published else None,
            published_time=fields.published_time,
            source=fields.source,
            author=fields.author,
            body=fields.body,
            captions=list(fields.captions),
            # Filled like the export: the original where no zh-Hans reading is kept.
            title_hans=fields.hans_title,
            body_hans=fields.hans_body,
            script=fields.script,
            artefacts_removed=fields.artefacts_removed,
            lost_chars=fields.lost_chars,
        )
    if result.drop_reason:
        record["error"] = result.drop_reason
    return record


@click.command(name="extract")
@click.option(
    "--jsonl",
    "jsonl",
    is_flag=True,
    required=True,
    help="Print one JSON object per page (the only format so far).",
)
@click.option("--url", help="The page's URL when known (dates in URLs); for a single PATH.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
def command(jsonl: bool, url: str | None, paths: tuple[Path, ...]) -> None:
    """Extract title, date, 来源, author, body and captions from saved page files (bytes as
    saved, any encoding), with exactly the code the crawler uses. A bad file gives a record
    with "error"; the batch goes on.

    \b
    Example:
      gonghui extract --jsonl page1.html page2.html > out.jsonl
    """
    if url and len(paths) > 1:
        raise click.BadParameter("give --url with a single PATH", param_hint="--url")
    out = sys.stdout
    for path in paths:
        try:
            record = extract_file(path, url)
        except Exception as exc:  # one broken page must not stop the batch
            record = {"path": str(path), "error": f"{type(exc).__name__}: {exc}"}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
