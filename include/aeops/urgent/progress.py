"""The urgent re-run's deadline: the maths and the Slack messages (started, half-way, late, done).

Each milestone is posted once per run: :meth:`aeops.store.repos.runs.Runs.add_milestone` inserts a unique
``run_milestones`` row and only the first caller (of the parallel push tasks) posts. Missing the deadline is
an error-severity message in the alerts channel, never a quiet success: it is the run's page (one Slack message
per run, :mod:`aeops.notify.pages`), which the run's failure then updates with what failed. The final summary
goes to the reports channel and carries what stopped a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.i18n import clock_in, ngettext, translator
from aeops.notify.messages import SlackMessage, notice, one_line
from aeops.notify.pages import page_key
from aeops.reports.deadline_text import approval_text
from aeops.reports.labels import status_label
from aeops.store.status import OPEN, ChangeStatus

DAG_ID = "aliexpress_urgent_rerun"


@dataclass(frozen=True)
class Deadline:
    """The run's clock: from the trigger (a planned override: from its start time), approval time included.

    ``paused_seconds`` is only read from runs recorded before issue 26, which stopped the clock while a person
    decided; no run sets it any more."""

    triggered_at: datetime
    minutes: float
    paused_seconds: float = 0.0

    @property
    def due_at(self) -> datetime:
        """When the changes must have landed (the approval wait added)."""
        return self.triggered_at + timedelta(minutes=self.minutes, seconds=self.paused_seconds)

    def elapsed_minutes(self, now: datetime) -> float:
        """Minutes used so far, the approval wait not counted."""
        return ((now - self.triggered_at).total_seconds() - self.paused_seconds) / 60

    def late(self, now: datetime) -> bool:
        """Whether ``now`` is past the deadline."""
        return now > self.due_at

    def ratio(self, now: datetime) -> float:
        """Elapsed time as a share of the deadline (1.0 = exactly on it)."""
        return self.elapsed_minutes(now) / self.minutes

    def to_dict(self) -> dict[str, Any]:
        """The deadline as JSON (an XCom and the run's record)."""
        return {"triggered_at": self.triggered_at.isoformat(), "deadline_minutes": self.minutes,
                "due_at": self.due_at.isoformat(), "paused_seconds": self.paused_seconds}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        """A deadline back from :meth:`to_dict`'s dict (a naive time read as UTC)."""
        triggered = datetime.fromisoformat(data["triggered_at"])
        return cls(triggered if triggered.tzinfo else triggered.replace(tzinfo=UTC), float(data["deadline_minutes"]),
                   float(data.get("paused_seconds") or 0))


def work_done(statuses: dict[str, int]) -> tuple[int, int]:
    """(answered, total) of a run's pushable changes: confirmed or failed, out of all but unpushable."""
    total = sum(n for s, n in statuses.items() if s != ChangeStatus.UNPUSHABLE)
    done = sum(n for s, n in statuses.items() if s not in (*OPEN, ChangeStatus.UNPUSHABLE))
    return done, total


def _clock(when: datetime, timezone: str | None = None) -> str:
    """A deadline's time of day in the store's zone, with its offset (``18:05:09 UTC+08:00``)."""
    return clock_in(when, timezone or "UTC")


def started(*, store: str, run_id: str, what: str, reason: str, deadline: Deadline, dry_run: bool,
            lang: str | None = "en", timezone: str | None = None, planned: bool = False,
            ends_at: datetime | None = None) -> SlackMessage:
    """The run was triggered; a ``planned`` override says when it starts (its clock starts then) and ends."""
    _ = translator(lang)
    title = _("Urgent re-run started (dry run)") if dry_run else _("Urgent re-run started")
    if planned:
        title = _("Planned price override registered (dry run)") if dry_run else _("Planned price override registered")
    reason_label = _("Reason:")
    due = _clock(deadline.due_at, timezone)
    text = f"{what}\n*{reason_label}* {reason}\n"
    if planned:
        text += _("Starts on its own at {start}; approve it before then (approval time counts in the "
                  "deadline).").format(start=_clock(deadline.triggered_at, timezone)) + "\n"
        if ends_at is not None:
            text += _("Its prices revert at {end}.").format(end=_clock(ends_at, timezone)) + "\n"
    text += _("Must land by {due} ({minutes} min).").format(due=due, minutes=f"{deadline.minutes:g}")
    return notice(title=title, store=store, severity="info", kind="progress", text=text,
                  fields={_("Run"): run_id, _("Deadline"): due})


def half_way(*, store: str, run_id: str, done: int, total: int, deadline: Deadline, now: datetime,
             lang: str | None = "en") -> SlackMessage:
    """The Slack message half-way to the deadline: changes answered so far and whether it is on track."""
    _ = translator(lang)
    elapsed = deadline.elapsed_minutes(now)
    on_track = deadline.ratio(now) <= 0.5
    verdict = _("on track") if on_track else _("behind: at this pace it lands after the deadline")
    return notice(title=_("Urgent re-run half-way"), store=store, severity="info" if on_track else "warning",
                  kind="progress",
                  text=_("{done} of {total} changes answered after {elapsed} of {minutes} min; {verdict}.").format(
                      done=done, total=total, elapsed=f"{elapsed:.1f}", minutes=f"{deadline.minutes:g}",
                      verdict=verdict),
                  fields={_("Run"): run_id})


def late(*, store: str, run_id: str, done: int, total: int, deadline: Deadline, now: datetime,
         lang: str | None = "en", timezone: str | None = None) -> SlackMessage:
    """The run's page (alerts channel); if the run then fails, its failure list replaces this message."""
    _ = translator(lang)
    message = notice(title=_("Urgent re-run missed its deadline"), store=store, severity="error", kind="alert",
                     text=_("{minutes} min passed at {due} with {done} of {total} changes answered ({elapsed} min so "
                            "far); it keeps going.").format(
                         minutes=f"{deadline.minutes:g}", due=_clock(deadline.due_at, timezone), done=done,
                         total=total, elapsed=f"{deadline.elapsed_minutes(now):.1f}"),
                     fields={_("Run"): run_id}, dedupe_key=page_key(DAG_ID, run_id))
    message.fold = "replace"
    return message


def approval_line(decision: dict[str, Any] | None, deadline: Deadline, lang: str | None = "en",
                  timezone: str | None = None) -> str | None:
    """Where the approval fell inside the deadline (:func:`aeops.reports.deadline_text.approval_text`)."""
    return approval_text(decision, deadline.triggered_at, deadline.minutes, lang, timezone)


def final(*, store: str, run_id: str, what: str, reason: str, status: str, counts: dict[str, Any],
          deadline: Deadline, now: datetime, mode: str, dry_run: bool, lang: str | None = "en",
          report_link: str | None = None, stopped_by: list[str] | None = None,
          approval: str | None = None) -> SlackMessage:
    """The run's summary (reports channel): on time (info; warning when some products failed), failed or late
    (error), with what stopped a failed run and where the approval fell inside the deadline (``approval``)."""
    _ = translator(lang)
    elapsed = f"{deadline.elapsed_minutes(now):.1f}"
    minutes = f"{deadline.minutes:g}"
    was_late = deadline.late(now)
    if dry_run:
        title, severity = _("Urgent dry run done in {elapsed} min: nothing was written").format(elapsed=elapsed), "info"
    elif was_late:
        title = _("Urgent re-run LATE: {elapsed} min, deadline {minutes} min").format(elapsed=elapsed, minutes=minutes)
        severity = "error"
    elif status == "failed":
        title, severity = _("Urgent re-run FAILED after {elapsed} min").format(elapsed=elapsed), "error"
    else:
        title = _("Urgent re-run done in {elapsed} of {minutes} min").format(elapsed=elapsed, minutes=minutes)
        severity = "info" if status == "success" else "warning"
    reason_label, status_title = _("Reason:"), _("Status:")
    lines = [what, f"*{reason_label}* {reason}", f"*{status_title}* {status_label(status, lang)}"]
    if approval:
        lines.append(approval)
    if stopped_by:
        stopped_title = _("What stopped it:")
        lines.append(f"*{stopped_title}* " + "; ".join(f"`{one_line(line)}`" for line in stopped_by[:5]))
    if status in ("partial", "failed") and not dry_run:
        lines.append(_("Retry what is left: trigger mode `retry_failed` with run_id `{run_id}`.").format(run_id=run_id))
    if mode == "price_override" and not dry_run and counts.get("confirmed"):
        lines.append(_("Undo: trigger mode `revert` with run_id `{run_id}`.").format(run_id=run_id))
    fields = {
        _("Products"): counts.get("targets", 0),
        _("Planned changes"): sum(v for k, v in counts.items()
                                  if k.startswith("planned_") and k != "planned_unpushable"),
        _("Confirmed"): counts.get("confirmed", 0),
        _("Failed"): counts.get("failed", 0),
        _("Unpushable"): counts.get("unpushable", 0),
        _("Skipped"): counts.get("skipped", 0),
        _("Verified"): counts.get("verified", "-"),
        _("Guarded (floor/ceiling)"): f"{counts.get('guarded_floor', 0)}/{counts.get('guarded_ceiling', 0)}",
        _("Run"): run_id,
    }
    return notice(title=title, store=store, severity=severity, kind="summary",
                  text="\n".join(lines), fields=fields, link=report_link, link_text=_("Open the report"),
                  dedupe_key=f"urgent-final:{store}:{run_id}")


def _decision_label(decision: object, _: Any) -> str:
    """An approval decision (``approved``, ``rejected``, ``timed out``) in the message's language."""
    labels = {"approved": _("approved"), "rejected": _("rejected"), "timed out": _("not answered in time")}
    return labels.get(str(decision), str(decision))


def not_approved(*, store: str, run_id: str, what: str, reason: str, decision: dict[str, Any],
                 counts: dict[str, Any], lang: str | None = "en") -> SlackMessage:
    """The override waited for approval and was rejected or not answered in time: nothing was written."""
    _, n_ = translator(lang), ngettext(lang)
    who = decision.get("by")
    if decision.get("decision") == "rejected":
        title = _("Urgent price override rejected by {who}: nothing was written").format(who=who or "?")
    else:
        title = _("Urgent price override not approved in time: nothing was written")
    planned = int(counts.get("planned_price", 0) or 0)
    reason_label = _("Reason:")
    not_sent = n_("The plan ({n} price change) was not sent; waited {seconds} s for approval.",
                  "The plan ({n} price changes) was not sent; waited {seconds} s for approval.",
                  planned).format(n=planned, seconds=f"{decision.get('waited_seconds', 0):.0f}")
    return notice(title=title, store=store, severity="warning", kind="summary",
                  text=f"{what}\n*{reason_label}* {reason}\n{not_sent}",
                  fields={_("Run"): run_id, _("Decision"): _decision_label(decision.get("decision"), _)},
                  dedupe_key=f"urgent-final:{store}:{run_id}")
