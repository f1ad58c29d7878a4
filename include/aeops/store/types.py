"""Column types of the aeops DB: every time it stores is a UTC instant, on SQLite and PostgreSQL alike.

SQLAlchemy's ``DateTime(timezone=True)`` keeps the zone only where the database has a zoned type (PostgreSQL's
``timestamptz``); SQLite has none, and an aware time bound to it is stored as its wall clock with the zone
dropped (a Beijing 13:05:09, i.e. 05:05:09 UTC, was stored as ``13:05:09`` and read back as a naive time that
everyone took for UTC). :class:`UtcDateTime` converts on the way in and refuses what it cannot convert:

- bound: an aware datetime becomes UTC (SQLite: naive UTC text, PostgreSQL: ``timestamptz``); a naive one is
  refused with :class:`NaiveDatetimeError` (a ``ValueError``): nobody can tell which zone it meant;
- read: always an aware UTC datetime, whatever the database or the PostgreSQL session's ``TimeZone``.

:func:`refuse_naive_on_assignment` also names the column: setting a naive time on a model attribute raises at
the assignment (``ProductState.marketplace_modified_at``), not later at the flush.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator


class NaiveDatetimeError(ValueError):
    """A datetime without a zone given to a column of the aeops DB."""

    def __init__(self, value: datetime, column: str | None = None) -> None:
        where = f"{column}: " if column else ""
        super().__init__(f"{where}naive datetime {value.isoformat()} refused: the aeops DB stores UTC instants; "
                         "give it a zone (aeops.store.models.utcnow(), or .replace(tzinfo=...) for a known zone)")


class UtcDateTime(TypeDecorator[datetime]):
    """A UTC instant: aware datetimes in (converted to UTC), aware UTC datetimes out; naive ones refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """A datetime on its way into the aeops DB: aware ones in UTC (naive ones refused)."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"a datetime expected, not {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveDatetimeError(value)
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """A datetime read from the aeops DB, aware in UTC."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def refuse_naive_on_assignment(base: Any) -> None:
    """Every mapped :class:`UtcDateTime` attribute of ``base``'s models refuses a naive datetime when it is set,
    naming the column (call once, after the models are defined)."""
    for mapper in base.registry.mappers:
        # ``mapper.columns`` (attribute name -> column), not ``column_attrs``: that configures every mapper registry
        # of the process, Airflow's too, which imports all of Airflow's ORM models (~0.5 CPU-s in a task process)
        for key, column in mapper.columns.items():
            if isinstance(column.type, UtcDateTime):
                event.listen(getattr(mapper.class_, key), "set", _refuser(f"{mapper.class_.__name__}.{key}"),
                             retval=True)


def _refuser(column: str):
    def refuse(_target: Any, value: Any, _old: Any, _initiator: Any) -> Any:
        if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
            raise NaiveDatetimeError(value, column)
        return value

    return refuse
