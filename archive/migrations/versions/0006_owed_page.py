"""Owed pages: fetched by a run that could not store them, asked for first by the next run.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "owed_page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("owed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_owed_page_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owed_page")),
        sa.UniqueConstraint(
            "site_id", "canonical_url", name=op.f("uq_owed_page_site_id_canonical_url")
        ),
    )


def downgrade() -> None:
    op.drop_table("owed_page")
