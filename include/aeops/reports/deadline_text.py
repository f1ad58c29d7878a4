"""An urgent run's clock as people read it: from when it ran, when it was due, and where a person's approval fell
inside it (the guide: the whole store within 15 minutes of the trigger, approval included). Used by the run report
and the urgent run's final Slack summary (:mod:`aeops.urgent.progress`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.i18n import clock_in, translator


def _aware(text: Any) -> datetime:
    moment = datetime.fromisoformat(str(text))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def approval_text(decision: dict[str, Any] | None, clock_from: datetime, minutes: float, lang: str | None = "en",
                  timezone: str | None = None) -> str | None:
    """Answered at <time>, <m> of <n> min of the clock; a planned override approved ahead: before its clock
    started. None when no approval was asked."""
    if not decision or not decision.get("at"):
        return None
    _ = translator(lang)
    answered = _aware(decision["at"])
    into = (answered - clock_from).total_seconds() / 60
    who, at = decision.get("by") or "?", clock_in(answered, timezone or "UTC")
    if decision.get("decision") not in (None, "approved"):
        return None
    if into <= 0:
        return _("Approved ahead by {who} at {at}: before the clock started.").format(who=who, at=at)
    return _("Approval by {who} at {at}: {used} of the {minutes} min went to the approval (inside the "
             "deadline).").format(who=who, at=at, used=f"{into:.1f}", minutes=f"{minutes:g}")


def clock_text(recorded: dict[str, Any] | None, decision: dict[str, Any] | None, lang: str | None = "en",
               timezone: str | None = None) -> str | None:
    """An urgent run's deadline line (``artifacts["deadline"]``) with its approval; None for other runs."""
    if not recorded:
        return None
    _ = translator(lang)
    zone = timezone or "UTC"
    start, minutes = _aware(recorded["triggered_at"]), float(recorded["deadline_minutes"])
    due = start + timedelta(minutes=minutes, seconds=float(recorded.get("paused_seconds") or 0))
    line = _("Deadline: {minutes} min from {start}, due {due}.").format(
        minutes=f"{minutes:g}", start=clock_in(start, zone), due=clock_in(due, zone))
    said = approval_text(decision, start, minutes, lang, zone)
    return f"{line} {said}" if said else line
