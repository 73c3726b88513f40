"""The run ledger: site leases, interrupted runs and their resumption, scheduled slots.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 19:00:00

- ``site_lease``: who crawls a site now (one row per site, taken atomically).
- ``run.stop_reason``: why a run did not finish normally (interrupted, too many errors ...).
- ``run.resumed_from``: the interrupted run a run carried on.
- ``run.mode``: full, incremental or backfill (NULL for runs before this revision).
- ``run.scheduled_for`` with a unique index on (site_id, scheduled_for): a timetable slot is
  crawled once however many schedulers share the database (NULL for manual runs, which the
  index lets repeat).

Plain ADD COLUMN, not batch mode: on SQLite batch mode copies the table, and run is referenced
by capture.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("run", sa.Column("stop_reason", sa.String(300), nullable=True))
    op.add_column("run", sa.Column("resumed_from", sa.Integer(), nullable=True))
    op.add_column("run", sa.Column("scheduled_for", UTC_DATETIME, nullable=True))
    op.add_column("run", sa.Column("mode", sa.String(16), nullable=True))
    op.create_index("uq_run_site_slot", "run", ["site_id", "scheduled_for"], unique=True)
    op.create_table(
        "site_lease",
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("expires_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_site_lease_site_id_site")),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_site_lease")),
    )


def downgrade() -> None:
    op.drop_table("site_lease")
    op.drop_index("uq_run_site_slot", table_name="run")
    op.drop_column("run", "mode")
    op.drop_column("run", "scheduled_for")
    op.drop_column("run", "resumed_from")
    op.drop_column("run", "stop_reason")
