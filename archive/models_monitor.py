"""The monitoring tables: what each run covered, and the findings drift rules raised.

``run_coverage`` is one row per finished run (``archive.coverage`` fills it from the database
when the run closes, with the few figures only the crawl knows). ``finding`` is one row per
problem of a site (``archive.findings``): raised once by a rule, kept open while the site
still shows it, closed when it recovers; ``notified_at`` says whether a digest named it yet.
Imported by ``archive.models`` so the schema is one ``Base.metadata``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from archive.models import Base

SEVERITIES = ("warning", "critical")


class RunCoverage(Base):
    __tablename__ = "run_coverage"

    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"), primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("site.id"), index=True)
    # Articles the run saw: extracted from a 200 or confirmed by a 304.
    articles: Mapped[int] = mapped_column(Integer, default=0)
    # Of those, extracted afresh (a 200): the shares below are over these.
    extracted: Mapped[int] = mapped_column(Integer, default=0)
    with_date: Mapped[int] = mapped_column(Integer, default=0)
    with_source: Mapped[int] = mapped_column(Integer, default=0)
    with_author: Mapped[int] = mapped_column(Integer, default=0)
    with_captions: Mapped[int] = mapped_column(Integer, default=0)
    median_body: Mapped[int | None] = mapped_column(Integer)  # characters
    fallback: Mapped[int | None] = mapped_column(Integer)  # extracted by the fallback path
    list_pages: Mapped[int | None] = mapped_column(Integer)  # list (栏目) pages read
    list_links: Mapped[int | None] = mapped_column(Integer)  # article links found on them
    article_pages: Mapped[int] = mapped_column(Integer, default=0)  # article URLs answered
    soft_404: Mapped[int] = mapped_column(Integer, default=0)  # of those, a "not found" page
    drops: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {reason: count}
    errors: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {reason: count}
    created_at: Mapped[dt.datetime]


class Finding(Base):
    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_site_rule", "site_id", "rule"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site_id: Mapped[str] = mapped_column(String(64), ForeignKey("site.id"))
    rule: Mapped[str] = mapped_column(String(40))  # e.g. "coverage_source", "failing"
    severity: Mapped[str] = mapped_column(String(16))  # SEVERITIES
    was: Mapped[str]  # the baseline, as a reader says it ("100 %", "8 articles")
    now: Mapped[str]
    message: Mapped[str]  # one line: "xnzgh: no 来源 on 9 of 9 articles (was 100 %)"
    run_id: Mapped[int] = mapped_column(ForeignKey("run.id"))  # the run that raised it
    last_run_id: Mapped[int] = mapped_column(Integer)  # the latest run that still showed it
    first_seen_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    closed_run_id: Mapped[int | None] = mapped_column(Integer)  # the run it recovered in
    notified_at: Mapped[dt.datetime | None]  # the first digest that named it
