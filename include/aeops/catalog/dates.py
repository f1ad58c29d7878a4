"""Dates for the compliance watches: the ``as_of`` day (a Param, else today in the store's zone) and quarters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aeops.catalog.timestamps import today_in
from aeops.config import load_airflow_config

FOLLOW_UP_DAY = 45
"""Day of the quarter (1-based) from which a stale-logo reminder is the mid-quarter follow-up."""


class AsOfError(ValueError):
    """The ``as_of`` value is not a date; the message says what was given."""


def resolve_as_of(value: object, timezone: str) -> date:
    """``value`` (``date`` or ``YYYY-MM-DD``) as a date; None/empty means today in ``timezone``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return today_in(timezone)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise AsOfError(f"as_of must be a date YYYY-MM-DD, not {value!r}") from None


def store_as_of(store: str, value: object, config: Any = None) -> date:
    """A DAG's ``as_of`` Param for ``store``: the date given, else today in the store's time zone."""

    cfg = config or load_airflow_config()
    return resolve_as_of(value, cfg.store(store).timezone)


def local_midnight_utc(day: date, timezone: str) -> datetime:
    """Start of ``day`` in ``timezone``, as an aware UTC datetime (how a date-resolution event is stored)."""
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_date(moment: datetime, timezone: str) -> date:
    """The calendar day ``moment`` falls on in ``timezone`` (naive datetimes are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).date()


@dataclass(frozen=True, slots=True)
class Quarter:
    """A calendar quarter: ``label`` like ``2026Q4``, first and last day."""

    label: str
    start: date
    end: date

    @property
    def follow_up_from(self) -> date:
        """The quarter's day :data:`FOLLOW_UP_DAY` (e.g. 14 Nov for Q4)."""
        return self.start + timedelta(days=FOLLOW_UP_DAY - 1)

    def day_of(self, day: date) -> int:
        """1 on the quarter's first day."""
        return (day - self.start).days + 1


def quarter_of(day: date) -> Quarter:
    """The calendar quarter ``day`` is in."""
    index = (day.month - 1) // 3
    start = date(day.year, 3 * index + 1, 1)
    nxt = date(day.year + 1, 1, 1) if index == 3 else date(day.year, 3 * index + 4, 1)
    return Quarter(label=f"{day.year}Q{index + 1}", start=start, end=nxt - timedelta(days=1))
