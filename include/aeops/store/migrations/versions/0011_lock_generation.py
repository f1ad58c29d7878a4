"""fencing: each store lock counts the times it was taken anew (``generation``, the fencing token)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 09:30:00

A push batch is recorded only while its run still holds the store's lock *at the generation it took*: a holder
whose lease ran out while it stalled, and whose lock another run took meanwhile (the generation went up), stops
before sending anything more. Existing rows start at generation 1; the next take makes it 2.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("store_locks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("generation", sa.BigInteger(), server_default="1", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("store_locks", schema=None) as batch_op:
        batch_op.drop_column("generation")
