"""Change classes and removals, shared body texts (exact dedup), reprint clusters, LSH bands.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 00:00:00

- ``article_text`` holds each normalised body once; ``article_version.body``/``body_hans`` move
  there (``text_id``).
- ``article_version.change_class`` (new, minor_edit, substantive_edit, retitle, removed,
  restored) and ``removal``; existing versions become ``new`` (version 1) or
  ``substantive_edit`` (later ones: not reclassified, the old text is not worth diffing here).
- Content hashes are rewritten in scheme v2, which ignores whitespace (see
  ``archive.versioning.content_key``); the key function is copied here, frozen, because a
  revision must keep meaning what it meant when it shipped.
- ``page.removed_at``/``removal``/``cluster_id``, ``run.removals``, ``reprint_cluster`` and
  ``lsh_band`` (empty: the next crawl that stores a version indexes it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_DATETIME = sa.DateTime(timezone=True)
CHANGE_CLASSES = ("new", "minor_edit", "substantive_edit", "retitle", "removed", "restored")
REMOVALS = ("http_404", "http_410", "redirect_home", "soft_404")

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
_GAP = re.compile(r"(.?)\s+(?=(.?))", re.S)
_WORD = re.compile(r"[A-Za-z0-9]")


def _key(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).strip()

    def gap(m: re.Match[str]) -> str:
        before, after = m.group(1), m.group(2)
        keep = " " if _WORD.fullmatch(before or "") and _WORD.fullmatch(after or "") else ""
        return before + keep

    return _GAP.sub(gap, text)


def _sha(parts: list[str]) -> str:
    payload = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def upgrade() -> None:
    op.create_table(
        "article_text",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("body_hans", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_text")),
        sa.UniqueConstraint("body_sha256", name=op.f("uq_article_text_body_sha256")),
    )
    op.create_table(
        "reprint_cluster",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("original_page_id", sa.Integer(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_DATETIME, nullable=False),
        sa.Column("updated_at", UTC_DATETIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reprint_cluster")),
    )
    op.create_table(
        "lsh_band",
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["page_id"], ["page.id"], name=op.f("fk_lsh_band_page_id_page")),
        sa.PrimaryKeyConstraint("page_id", "band", name=op.f("pk_lsh_band")),
    )
    op.create_index("ix_lsh_band_key", "lsh_band", ["key"])
    op.create_index(op.f("ix_lsh_band_page_id"), "lsh_band", ["page_id"])

    # Plain ADD COLUMN, not batch mode: on SQLite batch mode copies the table, and page is
    # referenced by capture and article_version (SQLite takes a REFERENCES clause on an added
    # column whose default is NULL).
    op.add_column("page", sa.Column("removed_at", UTC_DATETIME, nullable=True))
    op.add_column("page", sa.Column("removal", sa.String(16), nullable=True))
    fk = "fk_page_cluster_id_reprint_cluster"
    if op.get_bind().dialect.name == "sqlite":  # Alembic would ask for batch mode here
        op.execute(
            f"ALTER TABLE page ADD COLUMN cluster_id INTEGER CONSTRAINT {fk}"
            " REFERENCES reprint_cluster (id)"
        )
    else:
        op.add_column("page", sa.Column("cluster_id", sa.Integer(), nullable=True))
        op.create_foreign_key(op.f(fk), "page", "reprint_cluster", ["cluster_id"], ["id"])
    op.create_index(op.f("ix_page_cluster_id"), "page", ["cluster_id"])
    op.add_column("run", sa.Column("removals", sa.Integer(), nullable=False, server_default="0"))

    with op.batch_alter_table("article_version") as batch:
        batch.add_column(sa.Column("change_class", sa.String(20), nullable=True))
        batch.add_column(sa.Column("removal", sa.String(16), nullable=True))
        batch.add_column(sa.Column("text_id", sa.Integer(), nullable=True))

    _move_bodies()

    with op.batch_alter_table("article_version") as batch:
        batch.alter_column("change_class", existing_type=sa.String(20), nullable=False)
        batch.alter_column("text_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_article_version_text_id_article_text"), "article_text", ["text_id"], ["id"]
        )
        batch.create_index(op.f("ix_article_version_text_id"), ["text_id"])
        batch.create_check_constraint(
            op.f("ck_article_version_change_class_valid"), f'"change_class" IN {CHANGE_CLASSES!r}'
        )
        batch.create_check_constraint(
            op.f("ck_article_version_removal_valid"), f'"removal" IN {REMOVALS!r}'
        )
        batch.drop_column("body_hans")
        batch.drop_column("body")


def _move_bodies() -> None:
    """One article_text per distinct body key; every version re-hashed and pointed at it."""
    conn = op.get_bind()
    version = sa.table(
        "article_version",
        sa.column("id", sa.Integer()),
        sa.column("version_no", sa.Integer()),
        sa.column("title", sa.Text()),
        sa.column("body", sa.Text()),
        sa.column("body_hans", sa.Text()),
        sa.column("source", sa.Text()),
        sa.column("content_sha256", sa.String(64)),
        sa.column("change_class", sa.String(20)),
        sa.column("text_id", sa.Integer()),
    )
    text = sa.table(
        "article_text",
        sa.column("id", sa.Integer()),
        sa.column("body_sha256", sa.String(64)),
        sa.column("body", sa.Text()),
        sa.column("body_hans", sa.Text()),
        sa.column("created_at", UTC_DATETIME),
    )
    now = dt.datetime.now(dt.UTC)
    if conn.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # the archive's UtcDateTime stores UTC wall time there
    text_ids: dict[str, int] = {}
    rows = conn.execute(
        sa.select(
            version.c.id,
            version.c.version_no,
            version.c.title,
            version.c.body,
            version.c.body_hans,
            version.c.source,
        ).order_by(version.c.id)
    ).all()
    for vid, version_no, title, body, body_hans, source in rows:
        body_sha = _sha(["gonghui-content-v2/body", _key(body)])
        if body_sha not in text_ids:
            text_ids[body_sha] = conn.execute(
                sa.insert(text)
                .values(body_sha256=body_sha, body=body, body_hans=body_hans, created_at=now)
                .returning(text.c.id)
            ).scalar_one()
        conn.execute(
            sa.update(version)
            .where(version.c.id == vid)
            .values(
                text_id=text_ids[body_sha],
                content_sha256=_sha(["gonghui-content-v2", _key(title), _key(body), _key(source)]),
                change_class="new" if version_no == 1 else "substantive_edit",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("article_version") as batch:
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("body_hans", sa.Text(), nullable=True))
    op.execute(
        "UPDATE article_version SET body = (SELECT body FROM article_text t WHERE t.id = text_id),"
        " body_hans = (SELECT body_hans FROM article_text t WHERE t.id = text_id)"
    )
    with op.batch_alter_table("article_version") as batch:
        batch.alter_column("body", existing_type=sa.Text(), nullable=False)
        batch.drop_constraint(op.f("ck_article_version_removal_valid"), type_="check")
        batch.drop_constraint(op.f("ck_article_version_change_class_valid"), type_="check")
        batch.drop_index(op.f("ix_article_version_text_id"))
        batch.drop_constraint(op.f("fk_article_version_text_id_article_text"), type_="foreignkey")
        batch.drop_column("text_id")
        batch.drop_column("removal")
        batch.drop_column("change_class")
    # v1 hashes are not restored: the next crawl after a downgrade makes one new version.
    op.drop_column("run", "removals")
    op.drop_index(op.f("ix_page_cluster_id"), table_name="page")
    if op.get_bind().dialect.name != "sqlite":  # SQLite drops it with the column
        op.drop_constraint(op.f("fk_page_cluster_id_reprint_cluster"), "page", type_="foreignkey")
    op.drop_column("page", "cluster_id")
    op.drop_column("page", "removal")
    op.drop_column("page", "removed_at")
    op.drop_index(op.f("ix_lsh_band_page_id"), table_name="lsh_band")
    op.drop_index("ix_lsh_band_key", table_name="lsh_band")
    op.drop_table("lsh_band")
    op.drop_table("reprint_cluster")
    op.drop_table("article_text")
