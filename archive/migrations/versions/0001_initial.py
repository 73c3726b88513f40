"""Initial schema: site, run, page, capture, article_version.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out rather than imported from archive.models: a revision must keep meaning what it
# meant when it shipped, whatever the models say later.
UTC_DATETIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "site",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
    )
    op.create_table(
        "run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("started_at", UTC_DATETIME, nullable=False),
        sa.Column("finished_at", UTC_DATETIME, nullable=True),
        sa.Column("pages_fetched", sa.Integer(), nullable=False),
        sa.Column("articles_archived", sa.Integer(), nullable=False),
        sa.Column("new_versions", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("drops", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "\"trigger\" IN ('manual', 'schedule', 'demo')", name=op.f("ck_run_trigger_valid")
        ),
        sa.CheckConstraint(
            "\"status\" IN ('running', 'finished', 'failed')", name=op.f("ck_run_status_valid")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_run_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run")),
    )
    op.create_index(op.f("ix_run_site_id"), "run", ["site_id"])
    op.create_table(
        "page",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(64), nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("first_seen_at", UTC_DATETIME, nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME, nullable=False),
        sa.Column("last_status", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_page_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page")),
        sa.UniqueConstraint("canonical_url", name=op.f("uq_page_canonical_url")),
    )
    op.create_index(op.f("ix_page_site_id"), "page", ["site_id"])
    op.create_table(
        "capture",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("fetched_at", UTC_DATETIME, nullable=False),
        sa.Column("http_status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("http_charset", sa.String(64), nullable=True),
        sa.Column("meta_charset", sa.String(64), nullable=True),
        sa.Column("detected_charset", sa.String(64), nullable=True),
        sa.Column("chosen_encoding", sa.String(64), nullable=True),
        sa.Column("replacement_count", sa.Integer(), nullable=True),
        sa.Column("payload_sha256", sa.String(64), nullable=False),
        sa.Column("payload_length", sa.BigInteger(), nullable=False),
        sa.Column("warc_filename", sa.Text(), nullable=False),
        sa.Column("warc_offset", sa.BigInteger(), nullable=False),
        sa.Column("warc_length", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name=op.f("fk_capture_page_id_page")),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_capture_run_id_run")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_capture")),
    )
    op.create_index(op.f("ix_capture_page_id"), "capture", ["page_id"])
    op.create_index(op.f("ix_capture_run_id"), "capture", ["run_id"])
    op.create_index(op.f("ix_capture_payload_sha256"), "capture", ["payload_sha256"])
    op.create_table(
        "article_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("version_no", sa.Integer(), nullable=False),
        sa.Column("capture_id", sa.Integer(), nullable=False),
        sa.Column("last_capture_id", sa.Integer(), nullable=False),
        sa.Column("content_sha256", sa.String(64), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("subtitle", sa.Text(), nullable=True),
        sa.Column("kicker", sa.Text(), nullable=True),
        sa.Column("published", sa.Date(), nullable=True),
        sa.Column("published_time", sa.String(8), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("author", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("captions", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", UTC_DATETIME, nullable=False),
        sa.Column("last_seen_at", UTC_DATETIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["capture_id"], ["capture.id"], name=op.f("fk_article_version_capture_id_capture")
        ),
        sa.ForeignKeyConstraint(
            ["last_capture_id"],
            ["capture.id"],
            name=op.f("fk_article_version_last_capture_id_capture"),
        ),
        sa.ForeignKeyConstraint(
            ["page_id"], ["page.id"], name=op.f("fk_article_version_page_id_page")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_version")),
        sa.UniqueConstraint(
            "page_id", "version_no", name=op.f("uq_article_version_page_id_version_no")
        ),
    )
    op.create_index(op.f("ix_article_version_published"), "article_version", ["published"])


def downgrade() -> None:
    op.drop_table("article_version")
    op.drop_table("capture")
    op.drop_table("page")
    op.drop_table("run")
    op.drop_table("site")
