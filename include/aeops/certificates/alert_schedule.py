"""When a certificate alert is due: thresholds once each, then daily once expired. Pure functions.

The registry row remembers the last alert in two columns:

- ``last_alert_threshold``: ``None`` = no open alert; ``N > 0`` = the N-day warning was sent;
  :data:`EXPIRED` (-1) = the certificate expired and ERR-412 alerts run daily; :data:`INVALID` (-2) = the file's
  problems (misnamed, unreadable, text disagreeing, CE span) were reported. Back to ``None`` once a
  replacement or removal has been announced ("closed").
- ``last_alert_on``: the ``as_of`` day of that alert.

CPC certificates (toys) have their own thresholds (:func:`thresholds_for`): earlier warnings (60 and 45
days) and, from the re-upload deadline (30 days) on, errors (:func:`past_deadline`). A warning threshold fires
once: on the first run where the days left are at or below it and it is lower
than the last one sent. Runs that were missed do not cause a burst: only the most urgent threshold
reached is sent. Time travel backwards (an ``as_of`` before the last alert) never re-alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from aeops.i18n import translator

EXPIRED = -1
INVALID = -2


def thresholds(warn_days: Iterable[int]) -> list[int]:
    """The positive warning thresholds, largest first (``[30, 14, 7, 1]``)."""
    return sorted({int(d) for d in warn_days if int(d) > 0}, reverse=True)


def thresholds_for(cert_type: str | None, warn_days: Iterable[int], cpc_warn_days: Iterable[int] = (60, 45),
                   cpc_deadline: int = 30) -> list[int]:
    """The thresholds of a certificate type: CPC adds its earlier warnings and the re-upload deadline (below it,
    the other thresholds stay: ``[60, 45, 30, 14, 7, 1]``); other types keep ``warn_days``."""
    days = list(warn_days)
    if (cert_type or "").strip().upper() != "CPC":
        return thresholds(days)
    return thresholds([*cpc_warn_days, cpc_deadline, *[d for d in days if d < cpc_deadline]])


def past_deadline(cert_type: str | None, threshold: int | None, cpc_deadline: int = 30) -> bool:
    """True for a CPC threshold at or inside the re-upload deadline (an error, not a warning)."""
    return ((cert_type or "").strip().upper() == "CPC" and threshold is not None
            and 0 <= threshold <= cpc_deadline)


def threshold_for(days_left: int, warn_days: Iterable[int]) -> int | None:
    """The threshold ``days_left`` has reached: the smallest N >= days_left, :data:`EXPIRED` below 0, else None.

    0 days left (the last valid day) counts as the smallest threshold (e.g. the 1-day warning).
    """
    if days_left < 0:
        return EXPIRED
    reached = [t for t in thresholds(warn_days) if days_left <= t]
    return min(reached) if reached else None


def due_threshold(
    days_left: int,
    *,
    last_threshold: int | None,
    last_alert_on: date | None,
    as_of: date,
    warn_days: Iterable[int],
) -> int | None:
    """The threshold to alert today, or None: each warning once, ERR-412 once a day."""
    if last_alert_on is not None and as_of < last_alert_on:
        return None  # looking back in time: never re-alert what was already said later
    reached = threshold_for(days_left, warn_days)
    if reached is None:
        return None
    if reached == EXPIRED:
        return EXPIRED if last_alert_on != as_of or last_threshold != EXPIRED else None
    if last_threshold is None or last_threshold == INVALID:
        return reached
    if last_threshold == EXPIRED:
        return None  # it was expired on a later day already
    return reached if reached < last_threshold else None


def invalid_alert_due(last_threshold: int | None) -> bool:
    """An invalid file is reported once (until it is replaced or removed)."""
    return last_threshold != INVALID


def describe(threshold: int, lang: str | None = "en") -> str:
    """``"30-day warning"``, ``"expired (ERR-412)"``, ``"file problem"`` (in ``lang``)."""

    _ = translator(lang)
    if threshold == EXPIRED:
        return _("expired (ERR-412)")
    if threshold == INVALID:
        return _("file problem")
    return _("{days}-day warning").format(days=threshold)
