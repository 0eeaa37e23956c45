"""erasure tombstones, append-only audit log (compliance)

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
    _create_audit_guard()


def downgrade() -> None:
    _drop_audit_guard()
    op.drop_index("ix_tombstones_customer_hash", table_name="tombstones")
    op.drop_table("tombstones")


# The audit log is append-only: the database itself refuses UPDATE and DELETE on it, so neither
# a bug nor a retention purge nor someone with SQL access through the app can rewrite history.
_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION voc_audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def _create_audit_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
                   "FOR EACH ROW EXECUTE FUNCTION voc_audit_log_append_only()")
        op.execute("CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
                   "FOR EACH STATEMENT EXECUTE FUNCTION voc_audit_log_append_only()")
    else:
        for op_name in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_log_no_{op_name.lower()} BEFORE {op_name} "
                       "ON audit_log BEGIN "
                       f"SELECT RAISE(ABORT, 'audit_log is append-only ({op_name} refused)'); END")


def _drop_audit_guard() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS voc_audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_delete")
