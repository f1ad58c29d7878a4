"""Time as the catalog sees it: the platform's timestamps (``gmt_modified`` ...) and a store's "today"."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

GMT_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z")


def parse_gmt(value: str | None) -> datetime | None:
    """``"2026-11-30 08:03:39"`` (a naive platform time, read as UTC) or an ISO time -> an aware datetime;
    None for empty or unreadable values."""
    if not value:
        return None
    for fmt in GMT_FORMATS:
        try:
            parsed = datetime.strptime(value, fmt)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def aware(value: datetime | None) -> datetime | None:
    """A datetime from the aeops DB (naive UTC on SQLite) as an aware UTC datetime."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def today_in(timezone: str) -> date:
    """Today's date in ``timezone`` (a store's "today": certificate days, report dates)."""
    return datetime.now(ZoneInfo(timezone)).date()
