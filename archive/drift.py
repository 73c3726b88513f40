"""Drift rules: a run's coverage against the site's own history.

The baseline is the site's last ``baseline_runs`` good runs (finished, with articles); each
figure's baseline is their median, so one odd night neither raises nor hides anything. The
defaults need no tuning; a seed may set any of them in its ``[monitor]`` table.

Every rule answers for one run with a :class:`Problem`, "fine" or "cannot say" (too few
articles to judge a share, no baseline yet): a finding is closed only by a run that can say
the site is fine again (``archive.findings``).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from archive import coverage as cov
from archive.models import Run
from archive.models_monitor import RunCoverage


@dataclass(frozen=True)
class DriftSettings:
    """Thresholds of the rules (seed ``[monitor]`` keys of the same names)."""

    baseline_runs: int = 7  # good runs the baseline is the median of
    min_articles: int = 5  # extracted articles a run needs before its shares are judged
    coverage_drop: float = 0.5  # a field's share falling by more than this (0.5 = 50 points)
    body_ratio: float = 0.5  # the median body length at or under this share of the baseline
    fallback_rise: float = 0.3  # the fallback extraction share rising by more than this
    failing_nights: int = 1  # failed runs in a row that make a finding
    soft_404_share: float = 0.8  # article pages answering "not found" with a 200 page
    min_soft_404: int = 3  # ... and at least this many of them

    @classmethod
    def of(cls, overrides: Mapping[str, Any] | None) -> DriftSettings:
        """The defaults with a seed's ``[monitor]`` values; unknown keys are refused."""
        defaults = cls()
        known = {f.name for f in fields(cls)}
        unknown = set(overrides or {}) - known
        if unknown:
            raise ValueError(f"unknown [monitor] keys {sorted(unknown)}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for key, value in (overrides or {}).items():
            kind = type(getattr(defaults, key))  # int counts stay ints (TOML may say 2.0)
            if (kind is int and float(value) != int(value)) or value < (1 if kind is int else 0):
                raise ValueError(f"[monitor] {key} = {value}: not a valid {kind.__name__}")
            values[key] = kind(value)
        return replace(defaults, **values)


@dataclass(frozen=True)
class Problem:
    rule: str
    severity: str  # "warning" | "critical"
    was: str
    now: str
    message: str


RULES = (
    "failing",
    "soft_404",
    "zero_articles",
    "list_links",
    *(f"coverage_{f}" for f in cov.FIELDS),
    "body_length",
    "fallback",
)


@dataclass
class Verdict:
    problems: dict[str, Problem]
    judged: set[str]  # rules that could say fine or not (a finding of any other stays as is)


def evaluate(session: Session, run: Run, now: RunCoverage, settings: DriftSettings) -> Verdict:
    """Judge ``run`` (with its coverage ``now``) against its site's history."""
    verdict = Verdict({}, set())
    site = run.site_id
    recent = list(
        session.scalars(
            select(Run)
            .where(Run.site_id == site, Run.status.in_(("finished", "failed")), Run.id <= run.id)
            .order_by(Run.id.desc())
            .limit(settings.failing_nights)
        )
    )
    failed = len(recent) == settings.failing_nights and all(r.status == "failed" for r in recent)
    _judge(verdict, "failing", failed, lambda: _failing(site, run, len(recent)))
    base = _baseline(session, run, settings.baseline_runs)
    if run.status != "finished":
        return verdict  # a failed run says nothing about the site's pages
    soft = now.soft_404 >= settings.min_soft_404 and (
        now.soft_404 >= settings.soft_404_share * max(now.article_pages, 1)
    )
    _judge(verdict, "soft_404", soft, lambda: _soft_404(site, now, base))
    if not base:
        return verdict
    was_articles = statistics.median(b.articles for b in base)
    zero = now.articles == 0 and was_articles > 0 and not soft
    verdict.judged.add("zero_articles")
    if zero:
        verdict.problems["zero_articles"] = Problem(
            "zero_articles",
            "critical",
            f"{was_articles:g} articles",
            "0 articles",
            f"{site}: 0 articles archived (was {was_articles:g} a run)",
        )
    _rate_rules(verdict, site, now, base, settings)
    return verdict


def _rate_rules(
    verdict: Verdict,
    site: str,
    now: RunCoverage,
    base: list[RunCoverage],
    settings: DriftSettings,
) -> None:
    was_links = _median(cov.links_per_list(b) for b in base)
    if now.list_pages and now.list_links is not None and was_links:
        verdict.judged.add("list_links")
        if now.list_links == 0:
            verdict.problems["list_links"] = Problem(
                "list_links",
                "warning",
                f"{was_links:.1f} a page",
                "0",
                f"{site}: {now.list_pages} list pages link no article (was {was_links:.1f} "
                "a page), article URL pattern changed?",
            )
    if now.extracted < settings.min_articles:
        return  # too few articles to judge shares and lengths
    judged = [b for b in base if b.extracted >= settings.min_articles]
    for field, label in cov.FIELDS.items():
        was = _median(cov.share(b, field) for b in judged)
        share = cov.share(now, field)
        if was is None or share is None:
            continue
        rule = f"coverage_{field}"
        verdict.judged.add(rule)
        if was - share > settings.coverage_drop:
            n, of = round(share * now.extracted), now.extracted
            what = f"no {label} on {of} of {of}" if n == 0 else f"{label} on {n} of {of}"
            verdict.problems[rule] = Problem(
                rule,
                "warning",
                f"{was:.0%}",
                f"{share:.0%}",
                f"{site}: {what} articles (was {was:.0%}), template changed?",
            )
    was_body = _median(b.median_body for b in judged)
    if was_body and now.median_body is not None:
        verdict.judged.add("body_length")
        if now.median_body <= settings.body_ratio * was_body:
            verdict.problems["body_length"] = Problem(
                "body_length",
                "warning",
                f"{was_body:g} chars",
                f"{now.median_body} chars",
                f"{site}: median body {now.median_body} characters (was {was_body:g})",
            )
    was_fb = _median(cov.fallback_share(b) for b in judged)
    fb = cov.fallback_share(now)
    if was_fb is not None and fb is not None:
        verdict.judged.add("fallback")
        if fb - was_fb > settings.fallback_rise:
            verdict.problems["fallback"] = Problem(
                "fallback",
                "warning",
                f"{was_fb:.0%}",
                f"{fb:.0%}",
                f"{site}: fallback extraction on {fb:.0%} of articles (was {was_fb:.0%}), "
                "template changed?",
            )


def _judge(verdict: Verdict, rule: str, bad: bool, problem: Callable[[], Problem]) -> None:
    verdict.judged.add(rule)
    if bad:
        verdict.problems[rule] = problem()


def _failing(site: str, run: Run, nights: int) -> Problem:
    why = f": {run.stop_reason}" if run.stop_reason else ""
    times = f" {nights} runs in a row" if nights > 1 else ""
    return Problem(
        "failing",
        "critical",
        "finished",
        f"failed {nights} in a row",
        f"{site}: crawl failed{times}{why}",
    )


def _soft_404(site: str, now: RunCoverage, base: list[RunCoverage]) -> Problem:
    was = _median(b.soft_404 / b.article_pages for b in base if b.article_pages)
    return Problem(
        "soft_404",
        "critical",
        f"{was or 0:.0%}",
        f"{now.soft_404 / max(now.article_pages, 1):.0%}",
        f"{site}: {now.soft_404} of {now.article_pages} article pages answer a "
        "'page not found' page (soft 404)",
    )


def _baseline(session: Session, run: Run, size: int) -> list[RunCoverage]:
    """The site's last ``size`` good runs before ``run``: finished, with articles."""
    return list(
        session.scalars(
            select(RunCoverage)
            .join(Run, Run.id == RunCoverage.run_id)
            .where(
                RunCoverage.site_id == run.site_id,
                RunCoverage.run_id < run.id,
                Run.status == "finished",
                RunCoverage.articles > 0,
            )
            .order_by(RunCoverage.run_id.desc())
            .limit(size)
        )
    )


def _median(values: Iterable[float | int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None
