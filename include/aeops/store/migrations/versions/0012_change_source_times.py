"""change source times: when the change's source changed (freshness counts a change's unsynced age from it)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 09:30:00

``changes.source_at``: when the export row behind the change last changed at its source, in UTC: the export's
``updated_at`` column when it has one, else the export file's modification time. NULL for changes planned before
this revision, and for urgent overrides and certificate uploads (they count from their run's start, as before).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_column("source_at")
