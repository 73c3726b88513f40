"""The digest: one message listing the open findings, new ones first, and the sites that
recovered since the last digest; sent through Apprise to the channels configured by URL
(``GONGHUI_ALERT_URLS``) or in an Apprise configuration file (``GONGHUI_ALERT_CONFIG``):
e-mail (``mailto://``), a generic webhook (``json://``), WeCom bots (``wecombot://``),
DingTalk (``dingtalk://``), Feishu (``feishu://``), Slack, Telegram and the rest.

A finding is "new" until a digest names it (``notified_at``); a closed one is reported as
recovered once (its ``notified_at`` moves past its ``closed_at``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, or_, select
from sqlalchemy.orm import Session

from archive import findings
from archive.errors import ConfigError, GonghuiError
from archive.models_monitor import Finding


class AlertError(GonghuiError):
    """The digest could not be delivered to any configured channel."""

    exit_code = 5


@dataclass(frozen=True)
class Digest:
    title: str
    body: str
    open_ids: list[int]
    recovered_ids: list[int]
    new: int

    @property
    def empty(self) -> bool:
        return not self.open_ids and not self.recovered_ids


def compose(session: Session, now: dt.datetime) -> Digest:
    """The digest as of ``now``: open findings (new first), then the recoveries."""
    open_ = findings.open_findings(session)
    recovered = list(
        session.scalars(
            select(Finding)
            .where(
                Finding.closed_at.is_not(None),
                or_(Finding.notified_at.is_(None), Finding.notified_at < Finding.closed_at),
            )
            .order_by(Finding.site_id, Finding.rule)
        )
    )
    new = [f for f in open_ if f.notified_at is None]
    critical = sum(f.severity == "critical" for f in open_)
    sites = len({f.site_id for f in open_})
    if open_:
        title = (
            f"Gonghui Archive: {len(open_)} open finding{'s' * (len(open_) != 1)} on "
            f"{sites} site{'s' * (sites != 1)} ({len(new)} new, {critical} critical)"
        )
    else:
        title = "Gonghui Archive: all sites recovered"
    lines = []
    for f in open_:
        mark = "NEW " if f.notified_at is None else "    "
        since = f.first_seen_at.astimezone(dt.UTC).strftime("%Y-%m-%d")
        lines.append(f"{mark}[{f.severity}] {f.message} (since {since}, rule {f.rule})")
    if recovered:
        lines += ["", "Recovered:"] if lines else ["Recovered:"]
        lines += [f"  {f.site_id}: {f.rule} ({f.message})" for f in recovered]
    return Digest(
        title,
        "\n".join(lines),
        [f.id for f in open_],
        [f.id for f in recovered],
        len(new),
    )


def send(urls: list[str], config: Path | None, digest: Digest) -> int:
    """Send ``digest`` to every channel; how many channels were configured. AlertError when
    none took it; ConfigError for a URL Apprise does not know."""
    import apprise

    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            raise ConfigError(f"not an Apprise URL this release knows: {_redact(url)}")
    if config is not None:
        if not config.is_file():
            raise ConfigError(f"alert configuration {config} does not exist")
        conf = apprise.AppriseConfig()
        conf.add(str(config))
        sender.add(conf)
    if len(sender) == 0:
        raise ConfigError(
            "no alert channel: set GONGHUI_ALERT_URLS (e.g. json://host/hook, mailto://...) "
            "or GONGHUI_ALERT_CONFIG"
        )
    if not sender.notify(title=digest.title, body=digest.body):
        raise AlertError(f"the digest could not be delivered ({len(sender)} channel(s) tried)")
    return len(sender)


def notify(engine: Engine, urls: list[str], config: Path | None) -> Digest | None:
    """Compose and send the digest, then mark its findings as notified. None (nothing sent)
    when nothing is open and nothing recovered since the last digest."""
    now = dt.datetime.now(dt.UTC)
    with Session(engine) as session:
        digest = compose(session, now)
        if digest.empty:
            return None
        send(urls, config, digest)
        for finding in session.scalars(
            select(Finding).where(Finding.id.in_(digest.open_ids + digest.recovered_ids))
        ):
            if finding.notified_at is None or finding.closed_at is not None:
                finding.notified_at = now
        session.commit()
    return digest


def _redact(url: str) -> str:
    """A URL without what may be a secret (tokens sit after the scheme's host)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0].split('@')[-1]}/..." if rest else url
