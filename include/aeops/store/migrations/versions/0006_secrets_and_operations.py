"""secrets and operations: tokens encrypted at rest; run failures; one Slack page per key; lock waiters and
forced releases

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00

``token_state``'s access and refresh tokens written in clear before this revision are encrypted with the
configured Fernet key (``aeops.store.crypto``); without a key the upgrade stops (before any change) with one
line saying what to set. Downgrading decrypts them again; no data is dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from aeops.store import crypto

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TOKENS = sa.table("token_state", sa.column("conn_id", sa.String), sa.column("access_token", sa.Text),
                   sa.column("refresh_token", sa.Text))


def _recode(convert) -> None:
    """Apply ``convert`` to both tokens of every row (``None`` stays ``None``)."""
    bind = op.get_bind()
    rows = bind.execute(sa.select(_TOKENS.c.conn_id, _TOKENS.c.access_token, _TOKENS.c.refresh_token)).all()
    for conn_id, access, refresh in rows:
        values = {"access_token": convert(access), "refresh_token": convert(refresh)}
        if values != {"access_token": access, "refresh_token": refresh}:
            bind.execute(_TOKENS.update().where(_TOKENS.c.conn_id == conn_id).values(**values))


def _encrypt(value: str | None) -> str | None:
    if value is None or crypto.readable(value):
        return value
    return crypto.encrypt(value)


def _decrypt(value: str | None) -> str | None:
    return None if value is None else crypto.decrypt(value)


def _tokens_need_a_key() -> bool:
    bind = op.get_bind()
    return bool(bind.execute(sa.select(sa.func.count()).select_from(_TOKENS)).scalar())


def upgrade() -> None:
    if _tokens_need_a_key():
        crypto.cipher()  # KeyMissing (one line) before anything changes
        _recode(_encrypt)
    op.create_table(
        "run_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("try_number", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_run_failures")),
        sa.UniqueConstraint("dag_id", "run_id", "task_id", "map_index",
                            name=op.f("uq_run_failures_dag_id_run_id_task_id_map_index")),
    )
    op.create_table(
        "store_lock_releases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("holder", sa.String(length=250), nullable=True),
        sa.Column("holds", sa.Integer(), nullable=False),
        sa.Column("released_by", sa.String(length=250), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_store_lock_releases")),
    )
    with op.batch_alter_table("store_lock_releases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_lock_releases_store"), ["store"], unique=False)
    op.create_table(
        "store_lock_waiters",
        sa.Column("store", sa.String(length=100), nullable=False),
        sa.Column("waiter", sa.String(length=250), nullable=False),
        sa.Column("task", sa.String(length=250), nullable=False),
        sa.Column("priority", sa.Boolean(), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("store", "waiter", "task", name=op.f("pk_store_lock_waiters")),
    )
    op.create_table(
        "slack_pages",
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["slack_outbox.id"], name=op.f("fk_slack_pages_outbox_id_slack_outbox")),
        sa.PrimaryKeyConstraint("dedupe_key", name=op.f("pk_slack_pages")),
    )


def downgrade() -> None:
    op.drop_table("slack_pages")
    op.drop_table("store_lock_waiters")
    with op.batch_alter_table("store_lock_releases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_lock_releases_store"))
    op.drop_table("store_lock_releases")
    op.drop_table("run_failures")
    if _tokens_need_a_key():
        crypto.cipher()
        _recode(_decrypt)
