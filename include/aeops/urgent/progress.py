"""The urgent re-run's deadline: the maths and the Slack messages (started, half-way, late, done).

Each milestone is posted once per run: :func:`aeops.sync.ledger.add_milestone` inserts a unique
``run_milestones`` row and only the first caller (of the parallel push tasks) posts. Missing the deadline is
an error-severity message in the alerts channel, never a quiet success: it is the run's page (one Slack message
per run, :mod:`aeops.notify.pages`), which the run's failure then updates with what failed. The final summary
goes to the reports channel and carries what stopped a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.catalog.status import OPEN, ChangeStatus
from aeops.notify.messages import SlackMessage, notice, one_line
from aeops.notify.pages import page_key

DAG_ID = "aliexpress_urgent_rerun"


@dataclass(frozen=True)
class Deadline:
    triggered_at: datetime
    minutes: float

    @property
    def due_at(self) -> datetime:
        return self.triggered_at + timedelta(minutes=self.minutes)

    def elapsed_minutes(self, now: datetime) -> float:
        return (now - self.triggered_at).total_seconds() / 60

    def late(self, now: datetime) -> bool:
        return now > self.due_at

    def ratio(self, now: datetime) -> float:
        """Elapsed time as a share of the deadline (1.0 = exactly on it)."""
        return self.elapsed_minutes(now) / self.minutes

    def to_dict(self) -> dict[str, Any]:
        return {"triggered_at": self.triggered_at.isoformat(), "deadline_minutes": self.minutes,
                "due_at": self.due_at.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Deadline:
        triggered = datetime.fromisoformat(data["triggered_at"])
        return cls(triggered if triggered.tzinfo else triggered.replace(tzinfo=UTC), float(data["deadline_minutes"]))


def work_done(statuses: dict[str, int]) -> tuple[int, int]:
    """(answered, total) of a run's pushable changes: confirmed or failed, out of all but unpushable."""
    total = sum(n for s, n in statuses.items() if s != ChangeStatus.UNPUSHABLE)
    done = sum(n for s, n in statuses.items() if s not in (*OPEN, ChangeStatus.UNPUSHABLE))
    return done, total


def _clock(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%H:%M:%S UTC")


def started(*, store: str, run_id: str, what: str, reason: str, deadline: Deadline, dry_run: bool) -> SlackMessage:
    title = "Urgent re-run started" + (" (dry run)" if dry_run else "")
    return notice(title=title, store=store, severity="info", kind="progress",
                  text=f"{what}\n*Reason:* {reason}\nMust land by {_clock(deadline.due_at)} "
                  f"({deadline.minutes:g} min).",
                  fields={"Run": run_id, "Deadline": _clock(deadline.due_at)})


def half_way(*, store: str, run_id: str, done: int, total: int, deadline: Deadline, now: datetime) -> SlackMessage:
    elapsed = deadline.elapsed_minutes(now)
    on_track = deadline.ratio(now) <= 0.5
    verdict = "on track" if on_track else "behind: at this pace it lands after the deadline"
    return notice(title="Urgent re-run half-way", store=store, severity="info" if on_track else "warning",
                  kind="progress",
                  text=f"{done} of {total} changes answered after {elapsed:.1f} of {deadline.minutes:g} min; "
                  f"{verdict}.", fields={"Run": run_id})


def late(*, store: str, run_id: str, done: int, total: int, deadline: Deadline, now: datetime) -> SlackMessage:
    """The run's page (alerts channel); if the run then fails, its failure list replaces this message."""
    message = notice(title="Urgent re-run missed its deadline", store=store, severity="error", kind="alert",
                     text=f"{deadline.minutes:g} min passed at {_clock(deadline.due_at)} with {done} of {total} "
                     f"changes answered ({deadline.elapsed_minutes(now):.1f} min so far); it keeps going.",
                     fields={"Run": run_id}, dedupe_key=page_key(DAG_ID, run_id))
    message.fold = "replace"
    return message


def final(*, store: str, run_id: str, what: str, reason: str, status: str, counts: dict[str, Any],
          deadline: Deadline, now: datetime, mode: str, dry_run: bool, stopped_by: list[str] | None = None
          ) -> SlackMessage:
    """The run's summary (reports channel): on time (info; warning when some products failed), failed or late
    (error), with what stopped a failed run."""
    elapsed = deadline.elapsed_minutes(now)
    was_late = deadline.late(now)
    if dry_run:
        title, severity = f"Urgent dry run done in {elapsed:.1f} min: nothing was written", "info"
    elif was_late:
        title, severity = f"Urgent re-run LATE: {elapsed:.1f} min, deadline {deadline.minutes:g} min", "error"
    elif status == "failed":
        title, severity = f"Urgent re-run FAILED after {elapsed:.1f} min", "error"
    else:
        title = f"Urgent re-run done in {elapsed:.1f} of {deadline.minutes:g} min"
        severity = "info" if status == "success" else "warning"
    lines = [what, f"*Reason:* {reason}", f"*Status:* {status}"]
    if stopped_by:
        lines.append("*What stopped it:* " + "; ".join(f"`{one_line(line)}`" for line in stopped_by[:5]))
    if status in ("partial", "failed") and not dry_run:
        lines.append(f"Retry what is left: trigger mode `retry_failed` with run_id `{run_id}`.")
    if mode == "price_override" and not dry_run and counts.get("confirmed"):
        lines.append(f"Undo: trigger mode `revert` with run_id `{run_id}`.")
    fields = {
        "Products": counts.get("targets", 0),
        "Planned changes": sum(v for k, v in counts.items() if k.startswith("planned_") and k != "planned_unpushable"),
        "Confirmed": counts.get("confirmed", 0),
        "Failed": counts.get("failed", 0),
        "Unpushable": counts.get("unpushable", 0),
        "Skipped": counts.get("skipped", 0),
        "Verified": counts.get("verified", "-"),
        "Guarded (floor/ceiling)": f"{counts.get('guarded_floor', 0)}/{counts.get('guarded_ceiling', 0)}",
        "Run": run_id,
    }
    return notice(title=title, store=store, severity=severity, kind="summary",
                  text="\n".join(lines), fields=fields,
                  dedupe_key=f"urgent-final:{store}:{run_id}")
