"""article_version: the zh-Hans reading of title and body, pinyin artefacts and lost characters.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00

Existing versions get NULL everywhere: they were never normalised, and readers take NULL
``*_hans`` as "same as the original". No backfill here: normalising needs the crawler's code
(OpenCC), which a migration must not import; the next crawl fills a version it confirms.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Batch mode: SQLite cannot add a CHECK constraint to a table, so it recreates the table
    # there; on PostgreSQL these are plain ALTER TABLE statements.
    with op.batch_alter_table("article_version") as batch:
        batch.add_column(sa.Column("title_hans", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_hans", sa.Text(), nullable=True))
        batch.add_column(sa.Column("artefacts_removed", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("lost_chars", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("script", sa.String(8), nullable=True))
        batch.create_check_constraint(
            op.f("ck_article_version_script_valid"), "\"script\" IN ('hans', 'hant')"
        )


def downgrade() -> None:
    with op.batch_alter_table("article_version") as batch:
        batch.drop_constraint(op.f("ck_article_version_script_valid"), type_="check")
        batch.drop_column("script")
        batch.drop_column("lost_chars")
        batch.drop_column("artefacts_removed")
        batch.drop_column("body_hans")
        batch.drop_column("title_hans")
