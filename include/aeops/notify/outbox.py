"""The Slack outbox: every message is written to ``slack_outbox`` first, then delivered in order.

Lifecycle of a row (``status``):

- ``pending``: waiting; ``next_attempt_at`` (if set) is the earliest time to try again
  (a 429's ``Retry-After``, or a back-off after 5xx/timeouts/connection errors);
- ``sending``: claimed by one deliverer; ``next_attempt_at`` is the claim's lease. A row left in
  ``sending`` past its lease (the process died mid-call) is tried again: delivery is at least once,
  because Slack's ``chat.postMessage`` has no idempotency key;
- ``sent``: posted; ``slack_ts`` is Slack's message ts and ``payload["_slack"]`` its channel id;
- ``folded``: a duplicate of an earlier alert (same ``dedupe_key`` inside the fold window); the
  first row's ``fold_count`` went up and the first message is edited in place with ``chat.update``
  to show ``(xN)`` — one message per problem, never a new ping for a repeat;
- ``failed``: Slack refused the message itself (``channel_not_found``, ``invalid_blocks``, ...);
  logged, kept for inspection, never retried;
- ``dropped``: a person took it out of the queue (``aeops slack drop ID``); kept for the record.

Pages (``SlackMessage.fold == "replace"``, e.g. one DAG run's failures): the first message of a
``dedupe_key`` is the page (``slack_pages`` maps the key to its row, so two writers never make two); a
later version *replaces* its text and blocks and edits the posted message with ``chat.update``, whatever
time passed (no fold window, no ``(xN)``).

Blocked: Slack refusing the bot token itself (``invalid_auth``, ``not_authed``, ``token_revoked``, ...)
stops delivery like any transient error, so no message is lost, but the head row's ``last_error`` starts
with ``blocked:`` and :func:`aeops.notify.outbox_admin.outbox_health` reports the queue as blocked until a
delivery succeeds.

Order: rows are delivered strictly by id; the first row that cannot be delivered now (Slack down,
rate-limited, still inside its back-off) stops the pass so nothing overtakes it, and the next task or
run calls :func:`deliver_pending` again. A first row that needs a ``chat.update`` (a fold) goes back
to ``pending`` with its ``slack_ts`` set, so the same queue carries edits.

Threads: a row with ``thread_key`` and ``kind="detail"`` replies in the thread of the first
non-detail row with the same ``thread_key`` (the run's summary) and is posted in that row's channel.

Delivery never raises into the pipeline: :func:`aeops.notify.send.send` logs and returns every Slack error; only a
message that cannot be written to the outbox at all fails the task (``OutboxWriteFailed``). The rows' SQL is
:mod:`aeops.store.repos.slack_outbox`'s (``ledger.outbox``).
"""

from __future__ import annotations

import socket
import urllib.error
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aeops.notify.messages import SlackMessage
from aeops.secrets import get_logger, scrub
from aeops.store.ledger import Ledger
from aeops.store.models import SlackOutbox, aware
from aeops.store.repos.slack_outbox import SlackOutboxRows

log = get_logger(__name__)

CLAIM_LEASE = timedelta(minutes=2)
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(minutes=15)
MAX_ROWS_PER_PASS = 500
# Errors that mean Slack refused this message for good; anything else is retried later.
PERMANENT_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text", "invalid_blocks",
    "invalid_blocks_format", "invalid_attachments", "too_many_attachments", "restricted_action",
    "cant_update_message", "message_not_found", "edit_window_closed", "invalid_arguments",
    "thread_not_found", "duplicate_channel_not_found", "invalid_json",
})
# Slack refuses the bot token itself: nothing can be delivered until the connection is fixed (the queue is blocked)
AUTH_ERRORS = frozenset({
    "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive", "org_login_required",
    "ekm_access_denied", "team_access_not_granted",
})
BLOCKED_PREFIX = "blocked: "


class SlackClient(Protocol):
    """The part of ``slack_sdk.WebClient`` the outbox uses (``SlackHook(...).client`` is one)."""

    token: str | None

    def api_call(self, api_method: str, **kwargs: Any) -> Any:
        """Call one Slack Web API method (``slack_sdk.WebClient.api_call``)."""


@dataclass
class DeliveryReport:
    """What one :func:`deliver_pending` pass did."""

    sent: int = 0
    updated: int = 0
    failed: int = 0
    pending: int = 0
    stopped_by: str | None = None  # why the pass stopped early (e.g. "ratelimited", "http 500")
    blocked: str | None = None  # Slack refused the bot token (e.g. "invalid_auth"): nothing goes out until fixed
    errors: list[str] = field(default_factory=list)


def _now(now: datetime | None) -> datetime:
    return aware(now) or datetime.now(UTC)


def _rows(db_url: str) -> SlackOutboxRows:
    """The outbox's rows at ``db_url`` (no schema check here, as ever: its callers bring the schema up to date)."""
    return Ledger(db_url, migrate=False).outbox


def choose_channel(message: SlackMessage, alerts_channel: str, reports_channel: str) -> str:
    """``message.channel`` if set; a run summary goes to reports whatever it says (the run's page, if it failed, is
    the one message in alerts); otherwise alerts for error/warning, reports for info."""
    if message.channel:
        return message.channel
    if message.kind == "summary":
        return reports_channel
    return alerts_channel if message.severity in {"error", "warning"} else reports_channel


def enqueue(
    db_url: str,
    message: SlackMessage,
    *,
    channel: str,
    fold_window_minutes: float = 60.0,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> int:
    """Write ``message`` to the outbox (scrubbed); fold it into an earlier identical alert if any.

    Returns the new row's id. A folded row is stored with ``status="folded"`` for the record and
    the first row's ``fold_count`` is raised (and queued for a ``chat.update`` if already sent).
    """
    now = _now(now)
    payload = scrub(message.payload(), secrets)
    rows = _rows(db_url)
    if message.fold == "replace" and message.dedupe_key:
        return rows.add_page(store=message.store, channel=channel, kind=message.kind,
                             payload={**payload, "_page": True}, dedupe_key=message.dedupe_key,
                             thread_key=message.thread_key, now=now)
    return rows.add(store=message.store, channel=channel, kind=message.kind, payload=payload,
                    dedupe_key=message.dedupe_key, thread_key=message.thread_key,
                    fold_window_minutes=fold_window_minutes, now=now)


def _fold_suffix(text: str, count: int) -> str:
    return f"{text} (x{count})" if count > 1 else text


def _request(row: SlackOutbox, parent: SlackOutbox | None, secrets: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    """The API method and JSON body for a row: a post, a thread reply (``parent``: its thread's summary row) or an
    update of a folded alert.

    The body always reflects ``row.fold_count`` at the time it is built; recording the success queues another
    update if more duplicates folded in while the call was in flight.
    """
    payload = dict(row.payload or {})
    sent = payload.pop("_slack", None) or {}
    page = bool(payload.pop("_page", False))  # a page shows its newest version, never a fold count
    text = str(payload.get("text") or "") if page else _fold_suffix(str(payload.get("text") or ""), row.fold_count)
    blocks = list(payload.get("blocks") or [])
    if row.fold_count > 1 and not page:
        blocks = [*blocks, {"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"Seen {row.fold_count} times (identical alerts folded into this message)"}]}]
    body: dict[str, Any] = {"text": text}
    if blocks:
        body["blocks"] = blocks
    if row.slack_ts:
        body.update(channel=sent.get("channel") or row.channel, ts=row.slack_ts)
        return "chat.update", scrub(body, secrets)
    body.update(channel=row.channel, unfurl_links=False, unfurl_media=False)
    if row.kind == "detail" and row.thread_key:
        if parent is not None and parent.id != row.id and parent.slack_ts:
            body["thread_ts"] = parent.slack_ts
            body["channel"] = (parent.payload or {}).get("_slack", {}).get("channel") or parent.channel
    return "chat.postMessage", scrub(body, secrets)


def _classify(exc: BaseException) -> tuple[bool, str, float | None]:
    """(transient?, one-line reason, retry-after seconds) for an exception from the client."""
    from slack_sdk.errors import SlackApiError  # lazy: a provider's SDK, only when Slack answers

    if isinstance(exc, SlackApiError):
        response = exc.response
        status = getattr(response, "status_code", None)
        error = ""
        try:
            error = str(response.get("error") or "")
        except Exception:  # noqa: BLE001 - a non-JSON body
            error = ""
        if status == 429:
            headers = {k.lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
            raw = headers.get("retry-after")
            if isinstance(raw, list):
                raw = raw[0] if raw else None
            try:
                retry_after = float(raw) if raw is not None else None
            except ValueError:
                retry_after = None
            return True, "ratelimited (429)", retry_after
        if status is not None and status >= 500:
            return True, f"Slack answered HTTP {status}", None
        if error in PERMANENT_ERRORS:
            return False, error, None
        if error in AUTH_ERRORS:
            return True, BLOCKED_PREFIX + error, None
        return True, error or f"Slack answered HTTP {status}", None
    if isinstance(exc, TimeoutError | socket.timeout):
        return True, "timeout", None
    if isinstance(exc, urllib.error.URLError):
        return True, f"connection error: {exc.reason}", None
    if isinstance(exc, ConnectionError | OSError):
        return True, f"connection error: {exc}", None
    return True, f"{type(exc).__name__}: {exc}", None


def _backoff(attempts: int) -> timedelta:
    return min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_MAX)


def deliver_pending(
    db_url: str,
    client: SlackClient,
    *,
    now: datetime | None = None,
    secrets: Iterable[str] = (),
    max_rows: int = MAX_ROWS_PER_PASS,
) -> DeliveryReport:
    """Deliver outbox rows in id order until none is left or one cannot be delivered now.

    ``client`` is a ``slack_sdk.WebClient`` (``SlackHook(...).client``). Transient failures (429 with
    Retry-After, 5xx, timeouts, connection errors) leave the row pending with ``next_attempt_at`` set
    and end the pass; permanent refusals mark the row ``failed`` and the pass continues. Never raises
    for Slack errors. ``now`` is for tests (back-off and Retry-After are compared against it).
    """
    report = DeliveryReport()
    rows = _rows(db_url)
    secrets = tuple(secrets) + ((client.token,) if getattr(client, "token", None) else ())
    for _ in range(max_rows):
        current = _now(now)
        row_id = rows.claim_head(current, CLAIM_LEASE)
        if row_id is None:
            break
        if row_id == "wait":
            report.stopped_by = report.stopped_by or "waiting (back-off, Retry-After or another deliverer)"
            break
        row, parent = rows.for_delivery(row_id)
        method, body = _request(row, parent, secrets)
        shown_count = row.fold_count
        try:
            response = client.api_call(method, json=body)
        except Exception as exc:  # noqa: BLE001 - a Slack failure must never reach the pipeline
            transient, reason, retry_after = _classify(exc)
            rows.record_failure(row_id, reason, transient=transient, retry_after=retry_after, now=current,
                                backoff=_backoff)
            log.warning("Slack outbox: %s of #%s failed (%s)%s", method, row_id, reason,
                        "; will retry" if transient else "; giving up on this message")
            report.errors.append(f"#{row_id} {method}: {reason}")
            if transient:
                report.stopped_by = reason.removeprefix(BLOCKED_PREFIX)
                if reason.startswith(BLOCKED_PREFIX):
                    report.blocked = report.stopped_by
                break
            report.failed += 1
            continue
        rows.record_success(row_id, method, response, current, shown_count, claimed=row.attempts)
        if method == "chat.update":
            report.updated += 1
        else:
            report.sent += 1
    waiting = rows.waiting()
    report.pending = len(waiting)
    if waiting and not report.blocked and (waiting[0].last_error or "").startswith(BLOCKED_PREFIX):
        report.blocked = waiting[0].last_error.removeprefix(BLOCKED_PREFIX)  # still inside its back-off
    if report.blocked:
        log.error("Slack outbox BLOCKED: Slack refused the bot token (%s); %s message(s) wait, none is lost. Fix "
                  "the slack_api_default connection's token, then run 'aeops slack flush'", report.blocked,
                  report.pending)
    elif report.sent or report.updated or report.errors:
        log.info("Slack outbox: %s sent, %s updated, %s failed, %s pending%s", report.sent, report.updated,
                 report.failed, report.pending, f" (stopped: {report.stopped_by})" if report.stopped_by else "")
    return report


def release_backoff(db_url: str) -> int:
    """Clear every pending row's back-off so the next pass tries at once (for an operator or a test)."""
    return _rows(db_url).release_backoff()
