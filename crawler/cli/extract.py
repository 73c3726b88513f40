"""`gonghui extract --jsonl PATH...`: run the crawler's decode and extraction on saved pages."""

from __future__ import annotations

import json
import os
import stat
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
    body, unreadable = read_page(path)
    if body is None:
        return record | unreadable
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


def read_page(path: Path) -> tuple[bytes | None, dict[str, str]]:
    """The file's bytes, or the ``error`` (a short reason) and ``detail`` of a record.

    Only regular files (or symlinks to one) are read: a FIFO would block the batch forever
    and a device never ends, so they, folders and sockets are ``not_a_regular_file``, judged
    before opening (and checked again on what was opened, non-blocking, in case the path
    changed meanwhile). Pages larger than the crawler's DOWNLOAD_MAXSIZE are refused unread,
    as the crawler would never have fetched them: ``page_too_large``."""
    from crawler.settings import DOWNLOAD_MAXSIZE

    try:
        kind = _not_regular(os.stat(path).st_mode)
        if kind:
            return None, {"error": "not_a_regular_file", "detail": f"{kind}: not read"}
        fd = os.open(path, os.O_RDONLY | _OPEN_FLAGS)
        kind = _not_regular(os.fstat(fd).st_mode)
        if kind:
            os.close(fd)
            return None, {"error": "not_a_regular_file", "detail": f"{kind}: not read"}
        with os.fdopen(fd, "rb") as file:
            body = file.read(DOWNLOAD_MAXSIZE + 1)
    except OSError as exc:
        reason = _OS_ERRORS.get(type(exc), "cannot_read")
        return None, {"error": reason, "detail": exc.strerror or str(exc)}
    if len(body) > DOWNLOAD_MAXSIZE:
        detail = f"larger than {DOWNLOAD_MAXSIZE} bytes (DOWNLOAD_MAXSIZE)"
        return None, {"error": "page_too_large", "detail": detail}
    return body, {}


# Non-blocking, so opening a FIFO that replaced the file after the stat does not hang; no
# controlling terminal from a tty. Neither exists on Windows, where neither matters.
_OPEN_FLAGS = getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)


def _not_regular(mode: int) -> str | None:
    """What a path is when it is not a regular file (``a FIFO``), else None."""
    if stat.S_ISREG(mode):
        return None
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


_OS_ERRORS: dict[type[OSError], str] = {
    FileNotFoundError: "file_not_found",
    IsADirectoryError: "not_a_regular_file",
    PermissionError: "permission_denied",
}


@click.command(name="extract")
@click.option(
    "--jsonl",
    "jsonl",
    is_flag=True,
    required=True,
    help="Print one JSON object per page (the only format so far).",
)
@click.option("--url", help="The page's URL when known (dates in URLs); for a single PATH.")
# Not click.Path(exists=True, dir_okay=False): a missing file or a directory among the pages
# gets its error record like any other bad page, instead of stopping the whole batch.
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def command(jsonl: bool, url: str | None, paths: tuple[Path, ...]) -> None:
    """Extract title, date, 来源, author, body and captions from saved page files (bytes as
    saved, any encoding), with exactly the code the crawler uses. A bad file gives a record
    with "error" (a short reason: empty_page, binary_content, empty_body, file_not_found,
    not_a_regular_file (a FIFO, folder or device: never opened), page_too_large ...); the
    batch goes on.

    Exit status: 0 when a record was written for every PATH, error records included (look
    for "error" in them); 1 when the output could not be written; 2 on a usage error.

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
        except Exception as exc:  # a bug must cost one page, never the batch
            detail = f"{type(exc).__name__}: {exc}"
            record = {"path": str(path), "error": "extract_error", "detail": detail}
            click.echo(f"gonghui extract: {path}: {detail}", err=True)
        try:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()
        except OSError as exc:  # a closed pipe (| head) or a full disk: stop, say so
            _silence_stdout()
            raise click.ClickException(f"cannot write the output: {exc.strerror or exc}") from exc


def _silence_stdout() -> None:
    # Python flushes stdout again at exit; on a closed pipe that prints a second traceback.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
