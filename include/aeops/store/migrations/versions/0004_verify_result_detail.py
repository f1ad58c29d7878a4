"""verify results: the SKU a problem is about and the push attempt it was seen after

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("verify_results", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sku_code", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("attempt", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("verify_results", schema=None) as batch_op:
        batch_op.drop_column("attempt")
        batch_op.drop_column("sku_code")
