"""erasure tombstones and retention (compliance)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

import voc.models.base  # noqa: F401

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tombstones",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("customer_hash", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("created_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"],
                                name=op.f("fk_tombstones_source_id_sources"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tombstones")),
        sa.UniqueConstraint("source_id", "external_id",
                            name=op.f("uq_tombstones_source_id_external_id")),
    )
    op.create_index("ix_tombstones_customer_hash", "tombstones", ["customer_hash"])


def downgrade() -> None:
    op.drop_index("ix_tombstones_customer_hash", table_name="tombstones")
    op.drop_table("tombstones")
