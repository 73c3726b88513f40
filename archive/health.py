"""Each site's health as of now: its last run, that run's coverage, its open findings.

Read by ``gonghui health`` (table, ``--json``), the Prometheus text file (``archive.metrics``)
and the digest (``archive.alerts``). Only reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from archive import coverage as cov
from archive import findings
from archive.models import Run, Site
from archive.models_monitor import Finding, RunCoverage


@dataclass
class SiteHealth:
    site_id: str
    last_run: Run | None
    coverage: RunCoverage | None
    open: list[Finding] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return findings.exit_code(self.open)

    def age_seconds(self, now: dt.datetime) -> float | None:
        run = self.last_run
        at = run.finished_at or run.started_at if run is not None else None
        return (now - at).total_seconds() if at is not None else None

    def to_json(self, now: dt.datetime) -> dict[str, Any]:
        run, c = self.last_run, self.coverage
        return {
            "site": self.site_id,
            "state": ("ok", "warning", "critical")[self.exit_code],
            "last_run": None
            if run is None
            else {
                "id": run.id,
                "status": run.status,
                "finished_at": run.finished_at.isoformat() if run.finished_at else None,
                "age_seconds": self.age_seconds(now),
                "articles": c.articles if c else run.articles_archived,
            },
            "coverage": None if c is None else coverage_json(c),
            "findings": [finding_json(f) for f in self.open],
        }


def coverage_json(c: RunCoverage) -> dict[str, Any]:
    return {
        "articles": c.articles,
        "extracted": c.extracted,
        **{f"{name}_share": cov.share(c, name) for name in cov.FIELDS},
        "median_body": c.median_body,
        "fallback_share": cov.fallback_share(c),
        "list_pages": c.list_pages,
        "links_per_list_page": cov.links_per_list(c),
        "soft_404": c.soft_404,
        "drops": c.drops,
        "errors": c.errors,
    }


def finding_json(f: Finding) -> dict[str, Any]:
    return {
        "site": f.site_id,
        "rule": f.rule,
        "severity": f.severity,
        "was": f.was,
        "now": f.now,
        "message": f.message,
        "first_seen": f.first_seen_at.isoformat(),
        "last_seen": f.last_seen_at.isoformat(),
        "run_id": f.run_id,
        "new": f.notified_at is None,
        "closed": f.closed_at.isoformat() if f.closed_at else None,
    }


def site_health(engine: Engine, site_id: str | None = None) -> list[SiteHealth]:
    """Every site (or one), by site id."""
    with Session(engine, expire_on_commit=False) as session:
        sites = [s for s in session.scalars(select(Site.id).order_by(Site.id))]
        if site_id is not None:
            sites = [s for s in sites if s == site_id]
        last_ids = dict(
            session.execute(
                select(Run.site_id, func.max(Run.id))
                .where(Run.status.in_(("finished", "failed")))
                .group_by(Run.site_id)
            ).all()
        )
        open_ = findings.open_findings(session, site_id)
        out = []
        for site in sites:
            run = session.get(Run, last_ids[site]) if site in last_ids else None
            c = session.get(RunCoverage, run.id) if run is not None else None
            out.append(SiteHealth(site, run, c, [f for f in open_ if f.site_id == site]))
        session.expunge_all()
    return out
