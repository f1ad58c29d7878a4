"""Person tasks: seller-center work aeops cannot do (no Open Platform API), tracked in the aeops DB.

A task is opened once per store and ``key`` (what it is about) and stays ``open`` until it is closed: by
aeops after the storefront shows the result (store settings, logo rotation) or by the person's answer
(tasks whose result no page shows). Every step is an event in ``person_task_events``: opened, updated,
asked, answered, reopened (the storefront still differs after a person said done; the event names what),
closed, failed. Airflow shows the task as a human-in-the-loop request of ``aliexpress_store_settings``
(:mod:`aeops.storefront.settings_steps`); the daily sync opens new-product and image-review tasks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from aeops.secrets import get_logger
from aeops.store.models import PersonTask, PersonTaskEvent, utcnow
from aeops.store.repos.base import Repository

log = get_logger(__name__)

KINDS = ("store_settings", "logo_rotation", "new_product_image", "image_review")
VERIFIED_KINDS = ("store_settings", "logo_rotation")
"""Closed only once the storefront shows the result; the others close on the person's "Done"."""


@dataclass(frozen=True)
class TaskView:
    """A task as plain values (for messages, forms and XComs)."""

    id: int
    store: str
    kind: str
    key: str
    title: str
    detail: dict[str, Any]
    status: str
    rounds: int
    opened_at: datetime

    @classmethod
    def of(cls, row: PersonTask) -> TaskView:
        """The view of a person-task row."""
        return cls(row.id, row.store, row.kind, row.key, row.title, dict(row.detail or {}), row.status, row.rounds,
                   row.opened_at)


def _event(s: Session, task_id: int, event: str, run_id: str | None, actor: str | None = None,
           detail: dict[str, Any] | None = None) -> None:
    s.add(PersonTaskEvent(task_id=task_id, event=event, run_id=run_id, actor=actor, detail=detail or {}))


def _summary(detail: dict[str, Any]) -> dict[str, Any]:
    return {k: detail[k] for k in ("differences",) if k in detail}


class PersonTasks(Repository):
    """``ledger.person_tasks``: the tasks and their history (``person_tasks``, ``person_task_events``)."""

    def open(self, store: str, kind: str, key: str, title: str, detail: dict[str, Any],
             run_id: str | None) -> tuple[TaskView, bool]:
        """Open a task, or refresh the open one with the same store and key. Returns (task, newly opened)."""
        if kind not in KINDS:
            raise ValueError(f"unknown person task kind {kind!r}")
        with self._transaction() as s:
            row = s.scalars(select(PersonTask).where(PersonTask.store == store, PersonTask.key == key,
                                                     PersonTask.status == "open")).first()
            if row is None:
                row = PersonTask(store=store, kind=kind, key=key, title=title, detail=detail, status="open", rounds=0,
                                 opened_at=utcnow(), opened_run_id=run_id)
                s.add(row)
                s.flush()
                _event(s, row.id, "opened", run_id, detail={"title": title, **_summary(detail)})
                log.info("%s: person task %d opened: %s", store, row.id, title)
                return TaskView.of(row), True
            if row.detail != detail or row.title != title:
                row.title, row.detail = title, detail
                _event(s, row.id, "updated", run_id, detail=_summary(detail))
            return TaskView.of(row), False

    def open_tasks(self, store: str, kinds: tuple[str, ...] = KINDS) -> list[TaskView]:
        """The store's open tasks of ``kinds``, oldest first."""
        with self._transaction() as s:
            rows = s.scalars(select(PersonTask).where(PersonTask.store == store, PersonTask.status == "open",
                                                      PersonTask.kind.in_(kinds)).order_by(PersonTask.id))
            return [TaskView.of(r) for r in rows]

    def closed_keys(self, store: str, kind: str) -> set[str]:
        """The keys of the store's closed tasks of ``kind`` (what a person has done or confirmed)."""
        with self._transaction() as s:
            return set(s.scalars(select(PersonTask.key).where(PersonTask.store == store, PersonTask.kind == kind,
                                                              PersonTask.status == "closed")))

    def get(self, task_id: int) -> TaskView | None:
        """The person task ``task_id`` (None: no such task)."""
        with self._transaction() as s:
            row = s.get(PersonTask, task_id)
            return None if row is None else TaskView.of(row)

    def mark_asked(self, task_ids: list[int], run_id: str | None, round_no: int, where: str) -> None:
        """The tasks were put to a person (round ``round_no`` of the run; ``where`` is the form's link)."""
        with self._transaction() as s:
            for row in s.scalars(select(PersonTask).where(PersonTask.id.in_(task_ids))):
                row.rounds += 1
                _event(s, row.id, "asked", run_id, detail={"round": round_no, "link": where})

    def record_answer(self, task_ids: list[int], run_id: str | None, round_no: int, choice: str,
                      actor: str | None, note: str | None = None) -> None:
        """The person's answer (``actor`` None: the wait timed out and the default answer was taken)."""
        event = "answered" if actor else "timed_out"
        with self._transaction() as s:
            for task_id in task_ids:
                _event(s, task_id, event, run_id, actor, {"round": round_no, "choice": choice, "note": note or ""})

    def reopen(self, task_id: int, run_id: str | None, differences: list[str], actor: str | None,
               detail: dict[str, Any] | None = None) -> None:
        """A person said done but the storefront still differs: the task stays open, naming what still differs."""
        with self._transaction() as s:
            row = s.get(PersonTask, task_id)
            if detail is not None:
                row.detail = detail
            row.detail = {**(row.detail or {}), "differences": differences}
            _event(s, task_id, "reopened", run_id, actor, {"differences": differences})

    def close(self, task_id: int, run_id: str | None, actor: str | None, how: str) -> None:
        """Done: ``how`` says what confirmed it (the storefront, or the person's answer)."""
        with self._transaction() as s:
            row = s.get(PersonTask, task_id)
            if row.status != "open":
                return
            row.status, row.closed_at, row.closed_by = "closed", utcnow(), actor
            _event(s, task_id, "closed", run_id, actor, {"confirmed_by": how})
            log.info("%s: person task %d closed (%s)", row.store, task_id, how)

    def note_failure(self, task_id: int, run_id: str | None, why: str) -> None:
        """The run gave up on the task after its rounds (it stays open for the next run)."""
        with self._transaction() as s:
            _event(s, task_id, "failed", run_id, detail={"why": why})

    def history(self, task_id: int) -> list[dict[str, Any]]:
        """The task's events, oldest first, as dicts (event, at, run_id, actor, detail)."""
        with self._transaction() as s:
            rows = s.scalars(select(PersonTaskEvent).where(PersonTaskEvent.task_id == task_id)
                             .order_by(PersonTaskEvent.id))
            return [{"event": r.event, "at": r.at, "run_id": r.run_id, "actor": r.actor,
                     "detail": dict(r.detail or {})} for r in rows]

    def of_store(self, store: str) -> list[TaskView]:
        """Every task of a store, newest first (open and closed)."""
        with self._transaction() as s:
            rows = s.scalars(select(PersonTask).where(PersonTask.store == store).order_by(PersonTask.id.desc()))
            return [TaskView.of(r) for r in rows]
