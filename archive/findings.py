"""Findings: a drift rule's problem with a site, raised once, kept while it lasts, closed on
recovery. One open finding per site and rule; the run that still shows it moves its
``last_run_id`` and its "now"; a run that can judge the rule and finds the site fine closes it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive.drift import Verdict
from archive.models import Run
from archive.models_monitor import Finding

SEVERITY_EXIT = {"warning": 1, "critical": 2}


@dataclass(frozen=True)
class Change:
    raised: list[str]  # rules newly raised by the run
    closed: list[str]  # rules the run closed


def sync(session: Session, run: Run, verdict: Verdict, at: dt.datetime) -> Change:
    """Raise, carry on and close the site's findings after ``run``."""
    open_ = {f.rule: f for f in open_findings(session, run.site_id)}
    raised, closed = [], []
    for rule, problem in verdict.problems.items():
        finding = open_.get(rule)
        if finding is None:
            session.add(
                Finding(
                    site_id=run.site_id,
                    rule=rule,
                    severity=problem.severity,
                    was=problem.was,
                    now=problem.now,
                    message=problem.message,
                    run_id=run.id,
                    last_run_id=run.id,
                    first_seen_at=at,
                    last_seen_at=at,
                )
            )
            raised.append(rule)
        else:
            finding.now, finding.message = problem.now, problem.message
            finding.last_run_id, finding.last_seen_at = run.id, at
            finding.severity = problem.severity
    for rule, finding in open_.items():
        if rule in verdict.judged and rule not in verdict.problems:
            finding.closed_at, finding.closed_run_id = at, run.id
            closed.append(rule)
    return Change(raised, closed)


def open_findings(session: Session, site_id: str | None = None) -> list[Finding]:
    """Open findings, new (not yet in a digest) first, then the newest first."""
    query = select(Finding).where(Finding.closed_at.is_(None))
    if site_id is not None:
        query = query.where(Finding.site_id == site_id)
    found = list(session.scalars(query))
    return sorted(found, key=lambda f: (f.notified_at is not None, -f.id))


def exit_code(findings: list[Finding]) -> int:
    """0 when nothing is open, 1 when only warnings are, 2 when anything critical is."""
    return max((SEVERITY_EXIT.get(f.severity, 1) for f in findings), default=0)
