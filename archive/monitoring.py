"""After a run closes: measure its coverage, judge it against the site's history, update
the site's findings. Kept apart from closing the run, so a fault here never leaves a run open.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from archive import coverage, drift, findings
from archive.errors import GonghuiError
from archive.models import Run

logger = logging.getLogger(__name__)


def after_run(
    session_scope: Callable[[], AbstractContextManager[Session]],
    run_id: int,
    figures: Mapping[str, Any] | None = None,
    monitor: Mapping[str, Any] | None = None,
) -> findings.Change | None:
    """Coverage and findings of a closed run; None (logged) when they could not be stored."""
    try:
        settings = drift.DriftSettings.of(monitor)
        with session_scope() as session:
            run = session.get_one(Run, run_id)
            measured = coverage.record(session, run, figures)
            session.flush()
            verdict = drift.evaluate(session, run, measured, settings)
            return findings.sync(session, run, verdict, dt.datetime.now(dt.UTC))
    except (GonghuiError, SQLAlchemyError, ValueError) as exc:
        logger.warning("run %s: coverage and findings not recorded: %s", run_id, exc)
        return None
