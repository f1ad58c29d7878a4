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
    # read at T0, we wrote and confirmed at T1; the platform stamped our write at 02:04:59
    assert not _drifted(state(T0, T1), "2026-11-25 02:04:59")


def test_a_seller_center_edit_after_our_write_is_drift() -> None:
    assert _drifted(state(T0, T1), "2026-11-25 09:30:00")
    assert _drifted(state(T0, None), "2026-11-25 02:00:01")


def test_unparseable_listing_time_is_read_to_be_safe() -> None:
    assert _drifted(state(T0, T1), None)
