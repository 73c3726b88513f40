"""The archive schema: sites, pages, raw captures, article versions, texts, reprint clusters, runs.

Identity is the canonical URL (one ``page`` row per canonical URL). Every HTTP response becomes a
``capture`` that points at its WARC record. An article page gets ``article_version`` rows numbered
1, 2, ... per page; a new one is made only when the normalised content hash changes, when the
page is seen gone (``removed``) and when it comes back (``restored``). The body text of a version
lives in ``article_text``, stored once per normalised text and shared by every version and page
that has it. Pages that carry the same article on different sites share a ``reprint_cluster``,
found through the MinHash band keys in ``lsh_band`` (kept in the database, so every process and
every restart sees the same index).

The page's current version is *derived* (the highest ``version_no`` of that page) rather than
stored as ``page.current_version_id``: a pointer would make page <-> article_version a foreign-key
cycle, and the unique ``(page_id, version_no)`` index makes the lookup a single index probe.

Every change here ships an Alembic revision in ``archive/migrations/versions``; the test suite
fails on drift between these models and ``upgrade head``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

RUN_TRIGGERS = ("manual", "schedule", "demo")
RUN_STATUSES = ("running", "finished", "failed")
SCRIPTS = ("hans", "hant")
# archive.textdiff documents when each applies.
CHANGE_CLASSES = ("new", "minor_edit", "substantive_edit", "retitle", "removed", "restored")
# How a page was seen gone: HTTP status, a redirect to the home page, a 200 "not found" page.
REMOVALS = ("http_404", "http_410", "redirect_home", "soft_404")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A tz-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores text and hands back naive values, which we
    label UTC on the way out. Naive values are refused on the way in: guessing a zone is how
    archives end up eight hours off.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: archive timestamps must be tz-aware")
        value = value.astimezone(dt.UTC)
        # SQLite's text format has no zone; store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dt.datetime: UtcDateTime(),
        dt.date: Date(),
        str: Text(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


class Site(Base):
    __tablename__ = "site"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the site_id
    name: Mapped[str]
    base_url: Mapped[str]
    created_at: Mapped[dt.datetime]


class Run(Base):
    __tablename__ = "run"
    __table_args__ = (
        CheckConstraint(f'"trigger" IN {RUN_TRIGGERS!r}', name="trigger_valid"),
        CheckConstraint(f'"status" IN {RUN_STATUSES!r}', name="status_valid"),
        Index("uq_run_site_slot", "site_id", "scheduled_for", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("site.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    pages_fetched: Mapped[int] = mapped_column(Integer, default=0)
    articles_archived: Mapped[int] = mapped_column(Integer, default=0)
    new_versions: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    drops: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {reason: count}
    removals: Mapped[int] = mapped_column(Integer, default=0)  # archived pages seen gone
    # Why a run did not finish normally: "interrupted (…)", "stopped after 20 consecutive …".
    stop_reason: Mapped[str | None] = mapped_column(String(300))
    # The interrupted run this one carried on (its archived articles were not fetched again).
    resumed_from: Mapped[int | None] = mapped_column(Integer)
    # A scheduled run's slot (the timetable's fire time): one run per site and slot, however
    # many scheduler processes share the database.
    scheduled_for: Mapped[dt.datetime | None]
    # "full" (every list page, every known article), "incremental" (stop-when-seen, re-checks
    # that are due) or "backfill" (a date range of an e-paper).
    mode: Mapped[str | None] = mapped_column(String(16))


class SiteLease(Base):
    """Who is crawling a site now. One row per site; a crawl holds it while it runs.

    Taken with a conditional UPDATE (or INSERT) in one statement, so two processes on one
    database never both hold it; renewed by the crawl every third of its lifetime; released at
    the end. A crawl killed without a chance to release it leaves it to expire (or, on the same
    host, to be taken at once when its process is gone).
    """

    __tablename__ = "site_lease"

    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("site.id"), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))  # host:pid:token
    run_id: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[dt.datetime]


class OwedPage(Base):
    """A page a run fetched but could not store (the database stayed locked or unreachable
    past every retry, or the site was stopped by a storage error while it was in flight).
    The next run of the site, whatever its mode, asks for every owed page first; storing it
    settles the debt (``archive.owed``)."""

    __tablename__ = "owed_page"
    __table_args__ = (UniqueConstraint("site_id", "canonical_url"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("site.id"))
    canonical_url: Mapped[str]
    url: Mapped[str]  # as the seed names it (the page URL, not a replica's served URL)
    kind: Mapped[str] = mapped_column(String(16))  # "article", "list" or "other"
    reason: Mapped[str] = mapped_column(String(300))
    run_id: Mapped[int | None] = mapped_column(Integer)  # the run that fetched it
    owed_at: Mapped[dt.datetime]


class Page(Base):
    __tablename__ = "page"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("site.id"), index=True)
    canonical_url: Mapped[str] = mapped_column(unique=True)
    url: Mapped[str]  # as first seen
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    last_status: Mapped[int] = mapped_column(Integer)
    # Set the first time an archived article is seen gone, cleared when it comes back.
    removed_at: Mapped[dt.datetime | None]
    removal: Mapped[str | None] = mapped_column(String(16))
    cluster_id: Mapped[int | None] = mapped_column(ForeignKey("reprint_cluster.id"), index=True)


class ArticleText(Base):
    """A body text, stored once however many versions and pages have it (exact dedup).

    ``body_sha256`` is the hash of the normalised body (``archive.versioning.body_sha256``); the
    stored ``body`` is the text as first published, ``body_hans`` its zh-Hans reading (NULL when
    identical).
    """

    __tablename__ = "article_text"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[str]
    body_hans: Mapped[str | None]
    created_at: Mapped[dt.datetime]


class ReprintCluster(Base):
    """Pages on different sites that carry the same article; ``original_page_id`` the likely
    first publication (see ``archive.reprints``)."""

    __tablename__ = "reprint_cluster"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key: page.cluster_id already points here, and a cycle of keys makes every
    # insert order a puzzle. The store keeps it on a member of the cluster.
    original_page_id: Mapped[int | None] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class LshBand(Base):
    """One MinHash band key of a page's current text; pages sharing a key are candidates."""

    __tablename__ = "lsh_band"
    __table_args__ = (Index("ix_lsh_band_key", "key"),)

    # The primary key (page_id, band) also serves "the bands of this page": no second index.
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"), primary_key=True)
    band: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    key: Mapped[int] = mapped_column(BigInteger)


class MinHashSignature(Base):
    """The MinHash of a page's current text: NUM_PERM uint32 values, little-endian (512 bytes).

    Kept so that a candidate's similarity can be estimated without reading and shingling its
    text (``archive.reprints.ESTIMATE_FLOOR``).
    """

    __tablename__ = "minhash"

    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"), primary_key=True)
    hashvalues: Mapped[bytes] = mapped_column(LargeBinary)


class Capture(Base):
    __tablename__ = "capture"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"), index=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), index=True)
    url: Mapped[str]
    fetched_at: Mapped[dt.datetime]
    http_status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[list[Any]]  # [[name, value], ...] in the order sent
    content_type: Mapped[str | None]
    http_charset: Mapped[str | None] = mapped_column(String(64))
    meta_charset: Mapped[str | None] = mapped_column(String(64))
    detected_charset: Mapped[str | None] = mapped_column(String(64))
    chosen_encoding: Mapped[str | None] = mapped_column(String(64))
    replacement_count: Mapped[int | None] = mapped_column(Integer)
    payload_sha256: Mapped[str] = mapped_column(String(64), index=True)
    payload_length: Mapped[int] = mapped_column(BigInteger)
    warc_filename: Mapped[str]  # relative to the WARC dir, "/"-separated
    warc_offset: Mapped[int] = mapped_column(BigInteger)  # a run's file may pass 2 GiB
    warc_length: Mapped[int] = mapped_column(BigInteger)


class ArticleVersion(Base):
    __tablename__ = "article_version"
    __table_args__ = (
        UniqueConstraint("page_id", "version_no"),  # also the current-version lookup
        CheckConstraint(f'"script" IN {SCRIPTS!r}', name="script_valid"),
        CheckConstraint(f'"change_class" IN {CHANGE_CLASSES!r}', name="change_class_valid"),
        CheckConstraint(f'"removal" IN {REMOVALS!r}', name="removal_valid"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("page.id"))
    version_no: Mapped[int] = mapped_column(Integer)
    capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"))  # first produced it
    last_capture_id: Mapped[int] = mapped_column(ForeignKey("capture.id"))
    content_sha256: Mapped[str] = mapped_column(String(64))
    change_class: Mapped[str] = mapped_column(String(20))
    removal: Mapped[str | None] = mapped_column(String(16))  # set on "removed" versions
    text_id: Mapped[int] = mapped_column(ForeignKey("article_text.id"), index=True)
    title: Mapped[str]
    subtitle: Mapped[str | None]
    kicker: Mapped[str | None]
    published: Mapped[dt.date | None] = mapped_column(index=True)
    published_time: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str | None]
    author: Mapped[str | None]
    captions: Mapped[list[Any]]
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    # The zh-Hans reading (see archive.records.ArticleFields), NULL where it equals title /
    # body. NULL counts: a version stored before revision 0002, never normalised.
    title_hans: Mapped[str | None]
    artefacts_removed: Mapped[int | None] = mapped_column(Integer)
    lost_chars: Mapped[int | None] = mapped_column(Integer)
    script: Mapped[str | None] = mapped_column(String(8))

    text: Mapped[ArticleText] = relationship(lazy="joined")

    @property
    def body(self) -> str:
        return self.text.body

    @property
    def body_hans(self) -> str | None:
        return self.text.body_hans


# The monitoring tables (run coverage, findings) share this metadata.
from archive import models_monitor  # noqa: E402, F401
