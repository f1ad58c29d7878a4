"""The Slack outbox's rows (``slack_outbox``) and its pages (``slack_pages``: one row per page key).

What a row's ``status`` means, how folding, pages, threads, back-off and claims behave, and what is sent, is
:mod:`aeops.notify.outbox`'s; here are the statements: queueing (folding a repeat into the first row of its
``dedupe_key`` inside the fold window, a page's later version replacing its row), claiming the head row with a
lease, recording each delivery's result, and what operators and the health page read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, null, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aeops.secrets import get_logger
from aeops.store.models import SlackOutbox, SlackPage
from aeops.store.repos import json_sql
from aeops.store.repos.base import Repository

log = get_logger(__name__)

WAITING = ("pending", "sending")


def _fold_target(s: Session, dedupe_key: str | None, channel: str, window_minutes: float,
                 now: datetime) -> SlackOutbox | None:
    if not dedupe_key or window_minutes <= 0:
        return None
    since = now - timedelta(minutes=window_minutes)
    candidates = s.scalars(
        select(SlackOutbox)
        .where(
            SlackOutbox.dedupe_key == dedupe_key,
            SlackOutbox.channel == channel,
            SlackOutbox.status != "folded",
        )
        .order_by(SlackOutbox.id.desc())
        .limit(5)
    ).all()
    for row in candidates:
        if row.created_at >= since:
            return row
    return None


def _thread_parent(s: Session, thread_key: str) -> SlackOutbox | None:
    return s.scalars(
        select(SlackOutbox)
        .where(SlackOutbox.thread_key == thread_key, SlackOutbox.kind != "detail", SlackOutbox.status != "folded")
        .order_by(SlackOutbox.id)
        .limit(1)
    ).first()


def _fold_into(s: Session, row_id: int, requeue: Any, **values: Any) -> int:
    """Raise row ``row_id``'s ``fold_count`` by one in SQL (two writers folding at once both count) and queue it
    again for a ``chat.update`` where ``requeue`` holds; returns the new count."""
    return int(s.execute(
        update(SlackOutbox).where(SlackOutbox.id == row_id)
        .values(fold_count=SlackOutbox.fold_count + 1,
                status=case((requeue, "pending"), else_=SlackOutbox.status),
                next_attempt_at=case((requeue, null()), else_=SlackOutbox.next_attempt_at), **values)
        .returning(SlackOutbox.fold_count)
        .execution_options(synchronize_session=False)).scalar_one())


class SlackOutboxRows(Repository):
    """``ledger.outbox``: the Slack outbox's rows, delivered strictly in id order."""

    # ------------------------------------------------------------------------------------------- queueing
    def add(self, *, store: str | None, channel: str, kind: str, payload: dict[str, Any], dedupe_key: str | None,
            thread_key: str | None, fold_window_minutes: float, now: datetime) -> int:
        """Queue a message (already scrubbed); returns its row's id. A repeat of a row with the same ``dedupe_key``
        and channel inside the fold window is stored ``folded`` and raises the first row's ``fold_count`` (queued
        again for a ``chat.update`` if it was posted); a thread ``detail`` goes to its summary's channel."""
        with self._transaction() as s:
            first = _fold_target(s, dedupe_key, channel, fold_window_minutes, now)
            if first is not None:
                posted = SlackOutbox.status.in_(("sent", "failed")) & SlackOutbox.slack_ts.is_not(None)
                count = _fold_into(s, first.id, posted)  # posted: needs chat.update
                row = SlackOutbox(
                    store=store, channel=channel, kind=kind, payload=payload, dedupe_key=dedupe_key,
                    thread_key=thread_key, status="folded", created_at=now, last_error=f"folded into #{first.id}",
                )
                s.add(row)
                s.flush()
                log.info("Slack outbox: %s alert folded into #%s (x%s)", kind, first.id, count)
                return row.id
            if kind == "detail" and thread_key:
                parent = _thread_parent(s, thread_key)
                if parent is not None:
                    channel = parent.channel
                else:
                    log.warning("Slack outbox: no summary yet for thread %s; the detail is posted on its own",
                                thread_key)
            row = SlackOutbox(
                store=store, channel=channel, kind=kind, payload=payload, dedupe_key=dedupe_key,
                thread_key=thread_key, status="pending", created_at=now,
            )
            s.add(row)
            s.flush()
            return row.id

    def add_page(self, *, store: str | None, channel: str, kind: str, payload: dict[str, Any], dedupe_key: str,
                 thread_key: str | None, now: datetime) -> int:
        """Queue a version of the page ``dedupe_key``: the first becomes its row; a later one replaces that row's
        payload (edited in Slack) and is stored ``folded`` for the record. Returns the new row's id."""
        for _ in range(2):  # a concurrent first version may win the insert: then update it
            with self._transaction() as s:
                page = s.get(SlackPage, dedupe_key)
                if page is not None:
                    # in one UPDATE: the new version replaces the payload but keeps the channel id a delivery may
                    # be recording this very moment (``_slack``); the count goes up in SQL
                    count = _fold_into(s, page.outbox_id, SlackOutbox.status.in_(("sent", "failed")),
                                       payload=json_sql.replace_keeping(s, SlackOutbox.payload, payload, "_slack"))
                    first_channel = s.scalar(select(SlackOutbox.channel).where(SlackOutbox.id == page.outbox_id))
                    row = SlackOutbox(store=store, channel=first_channel, kind=kind, payload=payload,
                                      dedupe_key=dedupe_key, thread_key=thread_key, status="folded",
                                      created_at=now, last_error=f"new version of page #{page.outbox_id}")
                    s.add(row)
                    s.flush()
                    log.info("Slack outbox: page #%s updated (version %s)", page.outbox_id, count)
                    return row.id
            try:
                with self._transaction() as s:
                    row = SlackOutbox(store=store, channel=channel, kind=kind, payload=payload,
                                      dedupe_key=dedupe_key, thread_key=thread_key, status="pending", created_at=now)
                    s.add(row)
                    s.flush()
                    s.add(SlackPage(dedupe_key=dedupe_key, outbox_id=row.id, created_at=now))
                    s.flush()
                    return row.id
            except IntegrityError:
                continue
        raise RuntimeError(f"Slack outbox: page {dedupe_key} could not be written")

    # ------------------------------------------------------------------------------------------ delivering
    def claim_head(self, now: datetime, lease: timedelta) -> int | str | None:
        """Claim the first undelivered row for ``lease``; its id, ``"wait"`` if it must not be tried now (a back-off,
        a Retry-After, or another deliverer's live claim), None if none is left."""
        with self._transaction() as s:
            head = s.scalars(
                select(SlackOutbox)
                .where(SlackOutbox.status.in_(WAITING))
                .order_by(SlackOutbox.id)
                .limit(1)
            ).first()
            if head is None:
                return None
            not_before = head.next_attempt_at
            if not_before is not None and not_before > now:
                return "wait"
            claimed = s.execute(
                update(SlackOutbox)
                .where(SlackOutbox.id == head.id, SlackOutbox.status == head.status,
                       SlackOutbox.attempts == head.attempts)
                .values(status="sending", attempts=head.attempts + 1, next_attempt_at=now + lease)
                .execution_options(synchronize_session=False)
            )
            return head.id if claimed.rowcount == 1 else "wait"

    def for_delivery(self, row_id: int) -> tuple[SlackOutbox, SlackOutbox | None]:
        """A claimed row, and for a thread ``detail`` the first row of its thread (its summary) if there is one."""
        with self._transaction() as s:
            row = s.get(SlackOutbox, row_id)
            assert row is not None
            parent = _thread_parent(s, row.thread_key) if row.kind == "detail" and row.thread_key else None
            return row, parent

    def record_success(self, row_id: int, method: str, response: Any, now: datetime, shown_count: int,
                       claimed: int | None = None) -> bool:
        """Slack took the call: a post keeps its ``ts`` and channel; a duplicate folded in (or a page's new version)
        while the call was in flight (more than ``shown_count``) queues another update showing it.

        One ``UPDATE`` that reads the row as it is then (the count, the payload: a new page version written
        meanwhile keeps its text, the post keeps its channel id) and checks the claim: ``claimed`` is the row's
        ``attempts`` when this deliverer claimed it. A claim lost meanwhile (its lease ran out and another
        deliverer took the row, or a person dropped it) changes no status; a post still records its ``ts`` and
        channel if the row has none, so the message is edited later, never posted as new again. False then."""
        posted = method == "chat.postMessage"
        with self._transaction() as s:
            where = [SlackOutbox.id == row_id, SlackOutbox.status == "sending"]
            if claimed is not None:
                where.append(SlackOutbox.attempts == claimed)
            values: dict[str, Any] = {
                "status": case((SlackOutbox.fold_count <= shown_count, "sent"), else_="pending"),
                "last_error": None, "next_attempt_at": None}
            if posted:
                values.update(slack_ts=str(response.get("ts")), sent_at=now, payload=json_sql.set_keys(
                    s, SlackOutbox.payload, {"_slack": {"channel": response.get("channel")}}))
            if s.execute(update(SlackOutbox).where(*where).values(**values)
                         .execution_options(synchronize_session=False)).rowcount:
                return True
            if posted:
                s.execute(update(SlackOutbox).where(SlackOutbox.id == row_id, SlackOutbox.slack_ts.is_(None))
                          .values(slack_ts=values["slack_ts"], sent_at=now, payload=values["payload"])
                          .execution_options(synchronize_session=False))
            log.warning("Slack outbox: #%s was no longer claimed by this delivery when Slack answered; its status is "
                        "left to the row's current owner", row_id)
            return False

    def record_failure(self, row_id: int, reason: str, *, transient: bool, retry_after: float | None,
                       now: datetime, backoff: Callable[[int], timedelta]) -> None:
        """Slack did not take the call: a transient failure waits (``retry_after`` seconds, else ``backoff`` of the
        row's attempts) and stays ``pending``; a permanent one is ``failed`` for good."""
        with self._transaction() as s:
            row = s.get(SlackOutbox, row_id)
            assert row is not None
            row.last_error = reason[:1000]
            if transient:
                row.status = "pending"
                wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(row.attempts)
                row.next_attempt_at = now + wait
            else:
                row.status = "failed"
                row.next_attempt_at = None

    def waiting(self) -> list[SlackOutbox]:
        """The rows still to deliver (pending or claimed), in delivery order."""
        with self._transaction() as s:
            return list(s.scalars(select(SlackOutbox).where(SlackOutbox.status.in_(WAITING))
                                  .order_by(SlackOutbox.id)))

    def release_backoff(self) -> int:
        """Clear every pending row's back-off so the next pass tries at once; returns how many."""
        with self._transaction() as s:
            result = s.execute(
                update(SlackOutbox).where(SlackOutbox.status == "pending").values(next_attempt_at=None)
            )
            return result.rowcount or 0

    # ------------------------------------------------------------------------------- operators and pages
    def health(self) -> tuple[int, int, SlackOutbox | None]:
        """(rows waiting, rows Slack refused, the head row waiting) in one look."""
        with self._transaction() as s:
            pending = s.scalar(select(func.count()).select_from(SlackOutbox).where(SlackOutbox.status.in_(WAITING)))
            failed = s.scalar(select(func.count()).select_from(SlackOutbox).where(SlackOutbox.status == "failed"))
            head = s.scalars(select(SlackOutbox).where(SlackOutbox.status.in_(WAITING)).order_by(SlackOutbox.id)
                             .limit(1)).first()
            return int(pending or 0), int(failed or 0), head

    def rows(self, *, include_done: bool = False, limit: int = 200) -> list[SlackOutbox]:
        """The newest ``limit`` rows waiting or refused (with ``include_done``: any), in delivery order."""
        with self._transaction() as s:
            query = select(SlackOutbox)
            if not include_done:
                query = query.where(SlackOutbox.status.in_((*WAITING, "failed")))
            return list(reversed(s.scalars(query.order_by(SlackOutbox.id.desc()).limit(limit)).all()))

    def drop(self, row_id: int, *, note: str, droppable: tuple[str, ...]) -> tuple[SlackOutbox | None, bool]:
        """Take a row in a ``droppable`` status out of the queue for good (it stays, ``dropped``, ``note`` as its
        last error). Returns (the row as it is now or None if there is none, whether it was dropped now)."""
        with self._transaction() as s:
            row = s.get(SlackOutbox, row_id)
            if row is None or row.status not in droppable:
                return row, False
            row.status, row.next_attempt_at, row.last_error = "dropped", None, note
            return row, True

    def of_store(self, store: str) -> tuple[dict[str, int], datetime | None, str | None]:
        """The store's rows by status, since when the oldest waits, and the newest error recorded."""
        with self._transaction() as s:
            by_status = dict(s.execute(select(SlackOutbox.status, func.count()).where(SlackOutbox.store == store)
                                       .group_by(SlackOutbox.status)).all())
            oldest = s.scalar(select(func.min(SlackOutbox.created_at)).where(
                SlackOutbox.store == store, SlackOutbox.status.in_(WAITING)))
            error = s.execute(select(SlackOutbox.last_error, SlackOutbox.created_at).where(
                SlackOutbox.store == store, SlackOutbox.last_error.is_not(None)).order_by(SlackOutbox.id.desc())
                .limit(1)).first()
        return by_status, oldest, error[0] if error else None
