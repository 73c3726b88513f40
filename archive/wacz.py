"""WACZ export: the raw WARC files, a CDXJ index and our pages in one zip (WACZ 1.1.1).

    write_wacz(engine, warc_dir, "bcrb.wacz", site="bcrb")

Layout (https://specs.webrecorder.net/wacz/1.1.1/)::

    archive/<run file>.warc.gz   the WARC files of the chosen captures, stored (not deflated),
                                 plus the files their revisit records refer to
    indexes/index.cdxj           one line per response and revisit record, sorted by SURT
    pages/pages.jsonl            one line per article version: archive URL, capture time, and
                                 our title and text (py-wacz's own page detection finds nothing
                                 in crawler WARCs and cannot decode GBK)
    datapackage.json             every file with its sha256 and size; ``wacz_version`` 1.1.1
    datapackage-digest.json      the sha256 of datapackage.json

The WARC files are copied whole: each is one site's run, so ``site``, ``since_run`` and
``changed_since`` choose files through the captures they hold. Memory stays flat: files and
index lines are streamed; only the index (a line per record) is sorted in memory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from sqlalchemy import Engine, select
from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from archive.errors import StorageError
from archive.models import ArticleText, ArticleVersion, Capture, Page
from archive.warc_read import ORIGINAL_FILENAME

WACZ_VERSION = "1.1.1"
CHUNK = 1 << 20


def write_wacz(
    engine: Engine,
    warc_dir: Path,
    out_path: Path,
    site: str | None = None,
    since_run: int | None = None,
    changed_since: dt.date | dt.datetime | None = None,
) -> dict[str, Any]:
    """Write the WACZ of the chosen captures (all, one site's, those of the runs after
    ``since_run`` as every ``--since-run`` export means it, those fetched on or after
    ``changed_since``) to ``out_path``; return what it holds:
    ``path``, ``warc_files``, ``records`` (index lines), ``pages``, ``bytes``."""
    warc_dir = Path(warc_dir)
    filters = _filters(site, since_run, changed_since)
    with engine.connect() as conn:
        files = set(
            conn.scalars(
                select(Capture.warc_filename).join(Page, Page.id == Capture.page_id).where(*filters)
            )
        )
        files |= _originals(warc_dir, files)
        pages = list(_pages(conn, filters))
    names = _member_names(sorted(files))
    index = sorted(line for name, member in names.items() for line in _cdxj(warc_dir, name, member))
    out_path = Path(out_path)
    try:
        return _write(warc_dir, out_path, names, index, pages, site)
    except OSError as exc:
        raise StorageError(f"cannot write {out_path}: {exc.strerror or exc}") from exc


def _write(
    warc_dir: Path,
    out_path: Path,
    names: dict[str, str],
    index: list[str],
    pages: list[dict[str, Any]],
    site: str | None,
) -> dict[str, Any]:
    with zipfile.ZipFile(out_path, "w", zipfile.ZIP_DEFLATED) as wacz:
        for name, member in names.items():
            wacz.write(warc_dir / name, f"archive/{member}", compress_type=zipfile.ZIP_STORED)
        wacz.writestr("indexes/index.cdxj", "".join(index))
        header = {"format": "json-pages-1.0", "id": "pages", "title": "Archived articles"}
        header["hasText"] = True
        lines = [json.dumps(header, ensure_ascii=False)]
        lines += [json.dumps(page, ensure_ascii=False) for page in pages]
        wacz.writestr("pages/pages.jsonl", "\n".join(lines) + "\n")
        package = _datapackage(wacz, site)
        wacz.writestr("datapackage.json", package)
        digest = {"path": "datapackage.json", "hash": "sha256:" + _sha256(package)}
        wacz.writestr("datapackage-digest.json", json.dumps(digest, indent=2))
    return {
        "path": str(out_path),
        "warc_files": len(names),
        "records": len(index),
        "pages": len(pages),
        "bytes": out_path.stat().st_size,
    }


def _filters(
    site: str | None, since_run: int | None, changed_since: dt.date | dt.datetime | None
) -> list[Any]:
    filters: list[Any] = []
    if site is not None:
        filters.append(Page.site_id == site)
    if since_run is not None:
        filters.append(Capture.run_id > since_run)
    if changed_since is not None:
        if not isinstance(changed_since, dt.datetime):
            changed_since = dt.datetime.combine(changed_since, dt.time(), dt.UTC)
        elif changed_since.tzinfo is None:  # a naive time is UTC, as the archive keeps it
            changed_since = changed_since.replace(tzinfo=dt.UTC)
        filters.append(Capture.fetched_at >= changed_since)
    return filters


@contextmanager
def _reading(path: Path) -> Iterator[BinaryIO]:
    """A WARC file open for reading; StorageError (one line) when it is missing or torn."""
    try:
        with open(path, "rb") as fh:
            yield fh
    except OSError as exc:
        raise StorageError(f"cannot read WARC file {path}: {exc.strerror or exc}") from exc
    except ArchiveLoadFailed as exc:
        raise StorageError(f"cannot read WARC file {path}: {exc}") from exc


def _originals(warc_dir: Path, files: set[str]) -> set[str]:
    """The files that revisit records in ``files`` refer to, so replay finds their payloads."""
    found: set[str] = set()
    for name in files:
        with _reading(warc_dir / name) as fh:
            for record in ArchiveIterator(fh):
                if record.rec_type == "revisit":
                    original = record.rec_headers.get_header(ORIGINAL_FILENAME)
                    if original and original not in files:
                        found.add(original)
    return found


def _member_names(files: list[str]) -> dict[str, str]:
    """WARC file (relative to the WARC dir) -> its name in ``archive/`` (unique, flat)."""
    names: dict[str, str] = {}
    for name in files:
        member = PurePosixPath(name).name
        if member in names.values():
            member = name.replace("/", "-")
        names[name] = member
    return names


def _pages(conn: Any, filters: list[Any]) -> Iterator[dict[str, Any]]:
    """One pages.jsonl entry per article version first seen in the chosen captures."""
    query = (
        select(
            ArticleVersion.id,
            Page.url,
            Capture.fetched_at,
            ArticleVersion.title,
            ArticleText.body,
            ArticleVersion.change_class,
        )
        .join(Capture, Capture.id == ArticleVersion.capture_id)
        .join(Page, Page.id == ArticleVersion.page_id)
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .where(*filters, ArticleVersion.change_class != "removed")
        .order_by(Page.url, ArticleVersion.version_no)
    )
    for row in conn.execute(query):
        yield {
            "id": f"version-{row.id}",
            "url": row.url,
            "ts": _iso(row.fetched_at),
            "title": row.title,
            "text": row.body,
        }


def _cdxj(warc_dir: Path, name: str, member: str) -> Iterator[str]:
    """CDXJ lines (pywb's format) of the response and revisit records of one WARC file."""
    with _reading(warc_dir / name) as fh:
        records = ArchiveIterator(fh)
        for record in records:
            if record.rec_type not in ("response", "revisit"):
                continue
            headers, http = record.rec_headers, record.http_headers
            uri = headers.get_header("WARC-Target-URI")
            record.raw_stream.read()  # to the end, so the offset and length are known
            fields = {
                "url": uri,
                "mime": "warc/revisit"
                if record.rec_type == "revisit"
                else (http.get_header("Content-Type") or "unk").split(";")[0].strip(),
                "status": http.get_statuscode() if http else "-",
                "digest": headers.get_header("WARC-Payload-Digest") or "-",
                "length": str(records.get_record_length()),
                "offset": str(records.get_record_offset()),
                "filename": member,
            }
            stamp = headers.get_header("WARC-Date")[:19]
            stamp = stamp.replace("-", "").replace(":", "").replace("T", "")
            yield f"{surt(uri)} {stamp} {json.dumps(fields, ensure_ascii=False)}\n"


def surt(url: str) -> str:
    """The SURT key of a URL as pywb writes it: ``cn,wire-test)/a/1.html?b=2&a=1`` with the
    query sorted. Ours, not the ``surt`` package: that one pulls in tldextract, which fetches
    the public suffix list from the internet on first use, and our URLs need none of it."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    key = ",".join(reversed(host.split(".")))
    if parts.port and parts.port not in (80, 443):
        key += f":{parts.port}"
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    return f"{key}){(parts.path or '/').lower()}" + (f"?{query.lower()}" if query else "")


def _datapackage(wacz: zipfile.ZipFile, site: str | None) -> str:
    resources = []
    for info in wacz.infolist():
        digest, size = hashlib.sha256(), 0
        with wacz.open(info) as stream:
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        resources.append(
            {
                "name": PurePosixPath(info.filename).name.lower(),
                "path": info.filename,
                "hash": f"sha256:{digest.hexdigest()}",
                "bytes": size,
            }
        )
    package = {
        "profile": "data-package",
        "resources": resources,
        "title": f"Gonghui Archive: {site}" if site else "Gonghui Archive",
        "created": _iso(dt.datetime.now(dt.UTC)),
        "wacz_version": WACZ_VERSION,
        "software": f"gonghui-archive {_version()}",
    }
    return json.dumps(package, indent=2, ensure_ascii=False)


def _iso(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _version() -> str:
    try:
        return metadata.version("gonghui-archive")
    except metadata.PackageNotFoundError:
        return "dev"
