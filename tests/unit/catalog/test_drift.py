"""Which products the plan re-reads: never seen, or edited on the marketplace after aeops last saw or wrote them."""

from __future__ import annotations

from datetime import UTC, datetime

from aeops.catalog.drift import drifted as _drifted
from aeops.store.models import ProductState


def state(seen: datetime | None, confirmed: datetime | None) -> ProductState:
    return ProductState(store="demo", product_id=1, fields={"skus": {}}, marketplace_modified_at=seen,
                        confirmed_at=confirmed)


T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
T1 = datetime(2026, 11, 25, 2, 5, tzinfo=UTC)


def test_never_seen_is_read() -> None:
    assert _drifted(None, "2026-11-25 02:00:00")
    assert _drifted(ProductState(store="demo", product_id=1, fields={}), "2026-11-25 02:00:00")


def test_our_own_confirmed_write_is_not_drift() -> None:
    # read at T0, we wrote and confirmed at T1; the platform stamped our write at 02:04:59 UTC = 10:04:59 Beijing
    assert not _drifted(state(T0, T1), "2026-11-25 10:04:59")


def test_a_seller_center_edit_after_our_write_is_drift() -> None:
    assert _drifted(state(T0, T1), "2026-11-25 17:30:00")
    assert _drifted(state(T0, None), "2026-11-25 10:00:01")


def test_listing_times_are_platform_times_across_a_day_boundary() -> None:
    # 2026-11-25 07:30 in Beijing is 2026-11-24 23:30 UTC: before our write of 02:05 UTC on the 25th, no drift
    assert not _drifted(state(T0, T1), "2026-11-25 07:30:00")
    # read as UTC (the old bug) the same string would be 05:30 UTC on the 25th: a false drift
    assert _drifted(state(T0, T1), "2026-11-25 07:30:00", tz="UTC")
    # a store whose platform account reports US Pacific time: 2026-11-24 18:06 there is 02:06 UTC on the 25th
    assert _drifted(state(T0, T1), "2026-11-24 18:06:00", tz="America/Los_Angeles")


def test_unparseable_listing_time_is_read_to_be_safe() -> None:
    assert _drifted(state(T0, T1), None)


def test_parse_gmt_reads_naive_platform_times_in_the_platform_zone() -> None:
    from aeops.catalog.timestamps import parse_gmt

    # 00:30 on Dec 1st in Beijing is still Nov 30th in UTC
    assert parse_gmt("2026-12-01 00:30:00") == datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    assert parse_gmt("2026-12-01 00:30:00", "UTC") == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert parse_gmt("2026-12-01T00:30:00+00:00") == datetime(2026, 12, 1, 0, 30, tzinfo=UTC)  # explicit offset wins
    assert parse_gmt("") is None and parse_gmt("yesterday") is None


def test_an_edit_on_the_platform_an_hour_after_our_confirmed_write_is_read_again(db_url: str) -> None:
    """The state as it comes back from the aeops DB: the platform time of our last read is a Beijing time (stored
    on SQLite as its wall clock before the UTC column type, it read back 8 hours in the future and hid this edit)."""
    from aeops.catalog.timestamps import parse_gmt
    from aeops.store import session_scope, upgrade

    upgrade(db_url)
    with session_scope(db_url) as s:  # read at 13:05:09 Beijing, our write confirmed a second later
        s.add(state(parse_gmt("2026-12-06 13:05:09"), datetime(2026, 12, 6, 5, 5, 10, tzinfo=UTC)))
    with session_scope(db_url) as s:
        known = s.get(ProductState, ("demo", 1))
    assert not _drifted(known, "2026-12-06 13:05:10")  # the platform's stamp of our own write
    assert _drifted(known, "2026-12-06 14:05:10")  # a person changed the price an hour later
