"""The Slack outbox for operators and health pages: its state, its rows, dropping one.

- :func:`outbox_health`: what a health page shows (issue #17 builds the page): pending messages, the oldest,
  whether the queue is **blocked** (Slack refused the bot token: nothing goes out until the connection is
  fixed; no message is lost) and why;
- :func:`list_rows`: the queue (and, on request, what was delivered) for ``aeops slack list``;
- :func:`drop`: take one message out of the queue for good (``aeops slack drop ID``); the row stays, marked
  ``dropped`` with who and when.

Delivering (``aeops slack flush``) is :func:`aeops.notify.send.flush`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aeops.notify.outbox import BLOCKED_PREFIX
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import SlackOutbox, utcnow

log = get_logger(__name__)

DROPPABLE = ("pending", "failed")


@dataclass(frozen=True)
class OutboxHealth:
    """The outbox at a glance. ``blocked``: Slack refuses the bot token, every message waits until it is fixed."""

    pending: int
    failed: int
    oldest_pending_at: datetime | None
    blocked: bool
    reason: str | None  # the head message's last error (e.g. "blocked: invalid_auth", "Slack answered HTTP 500")
    head_id: int | None

    @property
    def ok(self) -> bool:
        """Whether Slack accepts the bot token (nothing blocks the outbox)."""
        return not self.blocked

    def describe(self) -> str:
        """One line for a task log, the CLI or a health page."""
        if self.blocked:
            return (f"Slack outbox BLOCKED: Slack refuses the bot token ({self.reason.removeprefix(BLOCKED_PREFIX)}); "
                    f"{self.pending} message(s) wait since {_clock(self.oldest_pending_at)}, none is lost. Fix the "
                    "slack_api_default connection's token, then run 'aeops slack flush'")
        if self.pending:
            why = f"; last error: {self.reason}" if self.reason else ""
            return f"Slack outbox: {self.pending} message(s) waiting since {_clock(self.oldest_pending_at)}{why}"
        return "Slack outbox: empty" + (f" ({self.failed} refused by Slack, see 'aeops slack list')"
                                        if self.failed else "")

    def to_dict(self) -> dict[str, object]:
        """The health as JSON (``aeops slack list --json``)."""
        return {"pending": self.pending, "failed": self.failed, "blocked": self.blocked, "reason": self.reason,
                "head_id": self.head_id,
                "oldest_pending_at": self.oldest_pending_at.isoformat() if self.oldest_pending_at else None}


def _clock(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC") if when else "-"


def outbox_health(db_url: str) -> OutboxHealth:
    """The outbox's state from the aeops DB alone (no Slack call): cheap enough for every page view."""
    pending, failed, head = Ledger(db_url, migrate=False).outbox.health()
    reason = head.last_error if head is not None else None
    return OutboxHealth(
        pending=pending, failed=failed,
        oldest_pending_at=head.created_at if head is not None else None,
        blocked=bool(reason and reason.startswith(BLOCKED_PREFIX)), reason=reason,
        head_id=head.id if head is not None else None)


@dataclass(frozen=True)
class OutboxRow:
    """One message of the Slack outbox as ``aeops slack list`` shows it."""
    id: int
    status: str
    store: str | None
    channel: str
    kind: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    last_error: str | None
    text: str


def list_rows(db_url: str, *, include_done: bool = False, limit: int = 200) -> list[OutboxRow]:
    """Waiting and refused messages in delivery order (with ``include_done``: the newest sent/folded/dropped too)."""
    return [_row(r) for r in Ledger(db_url, migrate=False).outbox.rows(include_done=include_done, limit=limit)]


def _row(r: SlackOutbox) -> OutboxRow:
    return OutboxRow(r.id, r.status, r.store, r.channel, r.kind, r.attempts, r.created_at,
                     r.next_attempt_at, r.last_error, str((r.payload or {}).get("text") or ""))


class NotDroppable(ValueError):
    """The row does not exist or was already delivered/dropped (the message says which)."""


def drop(db_url: str, row_id: int, *, by: str, reason: str | None = None) -> OutboxRow:
    """Take a waiting (or refused) message out of the queue for good; the row stays, marked ``dropped``."""
    note = f"dropped by {by} at {utcnow():%Y-%m-%d %H:%M UTC}" + (f": {reason}" if reason else "")
    row, dropped = Ledger(db_url, migrate=False).outbox.drop(row_id, note=note, droppable=DROPPABLE)
    if row is None:
        raise NotDroppable(f"no outbox message #{row_id}")
    if not dropped:
        raise NotDroppable(f"message #{row_id} is {row.status}; only pending or failed messages can be dropped")
    log.warning("Slack outbox: #%s dropped by %s", row_id, by)
    return _row(row)
