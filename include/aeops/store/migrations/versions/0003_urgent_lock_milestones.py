"""urgent re-run: shared, prioritised store locks (holds, waiting) and run milestones

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store_locks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holds", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("waiting", sa.String(length=250), nullable=True))
        batch_op.add_column(sa.Column("waiting_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "run_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sync_run_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sync_run_id"], ["sync_runs.id"], name=op.f("fk_run_milestones_sync_run_id_sync_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_milestones")),
        sa.UniqueConstraint("sync_run_id", "name", name=op.f("uq_run_milestones_sync_run_id_name")),
    )
    with op.batch_alter_table("run_milestones", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_run_milestones_sync_run_id"), ["sync_run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("run_milestones", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_run_milestones_sync_run_id"))
    op.drop_table("run_milestones")
    with op.batch_alter_table("store_locks", schema=None) as batch_op:
        batch_op.drop_column("waiting_until")
        batch_op.drop_column("waiting")
        batch_op.drop_column("holds")
