"""The Prometheus text file of ``gonghui health --prometheus FILE``: per site, the last run's
status and age, its articles and field coverage, the open findings. Written with
prometheus_client's ``write_to_textfile`` (atomic: a temporary file renamed over the old one),
for node_exporter's textfile collector or any scraper that reads the format."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

from archive import coverage as cov
from archive.health import SiteHealth


def write_textfile(path: Path, health: list[SiteHealth], now: dt.datetime) -> None:
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ("site",)) -> Gauge:
        return Gauge(f"gonghui_{name}", doc, labels, registry=registry)

    ok = gauge("last_run_ok", "1 when the site's last run finished, 0 when it failed")
    age = gauge("last_run_age_seconds", "seconds since the site's last run ended")
    articles = gauge("last_run_articles", "articles the last run archived or confirmed")
    share = gauge(
        "last_run_field_share", "share of extracted articles with a field", ("site", "field")
    )
    body = gauge("last_run_median_body_chars", "median body length of the extracted articles")
    findings = gauge("open_findings", "open findings by severity", ("site", "severity"))
    state = gauge("health_state", "0 ok, 1 warning, 2 critical (gonghui health's exit code)")
    for site in health:
        s = site.site_id
        state.labels(s).set(site.exit_code)
        for severity in ("warning", "critical"):
            findings.labels(s, severity).set(sum(f.severity == severity for f in site.open))
        if site.last_run is None:
            continue
        ok.labels(s).set(1 if site.last_run.status == "finished" else 0)
        if (seconds := site.age_seconds(now)) is not None:
            age.labels(s).set(seconds)
        c = site.coverage
        articles.labels(s).set(c.articles if c else site.last_run.articles_archived)
        if c is None:
            continue
        for field in cov.FIELDS:
            if (value := cov.share(c, field)) is not None:
                share.labels(s, field).set(value)
        if c.median_body is not None:
            body.labels(s).set(c.median_body)
    write_to_textfile(str(path), registry)
