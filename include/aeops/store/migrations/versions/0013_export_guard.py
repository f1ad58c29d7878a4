"""export guard: per store run of the daily sync, the checks of its plan against the store's current state, the
largest moves, whether the export was held for a person, and the person's decision

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:30:00

``export_guards``: one row per daily sync run of a store that planned (``sync_run_id`` unique). ``held``: a
threshold was crossed (in a dry run: would have been); ``checks`` each check's count, base, value and limit;
``moves`` the largest moves; ``product_ids`` the export's products (the next run's baseline for products that leave
the export); ``decision`` (``approved`` | ``rejected`` | ``timed out``), ``decided_by`` and ``decided_at`` a
person's answer. Existing runs have no row (nothing held).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "export_guards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_run_id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("checks", sa.JSON(), nullable=False),
        sa.Column("moves", sa.JSON(), nullable=False),
        sa.Column("product_ids", sa.JSON(), nullable=False),
        sa.Column("decision", sa.String(length=20), nullable=True),
        sa.Column("decided_by", sa.String(length=250), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["sync_run_id"], ["sync_runs.id"], name=op.f("fk_export_guards_sync_run_id_sync_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_export_guards")),
        sa.UniqueConstraint("sync_run_id", name=op.f("uq_export_guards_sync_run_id")),
    )
    with op.batch_alter_table("export_guards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_export_guards_store"), ["store"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("export_guards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_export_guards_store"))
    op.drop_table("export_guards")
