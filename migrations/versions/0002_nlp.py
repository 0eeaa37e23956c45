"""sentiment model versions (enrichment)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import voc.models.base

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sentiment_models",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", voc.models.base.UTCDateTime(), nullable=False),
        sa.Column("n_train", sa.Integer(), nullable=False),
        sa.Column("embedding_model", sa.String(length=64), nullable=False),
        sa.Column("languages", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                      "postgresql"), nullable=False),
        sa.Column("metrics", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                    "postgresql"), nullable=False),
        sa.Column("params", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                   "postgresql"), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sentiment_models")),
        sa.UniqueConstraint("version", name=op.f("uq_sentiment_models_version")),
    )


def downgrade() -> None:
    op.drop_table("sentiment_models")
