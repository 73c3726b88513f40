"""Which full WARC record a new response may be a revisit of (``Archive.write_warc``).

The page's last 200 capture: when its payload (the decoded body, ``payload_sha256``) is the
new fetch's, its record is resolved to the full response record behind it (a revisit's
original) and handed to the writer, which writes a revisit when the payload digests of the
two records agree too (the bytes as stored: a body now sent with another content coding or
chunking is stored whole again, as received). One indexed query a page; the WARC is read only
when the body is unchanged.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.errors import StorageError
from archive.models import Capture, Page
from archive.records import Fetch
from archive.urls import canonical_url
from archive.warc_read import OriginalRecord, original_record


def revisit_original(session: Session, warc_dir: Path, fetch: Fetch) -> OriginalRecord | None:
    """The full record ``fetch`` would repeat, or None (not a 200, a new page, a new body, or
    an original that cannot be read: then the response is stored whole)."""
    if fetch.status != 200:
        return None
    last = session.execute(
        select(Capture.payload_sha256, Capture.warc_filename, Capture.warc_offset)
        .join(Page, Page.id == Capture.page_id)
        .where(
            Page.canonical_url == canonical_url(fetch.page_url or fetch.url),
            Capture.http_status == 200,
        )
        .order_by(Capture.fetched_at.desc(), Capture.id.desc())
        .limit(1)
    ).first()
    if last is None or last.payload_sha256 != hashlib.sha256(fetch.body).hexdigest():
        return None
    try:
        return original_record(warc_dir, last.warc_filename, last.warc_offset)
    except StorageError:
        return None
