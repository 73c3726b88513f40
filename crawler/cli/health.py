"""`gonghui health`: open findings per site, as a table or JSON, with an exit code a cron job,
systemd or a monitoring system can act on; optionally the digest and a Prometheus text file."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from archive.errors import GonghuiError
from crawler.cli.main import settings_of
from crawler.cli.readonly import open_engine, require_site

STATES = ("ok", "warning", "critical")


class HealthUnknown(GonghuiError):
    """The archive's health cannot be told (exit 3, "unknown" to Nagios-style monitors)."""

    exit_code = 3


@click.command(name="health")
@click.option("--site", "site_id", help="Only this site.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object: sites, findings, state.")
@click.option("--notify", is_flag=True, help="Also send the digest (GONGHUI_ALERT_URLS).")
@click.option(
    "--prometheus",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="Also write the per-site metrics as a Prometheus text file (node_exporter textfile).",
)
@click.pass_context
def command(
    ctx: click.Context, site_id: str | None, as_json: bool, notify: bool, prometheus: Path | None
) -> None:
    """Open findings per site (drift against the site's own last good runs). Exit 0: no open
    finding; 1: warnings only; 2: something critical; 3: the archive cannot be read; 5: the
    digest (--notify) reached no channel.

    \b
    Example:
      gonghui health
      gonghui health --json
      gonghui health --notify --prometheus /var/lib/node_exporter/gonghui.prom
    """
    try:
        code = _health(ctx, site_id, as_json, notify, prometheus)
    except GonghuiError as exc:
        if exc.exit_code == 5:  # the digest was not delivered: said, the state still counts
            raise
        raise HealthUnknown(str(exc)) from None
    sys.exit(code)


def _health(
    ctx: click.Context, site_id: str | None, as_json: bool, notify: bool, prometheus: Path | None
) -> int:
    from archive import alerts, health, metrics
    from archive.errors import StorageError

    settings = settings_of(ctx)
    engine = open_engine(ctx)
    require_site(engine, site_id)
    now = dt.datetime.now(dt.UTC)
    sites = health.site_health(engine, site_id)
    code = max((s.exit_code for s in sites), default=0)
    if prometheus is not None:
        try:
            metrics.write_textfile(prometheus, sites, now)
        except OSError as exc:
            raise StorageError(f"cannot write {prometheus}: {exc.strerror or exc}") from None
    sent = None
    if notify:
        sent = alerts.notify(engine, list(settings.alert_urls), settings.alert_config)
    engine.dispose()
    if as_json:
        doc = {
            "state": STATES[code],
            "exit_code": code,
            "sites": [s.to_json(now) for s in sites],
            "digest_sent": sent is not None,
        }
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return code
    _print(sites, now)
    if notify:
        click.echo("digest sent" if sent else "nothing to send: no open finding")
    return code


def _print(sites: list, now: dt.datetime) -> None:
    from rich.table import Table

    from crawler.cli.render import console

    table = Table(title="Health", title_justify="left")
    for column in ("site", "state", "last run", "age", "articles", "open findings"):
        table.add_column(column)
    for s in sites:
        run = s.last_run
        age = s.age_seconds(now)
        table.add_row(
            s.site_id,
            STATES[s.exit_code],
            f"{run.id} {run.status}" if run else "never",
            "-" if age is None else f"{age / 3600:.1f} h",
            str(s.coverage.articles if s.coverage else run.articles_archived if run else 0),
            "\n".join(f"[{f.severity}] {f.message}" for f in s.open) or "-",
        )
    console().print(table)
