"""The run ledger: who may crawl a site now, which runs were interrupted, what a resume skips.

Every crawl is a ``run`` row holding the site's lease (``site_lease``) while it runs:

- **Taking the lease** is one conditional statement: an UPDATE of the site's row where the lease
  has expired (or is already ours, or belongs to a process of this host that is gone), or an
  INSERT when the site has no row yet. The database serialises the two, so of two processes
  (two schedulers, a scheduler and a user) exactly one gets it; the other is told who holds it.
- **Renewing**: the crawl pushes ``expires_at`` forward every LEASE_SECONDS / 3. A crawl killed
  with SIGKILL cannot release it: it expires, or, on the same host, is taken at once because
  its process is gone.
- **Interrupted runs**: when a crawl takes the lease, every run of the site still marked
  ``running`` belongs to a crawl that died; it is marked failed with its stop reason. If the
  newest one started less than RESUME_WINDOW ago (or ``resume=True``), the new run carries it on
  (``resumed_from``): articles whose current version the interrupted runs already confirmed are
  not fetched again (``resume_skip``). Nothing else is needed for correctness: each page is
  stored in its own transaction, and a new version is made only when the text changed, so
  fetching an article twice can never duplicate a version.
- **Scheduled slots**: a scheduled run names its slot (the timetable's fire time); a unique
  index on (site_id, scheduled_for) makes a slot crawled once however many schedulers run.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import uuid
from dataclasses import dataclass

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from archive.current import current_article_select
from archive.errors import GonghuiError
from archive.models import ArticleVersion, Capture, Page, Run, SiteLease

LEASE_SECONDS = 120
# An interrupted crawl older than this is not carried on by the next run: what it archived
# may have changed since, and a nightly run should look at everything again.
RESUME_WINDOW = dt.timedelta(hours=24)


class SiteBusy(GonghuiError):
    """Another live crawl holds the site's lease, or the scheduled slot was already crawled."""

    exit_code = 6


@dataclass(frozen=True, slots=True)
class StartedRun:
    run_id: int
    mode: str
    resumed_from: int | None  # the interrupted run carried on, if any
    interrupted: tuple[int, ...]  # runs found dead and marked failed just now


@functools.cache
def _owner_for(pid: int) -> str:
    return f"{socket.gethostname()}:{pid}:{uuid.uuid4().hex[:8]}"


def owner() -> str:
    """This process's name on a lease: host, pid and a token (a pid can be reused)."""
    return _owner_for(os.getpid())


def _gone(lease_owner: str) -> bool:
    """Whether the lease's process is known to be gone: same host and no such pid."""
    host, _, rest = lease_owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return lease_owner != owner()  # our pid, but an earlier process's token
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def acquire(session: Session, site_id: str, now: dt.datetime) -> None:
    """Take the site's lease for this process or raise SiteBusy. Runs in the caller's transaction."""
    me, expires = owner(), now + dt.timedelta(seconds=LEASE_SECONDS)
    lease = SiteLease.__table__
    taken = session.execute(
        update(lease)
        .where(lease.c.site_id == site_id)
        .where((lease.c.expires_at < now) | (lease.c.owner == me))
        .values(owner=me, run_id=None, expires_at=expires)
    ).rowcount
    if taken:
        return
    holder = session.execute(
        select(lease.c.owner, lease.c.run_id, lease.c.expires_at).where(lease.c.site_id == site_id)
    ).first()
    if holder is None:
        try:
            with session.begin_nested():
                session.execute(insert(lease).values(site_id=site_id, owner=me, expires_at=expires))
            return
        except IntegrityError:  # another process inserted it first
            holder = session.execute(
                select(lease.c.owner, lease.c.run_id, lease.c.expires_at).where(
                    lease.c.site_id == site_id
                )
            ).first()
    if holder is not None and _gone(holder.owner):
        taken = session.execute(
            update(lease)
            .where(lease.c.site_id == site_id, lease.c.owner == holder.owner)
            .values(owner=me, run_id=None, expires_at=expires)
        ).rowcount
        if taken:
            return
    if holder is None:
        raise SiteBusy(f"site {site_id}: could not take its lease; try again")
    run = f"run {holder.run_id}" if holder.run_id else "a crawl"
    until = holder.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    raise SiteBusy(
        f"site {site_id} is being crawled by {run} ({holder.owner}); its lease runs to {until}"
    )


def start(
    session: Session,
    site_id: str,
    trigger: str,
    now: dt.datetime,
    *,
    scheduled_for: dt.datetime | None = None,
    resume: bool = False,
    mode: str | None = None,
    deep_every: dt.timedelta | None = None,
) -> StartedRun:
    """Take the lease, close the site's dead runs, open a new run (carrying on a dead one).

    ``mode`` None: "full" when no full run of the site finished within ``deep_every`` (or
    ever), else "incremental".
    """
    acquire(session, site_id, now)
    if scheduled_for is not None:
        done = session.scalar(
            select(Run.id).where(Run.site_id == site_id, Run.scheduled_for == scheduled_for)
        )
        if done is not None:
            release(session, site_id)
            slot = scheduled_for.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            raise SiteBusy(f"site {site_id}: the slot {slot} was already crawled (run {done})")
    dead = list(
        session.scalars(
            select(Run).where(Run.site_id == site_id, Run.status == "running").order_by(Run.id)
        )
    )
    newest = dead[-1] if dead else None
    if newest is not None and not (resume or now - newest.started_at <= RESUME_WINDOW):
        newest = None  # too old to carry on
    if mode is None:
        last_full = session.scalar(
            select(func.max(Run.started_at)).where(
                Run.site_id == site_id, Run.mode == "full", Run.status == "finished"
            )
        )
        due = last_full is None or (deep_every is not None and now - last_full >= deep_every)
        mode = "full" if due else "incremental"
    if newest is not None and newest.mode == "full" and mode == "incremental":
        mode = "full"  # carrying on a full crawl: it is still a full crawl
    run = Run(
        site_id=site_id,
        trigger=trigger,
        mode=mode,
        status="running",
        started_at=now,
        scheduled_for=scheduled_for,
        pages_fetched=0,
        articles_archived=0,
        new_versions=0,
        errors=0,
        removals=0,
        drops={},
    )
    if newest is not None:
        run.resumed_from = newest.id
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:  # another scheduler opened the same slot a moment ago
        release(session, site_id)
        raise SiteBusy(f"site {site_id}: this scheduled slot is being crawled already") from None
    for old in dead:
        old.status = "failed"
        old.finished_at = old.finished_at or now
        old.stop_reason = (
            f"interrupted: the crawl ended without finishing; carried on by run {run.id}"
            if old is newest and run.resumed_from
            else "interrupted: the crawl ended without finishing"
        )
    session.execute(update(SiteLease).where(SiteLease.site_id == site_id).values(run_id=run.id))
    return StartedRun(run.id, mode, run.resumed_from, tuple(r.id for r in dead))


def renew(session: Session, site_id: str, now: dt.datetime) -> bool:
    """Push this process's lease forward; False when it is no longer ours."""
    return bool(
        session.execute(
            update(SiteLease)
            .where(SiteLease.site_id == site_id, SiteLease.owner == owner())
            .values(expires_at=now + dt.timedelta(seconds=LEASE_SECONDS))
        ).rowcount
    )


def release(session: Session, site_id: str) -> None:
    session.execute(
        delete(SiteLease).where(SiteLease.site_id == site_id, SiteLease.owner == owner())
    )


def resumed_runs(session: Session, run_id: int) -> list[int]:
    """The interrupted runs a run carries on: its ``resumed_from``, and theirs, in turn."""
    chain: list[int] = []
    current = session.get(Run, run_id)
    while current is not None and current.resumed_from and current.resumed_from not in chain:
        chain.append(current.resumed_from)
        current = session.get(Run, current.resumed_from)
    return chain


def resume_skip(session: Session, run_id: int) -> set[str]:
    """Canonical URLs of the pages a resumed run need not fetch: their current version was
    made or confirmed by a capture of one of the interrupted runs it carries on."""
    chain = resumed_runs(session, run_id)
    if not chain:
        return set()
    site_id = session.get_one(Run, run_id).site_id  # the chain's runs are all of its site
    stmt, _ = current_article_select(Page.canonical_url, site_id=site_id)
    stmt = stmt.join(Capture, Capture.id == ArticleVersion.last_capture_id).where(
        Capture.run_id.in_(chain)
    )
    return set(session.scalars(stmt))
