"""The app's limits are shared by every store: one quota and one rate, whichever store's client calls."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from aeops.marketplace.app_limits import AppLimits, app_limits, quota_day
from aeops.marketplace.errors import QuotaExhausted


def test_two_stores_share_one_daily_quota_and_the_call_beyond_it_is_not_sent() -> None:
    shared = app_limits("memory", app_qps=None, api_qps=None, daily_quota=3)
    assert shared is app_limits("memory", app_qps=None, api_qps=None, daily_quota=3)  # every client of the process
    shared.acquire("500001", "aliexpress.solution.product.list.get")  # store A
    shared.acquire("500001", "aliexpress.solution.product.list.get")  # store B
    shared.acquire("500001", "aliexpress.solution.batch.product.price.update")  # store A
    with pytest.raises(QuotaExhausted, match="shared by every store"):
        shared.acquire("500001", "aliexpress.solution.product.list.get")  # store B: the quota is spent
    other_app = app_limits("memory", app_qps=None, api_qps=None, daily_quota=3)
    other_app.acquire("600002", "aliexpress.solution.product.list.get")  # another app has its own quota


def test_the_quota_is_shared_by_processes_through_the_file_backend(tmp_path) -> None:
    spec = (tmp_path / "limits").as_uri()
    one, two = AppLimits(spec, daily_quota=2), AppLimits(spec, daily_quota=2)  # as two task processes
    one.acquire("500001", "x")
    two.acquire("500001", "x")
    with pytest.raises(QuotaExhausted):
        one.acquire("500001", "x")


def test_the_app_rate_paces_calls_of_different_stores_together() -> None:
    limits = AppLimits("memory", app_qps=5.0)
    waits = [limits.acquire("500001", "aliexpress.solution.product.info.get") for _ in range(3)]
    assert waits[0] == 0.0 and waits[1] > 0 and waits[2] > waits[1] - 0.01  # one slot every 0.2 s for all


def test_no_limit_set_means_no_limiter() -> None:
    assert app_limits(None, app_qps=None, api_qps={}, daily_quota=None) is None


def test_the_quota_day_is_beijings() -> None:
    assert quota_day(datetime(2026, 12, 6, 15, 59, tzinfo=UTC)) == "20261206"
    assert quota_day(datetime(2026, 12, 6, 16, 0, tzinfo=UTC)) == "20261207"  # 24:00 in Beijing
