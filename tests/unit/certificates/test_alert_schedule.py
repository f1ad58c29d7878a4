"""Escalation, time-travelled day by day: each warning threshold once, expired daily, never backwards."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aeops.catalog.dates import FOLLOW_UP_DAY, AsOfError, quarter_of, resolve_as_of
from aeops.certificates.alert_schedule import EXPIRED, INVALID, due_threshold, threshold_for

WARN = [30, 14, 7, 1]
EXPIRY = date(2026, 12, 15)


def simulate(days: list[date], warn=WARN) -> list[tuple[date, int]]:
    """Run the decision each day, remembering the last alert like the registry does."""
    last_threshold: int | None = None
    last_on: date | None = None
    sent = []
    for day in days:
        due = due_threshold((EXPIRY - day).days, last_threshold=last_threshold, last_alert_on=last_on,
                            as_of=day, warn_days=warn)
        if due is not None:
            sent.append((day, due))
            last_threshold, last_on = due, day
    return sent


def test_daily_runs_alert_once_per_threshold_then_daily_once_expired() -> None:
    days = [EXPIRY - timedelta(days=40) + timedelta(days=i) for i in range(44)]  # 40 days before .. 3 after
    sent = simulate(days)
    assert [(EXPIRY - d).days for d, _ in sent] == [30, 14, 7, 1, -1, -2, -3]
    assert [t for _, t in sent] == [30, 14, 7, 1, EXPIRED, EXPIRED, EXPIRED]


def test_missed_runs_send_only_the_most_urgent_threshold_reached() -> None:
    sent = simulate([EXPIRY - timedelta(days=20), EXPIRY - timedelta(days=5), EXPIRY])
    assert [t for _, t in sent] == [30, 7, 1]


def test_first_seen_close_to_expiry_starts_at_its_threshold() -> None:
    assert simulate([EXPIRY - timedelta(days=3)]) == [(EXPIRY - timedelta(days=3), 7)]


def test_expired_alerts_once_per_day_even_when_rerun_the_same_day() -> None:
    day = EXPIRY + timedelta(days=2)
    assert simulate([day, day, day]) == [(day, EXPIRED)]


def test_time_travel_backwards_never_realerts() -> None:
    assert due_threshold(20, last_threshold=7, last_alert_on=date(2026, 12, 10), as_of=date(2026, 11, 25),
                         warn_days=WARN) is None
    assert due_threshold(3, last_threshold=EXPIRED, last_alert_on=date(2026, 12, 20), as_of=date(2026, 12, 12),
                         warn_days=WARN) is None


@pytest.mark.parametrize(("days_left", "expected"), [(31, None), (30, 30), (15, 30), (14, 14), (8, 14), (7, 7),
                                                     (2, 7), (1, 1), (0, 1), (-1, EXPIRED)])
def test_threshold_for(days_left: int, expected: int | None) -> None:
    assert threshold_for(days_left, WARN) == expected


def test_a_file_fixed_after_an_invalid_alert_starts_its_thresholds() -> None:
    assert due_threshold(20, last_threshold=INVALID, last_alert_on=date(2026, 11, 1), as_of=date(2026, 11, 25),
                         warn_days=WARN) == 30


def test_configured_thresholds_are_used() -> None:
    days = [EXPIRY - timedelta(days=70) + timedelta(days=i) for i in range(70)]
    assert [t for _, t in simulate(days, warn=[60, 3])] == [60, 3]


def test_quarters_and_as_of() -> None:
    q = quarter_of(date(2026, 11, 26))
    assert (q.label, q.start, q.end) == ("2026Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert quarter_of(date(2027, 2, 28)).end == date(2027, 3, 31)
    assert q.day_of(q.follow_up_from) == FOLLOW_UP_DAY
    assert resolve_as_of("2026-11-26", "Asia/Shanghai") == date(2026, 11, 26)
    with pytest.raises(AsOfError, match="YYYY-MM-DD"):
        resolve_as_of("next tuesday", "Asia/Shanghai")
