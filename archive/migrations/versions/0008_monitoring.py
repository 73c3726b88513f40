"""Monitoring: per-run coverage and drift findings (issue 17).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "run_coverage",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("articles", sa.Integer(), nullable=False),
        sa.Column("extracted", sa.Integer(), nullable=False),
        sa.Column("with_date", sa.Integer(), nullable=False),
        sa.Column("with_source", sa.Integer(), nullable=False),
        sa.Column("with_author", sa.Integer(), nullable=False),
        sa.Column("with_captions", sa.Integer(), nullable=False),
        sa.Column("median_body", sa.Integer(), nullable=True),
        sa.Column("fallback", sa.Integer(), nullable=True),
        sa.Column("list_pages", sa.Integer(), nullable=True),
        sa.Column("list_links", sa.Integer(), nullable=True),
        sa.Column("article_pages", sa.Integer(), nullable=False),
        sa.Column("soft_404", sa.Integer(), nullable=False),
        sa.Column("drops", sa.JSON(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_run_coverage_run_id_run")),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_run_coverage_site_id_site")
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_run_coverage")),
    )
    op.create_index(op.f("ix_run_coverage_site_id"), "run_coverage", ["site_id"])
    op.create_table(
        "finding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("was", sa.Text(), nullable=False),
        sa.Column("now", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("last_run_id", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_run_id", sa.Integer(), nullable=True),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_finding_run_id_run")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_finding_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding")),
    )
    op.create_index("ix_finding_site_rule", "finding", ["site_id", "rule"])


def downgrade() -> None:
    op.drop_index("ix_finding_site_rule", table_name="finding")
    op.drop_table("finding")
    op.drop_index(op.f("ix_run_coverage_site_id"), table_name="run_coverage")
    op.drop_table("run_coverage")
