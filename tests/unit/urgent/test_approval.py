"""When an urgent override needs approval, and the deadline that does not count the wait."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from aeops.config import load_config
from aeops.urgent.approval import price_moves, reasons_for_approval
from aeops.urgent.progress import Deadline


def change(pid: int, *pairs: tuple[str, str]):
    return SimpleNamespace(kind="price", product_id=pid,
                           payload={"skus": [{"sku_code": f"S{pid}-{n}", "price": new} for n, (_o, new) in
                                             enumerate(pairs)]},
                           previous={"skus": [{"sku_code": f"S{pid}-{n}", "price": old} for n, (old, _n) in
                                              enumerate(pairs)]})


def test_small_moves_on_few_skus_need_no_approval() -> None:
    moves = price_moves([change(1, ("10.00", "8.00")), change(2, ("20.00", "15.00"))])
    assert [round(m.percent, 1) for m in moves] == [-20.0, -25.0]
    assert reasons_for_approval(moves, load_config({})) == []


def test_more_than_100_skus_or_a_move_above_30_percent_needs_approval() -> None:
    many = price_moves([change(n, ("10.00", "9.50")) for n in range(101)])
    assert reasons_for_approval(many, load_config({})) == ["101 SKUs change (more than 100)"]
    one_big = price_moves([change(1, ("10.00", "6.90"))])
    assert reasons_for_approval(one_big, load_config({})) == ["1 price(s) move by more than 30%"]
    exactly = price_moves([change(1, ("10.00", "7.00"))])
    assert reasons_for_approval(exactly, load_config({})) == []  # "more than 30%"
    assert reasons_for_approval(one_big, load_config({"urgent_approval_percent": 50})) == []


def test_the_approval_wait_is_not_counted_in_the_deadline() -> None:
    start = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    waited = Deadline(start, 15, paused_seconds=600)
    assert waited.due_at == start + timedelta(minutes=25)
    assert not waited.late(start + timedelta(minutes=24))
    assert waited.elapsed_minutes(start + timedelta(minutes=20)) == 10
    assert Deadline.from_dict(waited.to_dict()) == waited
    assert Deadline.from_dict({"triggered_at": start.isoformat(), "deadline_minutes": 15}).paused_seconds == 0
