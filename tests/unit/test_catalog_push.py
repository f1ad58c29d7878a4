"""The recorded batch push: what one clean batch costs the aeops DB, and that its records are whole."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from aeops.catalog.diff import PlannedChange
from aeops.catalog.ledger import Ledger
from aeops.catalog.push import push_batch
from aeops.store import session_scope
from aeops.store.models import ApiWrite, Change
from aeops.verify.fake import FakeMarketplace


class CountingLedger(Ledger):
    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.sessions = 0

    @contextmanager
    def session(self):
        self.sessions += 1
        with super().session() as s:
            yield s


def test_a_clean_batch_of_twenty_costs_four_transactions_and_records_before_and_after(sqlite_url) -> None:
    market = FakeMarketplace()
    market.seed(range(1, 21), {"S": ("20.00", "15.00", 10)}, datetime.now(UTC) - timedelta(days=1))
    ledger = CountingLedger(sqlite_url)
    run = ledger.start_run("demo", "unit", "push")
    ledger.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": "15.00"}]}) for pid in range(1, 21)])
    ids = ledger.open_change_ids([run])[(run, "price")]
    ledger.sessions = 0

    counts = push_batch(ledger, market, run, "price", ids)

    assert counts == {"confirmed": 20}
    assert ledger.sessions == 4  # what is open; the record before sending; the answer; the final counts
    with session_scope(sqlite_url) as s:
        (write,) = s.query(ApiWrite).all()
        assert write.outcome == "answered" and sorted(write.product_ids) == list(range(1, 21))
        assert {c.status for c in s.query(Change)} == {"confirmed"}
