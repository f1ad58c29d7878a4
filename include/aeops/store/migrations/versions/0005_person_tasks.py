"""person tasks (seller-center work tracked until verified) and their history, store-settings checks
(Information Accuracy), image detector results per image content, and when a product was first seen

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 11:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("product_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "person_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opened_run_id", sa.String(length=250), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_tasks")),
    )
    with op.batch_alter_table("person_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_tasks_store"), ["store"], unique=False)
        batch_op.create_index(batch_op.f("ix_person_tasks_status"), ["status"], unique=False)
    op.create_table(
        "person_task_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event", sa.String(length=30), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["task_id"], ["person_tasks.id"],
                                name=op.f("fk_person_task_events_task_id_person_tasks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_task_events")),
    )
    with op.batch_alter_table("person_task_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_person_task_events_task_id"), ["task_id"], unique=False)
    op.create_table(
        "settings_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("tracked", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settings_checks")),
    )
    with op.batch_alter_table("settings_checks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_settings_checks_store"), ["store"], unique=False)
    op.create_table(
        "image_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_reviews")),
        sa.UniqueConstraint("store", "sha256", name=op.f("uq_image_reviews_store_sha256")),
    )


def downgrade() -> None:
    op.drop_table("image_reviews")
    with op.batch_alter_table("settings_checks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_settings_checks_store"))
    op.drop_table("settings_checks")
    with op.batch_alter_table("person_task_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_task_events_task_id"))
    op.drop_table("person_task_events")
    with op.batch_alter_table("person_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_person_tasks_status"))
        batch_op.drop_index(batch_op.f("ix_person_tasks_store"))
    op.drop_table("person_tasks")
    with op.batch_alter_table("product_state", schema=None) as batch_op:
        batch_op.drop_column("first_seen_at")
