"""MinHash signatures kept beside the band keys; the redundant lsh_band page index dropped.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 18:30:00

- ``minhash`` (page_id, hashvalues): the 512-byte signature of each indexed page's current
  text, so a reprint candidate's similarity is estimated without reading its text.
- ``ix_lsh_band_page_id`` dropped: the primary key (page_id, band) already starts with page_id,
  and a second index on 30 rows per article only slows every insert.

Nothing is computed here: a page indexed before this revision has band keys but no signature,
and ``archive.reprints`` checks such candidates exactly, as before. ``gonghui reprints
--reindex`` signs (and clusters) every archived page without a signature, pages archived before
0003 included.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "minhash",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("hashvalues", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name=op.f("fk_minhash_page_id_page")),
        sa.PrimaryKeyConstraint("page_id", name=op.f("pk_minhash")),
    )
    op.drop_index(op.f("ix_lsh_band_page_id"), table_name="lsh_band")


def downgrade() -> None:
    op.create_index(op.f("ix_lsh_band_page_id"), "lsh_band", ["page_id"])
    op.drop_table("minhash")
