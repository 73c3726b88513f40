"""Which full WARC record a new response may be a revisit of (``Archive.write_warc``).

The page's last 200 capture: when its payload (the decoded body, ``payload_sha256``) is the
new fetch's, its record is resolved to the full response record behind it (a revisit's
original) and handed to the writer, which writes a revisit when the payload digests of the
two records agree too (the bytes as stored: a body now sent with another content coding or
chunking is stored whole again, as received). One statement a batch of pages; the WARC is read
only when the body is unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Connection, func, select

from archive.errors import StorageError
from archive.models import Capture, Page
from archive.records import Fetch
from archive.urls import canonical_url
from archive.warc_read import OriginalRecord, original_record

_C, _P = Capture.__table__, Page.__table__
_LATEST = (
    select(
        _P.c.canonical_url,
        _C.c.payload_sha256,
        _C.c.warc_filename,
        _C.c.warc_offset,
        func.row_number()
        .over(partition_by=_C.c.page_id, order_by=(_C.c.fetched_at.desc(), _C.c.id.desc()))
        .label("newest"),
    )
    .join(_P, _P.c.id == _C.c.page_id)
    .where(_C.c.http_status == 200)
)


def revisit_originals(
    conn: Connection, warc_dir: Path, fetches: list[Fetch]
) -> list[OriginalRecord | None]:
    """For each fetch, the full record it would repeat, or None (not a 200, a new page, a new
    body, or an original that cannot be read: then the response is stored whole). One
    statement for all of them (the crawl writes a batch's records at once)."""
    urls = {canonical_url(f.page_url or f.url): i for i, f in enumerate(fetches) if f.status == 200}
    out: list[OriginalRecord | None] = [None] * len(fetches)
    if not urls:
        return out
    inner = _LATEST.where(_P.c.canonical_url.in_(list(urls))).subquery()
    rows = conn.execute(select(inner).where(inner.c.newest == 1)).all()
    for url, payload, filename, offset, _ in rows:
        i = urls[url]
        if payload != hashlib.sha256(fetches[i].body).hexdigest():
            continue
        try:
            out[i] = original_record(warc_dir, filename, offset)
        except StorageError:
            pass
    return out
