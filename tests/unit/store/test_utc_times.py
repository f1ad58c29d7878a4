"""Every time the aeops DB stores is a UTC instant, on SQLite and PostgreSQL alike (issue 25: a platform time stored
on SQLite as its Beijing wall clock read back 8 hours in the future); the migration ``*_utc_times.py`` corrects
the rows stored before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import insert, select, text
from sqlalchemy.exc import StatementError

from aeops.catalog.timestamps import parse_gmt
from aeops.store import current_revision, session_scope, upgrade
from aeops.store.db import alembic_config, get_engine
from aeops.store.models import ProductState, StoreLock
from aeops.store.types import NaiveDatetimeError

BEIJING = parse_gmt("2026-12-06 13:05:09", "Asia/Shanghai")  # what the platform's gmt_modified says
INSTANT = datetime(2026, 12, 6, 5, 5, 9, tzinfo=UTC)  # the same instant in UTC
CONFIRMED = datetime(2026, 12, 6, 5, 5, 10, tzinfo=UTC)  # aeops's own clock, a second later


def revision_before_utc_times() -> str:
    """The revision before the one converting to UTC (found by its file: its number may change on a merge)."""
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()
    before = next(s for s in scripts if s.path.endswith("_utc_times.py")).down_revision
    assert isinstance(before, str)
    return before


BEFORE = revision_before_utc_times()


def read_state(url: str) -> ProductState:
    with session_scope(url) as s:
        state = s.get(ProductState, ("demo", 1))
    assert state is not None
    return state


def test_a_platform_time_is_read_back_as_the_same_instant_in_utc(db_url: str) -> None:
    upgrade(db_url)
    with session_scope(db_url) as s:
        s.add(ProductState(store="demo", product_id=1, fields={}, marketplace_modified_at=BEIJING,
                           confirmed_at=CONFIRMED))
    state = read_state(db_url)
    assert state.marketplace_modified_at == INSTANT and state.marketplace_modified_at.tzinfo is UTC
    assert state.confirmed_at == CONFIRMED and state.confirmed_at.tzinfo is UTC
    assert state.marketplace_modified_at < state.confirmed_at  # the order the two events happened in
    with get_engine(db_url).connect() as conn:  # and the database holds the UTC instant, not the wall clock
        stored = conn.execute(select(ProductState.marketplace_modified_at)).scalar_one()
        raw = conn.execute(text("SELECT marketplace_modified_at FROM product_state")).scalar_one()
    assert stored == INSTANT
    if db_url.startswith("sqlite"):
        assert raw == "2026-12-06 05:05:09.000000"
    else:
        assert raw == INSTANT


def test_postgres_reads_utc_whatever_the_session_zone(postgres_url: str) -> None:
    upgrade(postgres_url)
    with session_scope(postgres_url) as s:
        s.add(ProductState(store="demo", product_id=1, fields={}, marketplace_modified_at=BEIJING))
    beijing_session = f"{postgres_url}?options=-c%20timezone%3DAsia/Shanghai"
    with get_engine(beijing_session).connect() as conn:
        assert str(conn.execute(text("SHOW timezone")).scalar_one()) == "Asia/Shanghai"
        raw = conn.execute(text("SELECT marketplace_modified_at FROM product_state")).scalar_one()
        read = conn.execute(select(ProductState.marketplace_modified_at)).scalar_one()
    assert raw.utcoffset() == timedelta(hours=8)  # the driver alone answers in the session's zone
    assert read == INSTANT and read.tzinfo is UTC


def test_a_naive_datetime_is_refused_naming_the_column(db_url: str) -> None:
    upgrade(db_url)
    naive = datetime(2026, 12, 6, 13, 5, 9)
    with pytest.raises(NaiveDatetimeError, match=r"^ProductState\.marketplace_modified_at: naive datetime"):
        ProductState(store="demo", product_id=1, fields={}, marketplace_modified_at=naive)
    state = ProductState(store="demo", product_id=1, fields={})
    with pytest.raises(NaiveDatetimeError, match="ProductState.confirmed_at"):
        state.confirmed_at = naive
    with pytest.raises(StatementError, match="naive datetime") as caught:  # statements refuse it too
        with session_scope(db_url) as s:
            s.execute(insert(ProductState), [{"store": "demo", "product_id": 2, "fields": {}, "last_seen_at": naive}])
    assert isinstance(caught.value.orig, NaiveDatetimeError)
    with pytest.raises(StatementError, match="naive datetime"):
        with session_scope(db_url) as s:
            s.scalars(select(StoreLock).where(StoreLock.expires_at <= naive)).all()
    with session_scope(db_url) as s:
        assert s.scalars(select(ProductState)).all() == []


OLD_STATE = sa.table("product_state", sa.column("store", sa.String), sa.column("product_id", sa.BigInteger),
                     sa.column("fields", sa.JSON), sa.column("status", sa.String),
                     sa.column("marketplace_modified_at", sa.DateTime(timezone=True)),
                     sa.column("confirmed_at", sa.DateTime(timezone=True)),
                     sa.column("last_seen_at", sa.DateTime(timezone=True)))


def store_the_old_way(url: str) -> None:
    """What aeops did before: the aware platform time and UTC times bound to a plain DateTime column."""
    upgrade(url, BEFORE)
    with get_engine(url).begin() as conn:
        conn.execute(insert(OLD_STATE).values(store="demo", product_id=1, fields={}, status="onSelling",
                                              marketplace_modified_at=BEIJING, confirmed_at=CONFIRMED,
                                              last_seen_at=CONFIRMED))


def raw_times(url: str) -> tuple[object, object]:
    with get_engine(url).connect() as conn:
        return tuple(conn.execute(text("SELECT marketplace_modified_at, confirmed_at FROM product_state")).one())


def test_the_migration_corrects_platform_times_stored_before_and_keeps_the_rest(db_url: str) -> None:
    store_the_old_way(db_url)
    if db_url.startswith("sqlite"):  # the old shape: the wall clock in Beijing, no zone
        assert raw_times(db_url) == ("2026-12-06 13:05:09.000000", "2026-12-06 05:05:10.000000")

    upgrade(db_url)

    state = read_state(db_url)
    assert state.marketplace_modified_at == INSTANT and state.confirmed_at == CONFIRMED
    assert state.last_seen_at == CONFIRMED  # aeops's own UTC times are left as they were
    upgrade(db_url)  # at head: nothing happens twice
    assert read_state(db_url).marketplace_modified_at == INSTANT

    from alembic import command

    command.downgrade(alembic_config(db_url), BEFORE)  # and back: the old code reads what it wrote
    if db_url.startswith("sqlite"):
        assert raw_times(db_url) == ("2026-12-06 13:05:09.000000", "2026-12-06 05:05:10.000000")
    upgrade(db_url)
    assert read_state(db_url).marketplace_modified_at == INSTANT


def test_an_upgrade_that_fails_midway_changes_nothing_and_the_next_one_converts_once(
        sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from alembic.runtime.migration import HeadMaintainer

    store_the_old_way(sqlite_url)

    def crash(*_args, **_kwargs):
        raise RuntimeError("the process died before the revision was stamped")

    with monkeypatch.context() as patch:
        patch.setattr(HeadMaintainer, "update_to_step", crash)
        with pytest.raises(RuntimeError):
            upgrade(sqlite_url)
    assert current_revision(sqlite_url) == BEFORE
    assert raw_times(sqlite_url)[0] == "2026-12-06 13:05:09.000000"  # rolled back with the stamp

    upgrade(sqlite_url)

    assert read_state(sqlite_url).marketplace_modified_at == INSTANT
