"""every stored time is UTC: platform times stored on SQLite as their Beijing wall clock become the UTC instant

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 12:00:00

From this revision every datetime column is an ``aeops.store.types.UtcDateTime`` (aware UTC in, aware UTC out,
naive refused). The schema does not change (the columns were ``DateTime(timezone=True)`` from 0001); what changes
is rows stored before:

- **SQLite** has no zoned type: an aware time was stored as its wall clock with the zone dropped. Every time
  aeops stores comes from its own UTC clock except one: ``product_state.marketplace_modified_at``, the platform's
  ``gmt_modified`` read in the store's ``platform_tz``. Those rows hold a platform wall clock (``13:05:09`` for
  05:05:09 UTC) that was read back as UTC, 8 hours in the future: drift detection missed every edit made on the
  marketplace in those hours. This revision converts them to UTC; the downgrade converts them back.

  Assumption: every store's ``platform_tz`` is the default ``Asia/Shanghai`` (Beijing time, what AliExpress
  answers). The store layer cannot read ``aeops_config`` (an Airflow Variable or ``AEOPS_CONFIG``, possibly not
  reachable where ``aeops db upgrade`` runs). A store that declared another zone gets an instant off by the
  difference until the product is read again (each re-read stores the right instant): for a zone west of
  Beijing the value is early (at worst one extra re-read), east of Beijing late by at most the difference (an
  edit within that window is not seen as drift).

- **PostgreSQL**: nothing to correct. The columns are ``timestamptz`` since 0001, psycopg2 sent every aware
  value with its offset and PostgreSQL stored the right instant (tests/unit/store/test_utc_times.py stores a
  platform time at 0008 and reads the same instant after this revision).

Safe to re-run: the rows and the revision stamp are written in one transaction (a crash leaves both or
neither), and an upgrade at 0009 does nothing; every row is kept.
"""

from __future__ import annotations

from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

ASSUMED_PLATFORM_TZ = "Asia/Shanghai"
_STATE = sa.table("product_state", sa.column("store", sa.String), sa.column("product_id", sa.BigInteger),
                  sa.column("marketplace_modified_at", sa.DateTime()))


def _convert(to_utc: bool) -> None:
    """SQLite only: ``marketplace_modified_at`` from the platform's wall clock to UTC (or back), row by row in
    Python (zone rules, and the column's own text format, are kept)."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    zone = ZoneInfo(ASSUMED_PLATFORM_TZ)
    c = _STATE.c
    rows = bind.execute(sa.select(c.store, c.product_id, c.marketplace_modified_at)
                        .where(c.marketplace_modified_at.is_not(None))).all()
    moved = [{"s": store, "p": pid, "m": (when.replace(tzinfo=zone).astimezone(UTC) if to_utc
                                          else when.replace(tzinfo=UTC).astimezone(zone)).replace(tzinfo=None)}
             for store, pid, when in rows]
    if moved:
        bind.execute(_STATE.update().where(c.store == sa.bindparam("s"), c.product_id == sa.bindparam("p"))
                     .values(marketplace_modified_at=sa.bindparam("m")), moved)


def upgrade() -> None:
    _convert(to_utc=True)


def downgrade() -> None:
    _convert(to_utc=False)
