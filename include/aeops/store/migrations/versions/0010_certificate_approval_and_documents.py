"""certificate approval and compliance documents: a person's approval of a file whose issuer or number changed,
and the categories a category admission paper admits

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 09:00:00

``certificates.approval``: NULL (nothing to approve), ``pending`` (the cross-check found a changed issuer or
another brand's number: the file waits for a person before it counts or is uploaded), ``approved`` or
``rejected``; ``approval_detail`` says who decided, when, in which run, and what changed. ``categories``: a
``CategoryAdmission`` paper's categories as written. Existing rows keep NULL in all three (nothing changes for
them).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("approval_detail", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("categories", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.drop_column("categories")
        batch_op.drop_column("approval_detail")
        batch_op.drop_column("approval")
