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


def test_a_deadline_recorded_before_issue_26_keeps_its_paused_time() -> None:
    start = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    waited = Deadline(start, 15, paused_seconds=600)  # runs recorded when the wait stopped the clock
    assert waited.due_at == start + timedelta(minutes=25)
    assert Deadline.from_dict(waited.to_dict()) == waited
    assert Deadline.from_dict({"triggered_at": start.isoformat(), "deadline_minutes": 15}).paused_seconds == 0


def test_the_approval_wait_counts_in_the_deadline_and_the_summary_shows_where_it_fell(sqlite_url,
                                                                                         monkeypatch) -> None:
    """The guide: the whole store within 15 minutes of the trigger. A person answering 10 minutes after the trigger
    leaves 5 minutes; the summary says the approval took 10 of the 15."""
    from aeops.store.ledger import Ledger
    from aeops.urgent import approval
    from aeops.urgent.progress import approval_line

    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)  # this test's own DB, not the embedded one
    start = datetime.now(UTC) - timedelta(minutes=10)
    cfg = load_config({"database_url": sqlite_url, "stores": [{"name": "demo", "language": "en",
                                                               "timezone": "UTC"}]})
    ledger = Ledger(sqlite_url)
    run = ledger.runs.start("demo", approval.DAG_ID, "r1", kind="urgent")
    ledger.runs.update(run, artifacts={"request": {"mode": "price_override"},
                                       "deadline": Deadline(start, 15).to_dict()})
    ledger.runs.add_milestone(run, "approval-asked", {"asked_at": (start + timedelta(minutes=1)).isoformat()})

    detail = approval.record_decision("demo", "r1", approval.APPROVE, {"name": "li"}, start + timedelta(minutes=10),
                                      config=cfg)

    deadline = Deadline.from_dict(ledger.runs.get(run).artifacts["deadline"])
    assert deadline.due_at == start + timedelta(minutes=15) and deadline.paused_seconds == 0  # nothing moved
    assert deadline.late(start + timedelta(minutes=16))
    assert detail["decision"] == "approved" and detail["into_deadline_seconds"] == 600
    line = approval_line(detail, deadline, "en", "UTC")
    assert "li" in line and "10.0 of the 15 min went to the approval (inside the deadline)" in line


def test_a_planned_override_approved_ahead_says_so_and_one_approved_late_counts_the_lateness() -> None:
    from aeops.urgent.progress import approval_line

    starts = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)
    clock = Deadline(starts, 15)  # a planned override's clock runs from its start time
    ahead = {"decision": "approved", "by": "li", "at": (starts - timedelta(hours=6)).isoformat()}
    late = {"decision": "approved", "by": "li", "at": (starts + timedelta(minutes=4)).isoformat()}
    assert "before the clock started" in approval_line(ahead, clock, "en", "Asia/Shanghai")
    assert "18:00:00" in approval_line(ahead, clock, "en", "UTC")
    assert "4.0 of the 15 min went to the approval" in approval_line(late, clock, "en", "UTC")
    assert approval_line(None, clock) is None
