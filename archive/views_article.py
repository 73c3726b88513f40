"""Read-side answers for the web view's article pages: one page with every version, the diff
between two of them, its reprint cluster, a capture with its encoding evidence and payload.

Plain dataclasses (the web app renders them as HTML or JSON); every function takes an open
Connection (the web app's read-only one). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from archive.models import ArticleText, ArticleVersion, Capture, Page, ReprintCluster, Site
from archive.textdiff import DELETED, INSERTED, diff_sentences, render_diff
from archive.warc import read_payload


@dataclass(frozen=True, slots=True)
class Version:
    version_no: int
    change_class: str
    removal: str | None
    title: str
    kicker: str | None
    subtitle: str | None
    published: dt.date | None
    published_time: str | None
    source: str | None
    author: str | None
    captions: list[Any]
    body: str
    body_hans: str | None
    script: str | None
    first_seen_at: dt.datetime
    last_seen_at: dt.datetime
    capture_id: int
    last_capture_id: int


@dataclass(frozen=True, slots=True)
class Member:
    page_id: int
    site_id: str
    site_name: str
    url: str
    title: str
    published: dt.date | None
    removed: bool
    original: bool


@dataclass(frozen=True, slots=True)
class Article:
    page_id: int
    site_id: str
    site_name: str
    url: str
    first_seen_at: dt.datetime
    removed_at: dt.datetime | None
    removal: str | None
    cluster_id: int | None
    versions: list[Version]  # oldest first
    reprints: list[Member]  # the cluster, the likely original first; empty if none

    def version(self, no: int | None) -> Version:
        """Version ``no`` (the current one for None); KeyError if the page has no such one."""
        if no is None:
            return self.versions[-1]
        for v in self.versions:
            if v.version_no == no:
                return v
        raise KeyError(no)


def article(conn: Connection, page_id: int) -> Article | None:
    """The article page with all its versions and its reprint cluster; None if the page has
    no article version."""
    page = conn.execute(
        select(
            Page.id,
            Page.site_id,
            Site.name,
            Page.url,
            Page.first_seen_at,
            Page.removed_at,
            Page.removal,
            Page.cluster_id,
        )
        .join(Site, Site.id == Page.site_id)
        .where(Page.id == page_id)
    ).one_or_none()
    if page is None:
        return None
    rows = conn.execute(
        select(
            ArticleVersion.version_no,
            ArticleVersion.change_class,
            ArticleVersion.removal,
            ArticleVersion.title,
            ArticleVersion.kicker,
            ArticleVersion.subtitle,
            ArticleVersion.published,
            ArticleVersion.published_time,
            ArticleVersion.source,
            ArticleVersion.author,
            ArticleVersion.captions,
            ArticleText.body,
            ArticleText.body_hans,
            ArticleVersion.script,
            ArticleVersion.first_seen_at,
            ArticleVersion.last_seen_at,
            ArticleVersion.capture_id,
            ArticleVersion.last_capture_id,
        )
        .join(ArticleText, ArticleText.id == ArticleVersion.text_id)
        .where(ArticleVersion.page_id == page_id)
        .order_by(ArticleVersion.version_no)
        .limit(1000)
    )
    versions = [Version(*row) for row in rows]
    if not versions:
        return None
    reprints = _cluster(conn, page.cluster_id) if page.cluster_id is not None else []
    return Article(*page, versions=versions, reprints=reprints)


def _cluster(conn: Connection, cluster_id: int) -> list[Member]:
    original = conn.execute(
        select(ReprintCluster.original_page_id).where(ReprintCluster.id == cluster_id)
    ).scalar()
    newest = (
        select(func.max(ArticleVersion.version_no))
        .where(ArticleVersion.page_id == Page.id)
        .correlate(Page)
        .scalar_subquery()
    )
    rows = conn.execute(
        select(
            Page.id,
            Page.site_id,
            Site.name,
            Page.url,
            ArticleVersion.title,
            ArticleVersion.published,
            Page.removed_at,
        )
        .join(Site, Site.id == Page.site_id)
        .join(ArticleVersion, ArticleVersion.page_id == Page.id)
        .where(Page.cluster_id == cluster_id, ArticleVersion.version_no == newest)
        .limit(500)
    )
    members = [
        Member(pid, site, name, url, title, published, removed is not None, pid == original)
        for pid, site, name, url, title, published, removed in rows
    ]
    return sorted(members, key=lambda m: (not m.original, m.published or dt.date.max, m.page_id))


# -- diff ----------------------------------------------------------------------------------------

_MARKS = re.compile(
    re.escape(DELETED[0])
    + "(.*?)"
    + re.escape(DELETED[1])
    + "|"
    + re.escape(INSERTED[0])
    + "(.*?)"
    + re.escape(INSERTED[1]),
    re.S,
)


@dataclass(frozen=True, slots=True)
class DiffLine:
    tag: str  # equal, delete, insert, replace, skip (as archive.textdiff.render_diff)
    parts: list[tuple[str, str]]  # (text, "" | "del" | "ins")


def diff(old: Version, new: Version, *, full: bool = False) -> list[DiffLine]:
    """The sentence-aligned diff of two versions' bodies, as ``gonghui diff`` shows it, with
    changed characters as parts of their own (no markup: the template escapes and marks)."""
    out = []
    for tag, line in render_diff(diff_sentences(old.body, new.body), None if full else 2):
        line = line[2:] if tag != "skip" else "…"
        if tag != "replace":
            out.append(DiffLine(tag, [(line, "")]))
            continue
        parts: list[tuple[str, str]] = []
        at = 0
        for found in _MARKS.finditer(line):
            if found.start() > at:
                parts.append((line[at : found.start()], ""))
            if found.group(1) is not None:
                parts.append((found.group(1), "del"))
            else:
                parts.append((found.group(2), "ins"))
            at = found.end()
        if at < len(line):
            parts.append((line[at:], ""))
        out.append(DiffLine(tag, parts))
    return out


# -- captures ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CaptureInfo:
    id: int
    page_id: int
    run_id: int
    url: str
    fetched_at: dt.datetime
    http_status: int
    headers: list[Any]
    content_type: str | None
    http_charset: str | None
    meta_charset: str | None
    detected_charset: str | None
    chosen_encoding: str | None
    replacement_count: int | None
    payload_sha256: str
    payload_length: int
    warc_filename: str
    warc_offset: int


def capture(conn: Connection, capture_id: int) -> CaptureInfo | None:
    row = conn.execute(
        select(
            Capture.id,
            Capture.page_id,
            Capture.run_id,
            Capture.url,
            Capture.fetched_at,
            Capture.http_status,
            Capture.headers,
            Capture.content_type,
            Capture.http_charset,
            Capture.meta_charset,
            Capture.detected_charset,
            Capture.chosen_encoding,
            Capture.replacement_count,
            Capture.payload_sha256,
            Capture.payload_length,
            Capture.warc_filename,
            Capture.warc_offset,
        ).where(Capture.id == capture_id)
    ).one_or_none()
    return CaptureInfo(*row) if row is not None else None


def capture_text(warc_dir: Path, info: CaptureInfo) -> str:
    """The capture's payload read back from its WARC record, decoded with the encoding the
    crawler chose for it (UTF-8 when none was recorded); undecodable bytes become U+FFFD.
    Raises StorageError when the record cannot be read."""
    payload = read_payload(warc_dir, info.warc_filename, info.warc_offset)
    encoding = info.chosen_encoding or "utf-8"
    try:
        return payload.decode(encoding, errors="replace")
    except LookupError:  # an encoding name Python does not know
        return payload.decode("utf-8", errors="replace")
