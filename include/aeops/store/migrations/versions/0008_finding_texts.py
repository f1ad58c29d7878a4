"""finding texts: what is wrong and what to do as translatable templates with their values, so a finding is shown
in the reader's language (report, CSV, Slack)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00

Findings kept before this revision have no texts: they are shown with their English message and the advice of
their code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("texts", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("texts")
