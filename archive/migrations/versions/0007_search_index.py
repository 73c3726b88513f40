"""The search index (archive.search): one row per article page, its current version's zh-Hans
title, body and 来源 as character bigrams; an FTS5 table on SQLite, a GIN-indexed tsvector on
PostgreSQL. Built here for the pages an archive already holds.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from archive import search

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    conn = op.get_bind()
    search.create(conn)
    search.rebuild(conn)


def downgrade() -> None:
    search.drop(op.get_bind())
