"""certificate replacements: which certificate file replaced which on the platform, why, in which run, and what
it restored

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certificate_replacements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("brand", sa.String(length=100), nullable=False),
        sa.Column("cert_type", sa.String(length=20), nullable=False),
        sa.Column("old_certificate_id", sa.Integer(), nullable=True),
        sa.Column("new_certificate_id", sa.Integer(), nullable=True),
        sa.Column("old_file", sa.Text(), nullable=True),
        sa.Column("new_file", sa.Text(), nullable=False),
        sa.Column("new_sha256", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=True),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("sync_run_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("photobank_url", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["new_certificate_id"], ["certificates.id"],
                                name=op.f("fk_certificate_replacements_new_certificate_id_certificates")),
        sa.ForeignKeyConstraint(["old_certificate_id"], ["certificates.id"],
                                name=op.f("fk_certificate_replacements_old_certificate_id_certificates")),
        sa.ForeignKeyConstraint(["sync_run_id"], ["sync_runs.id"],
                                name=op.f("fk_certificate_replacements_sync_run_id_sync_runs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_replacements")),
    )
    with op.batch_alter_table("certificate_replacements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_replacements_store"), ["store"], unique=False)
        batch_op.create_index(batch_op.f("ix_certificate_replacements_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("certificate_replacements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_replacements_status"))
        batch_op.drop_index(batch_op.f("ix_certificate_replacements_store"))
    op.drop_table("certificate_replacements")
