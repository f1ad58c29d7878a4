"""Planned changes and the writes that carry them (``changes``, ``api_writes``), and what earlier runs left
unsettled.

Every write to the marketplace is recorded before it is sent (change ``sending`` + an ``api_writes`` row:
:meth:`Changes.begin_write`) and after its answer (``confirmed`` / ``failed`` / ``unknown``, with the call's
record, in one transaction: :meth:`Changes.record_answer`), so a crash or a retry never loses or doubles work: a
retry only sends what is not yet confirmed, and anything left ``sending`` or ``unknown`` is re-read from the
marketplace first (:mod:`aeops.catalog.push` decides; :meth:`Changes.settle_reread` records what it found).

The unsettled queries (:meth:`Changes.unsettled`, :meth:`Changes.oldest_unsynced`, :meth:`Changes.failing_streak`)
say what the daily sync retries without a person, which products fail run after run (escalated) and since when
the oldest unsynced change has waited (freshness).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from aeops.store.models import ApiWrite, Change, ProductState, SyncRun, VerifyResult, utcnow
from aeops.store.repos.base import BULK_ROWS, Repository, chunks, same_job
from aeops.store.repos.product_state import ProductStates
from aeops.store.repos.store_locks import LockToken, check_fence
from aeops.store.status import OPEN, RETRY, VERIFIABLE, ChangeStatus

StateAdvance = Callable[[dict[str, Any], str, dict[str, Any]], dict[str, Any]]
"""A product's confirmed fields after a confirmed change: ``advance(fields, kind, payload)``
(:func:`aeops.catalog.diff.apply_change`)."""


class PlannedLike(Protocol):
    """A change of a plan (:class:`aeops.catalog.diff.PlannedChange` is one)."""

    product_id: int
    kind: str
    payload: dict[str, Any]
    previous: dict[str, Any]


@dataclass(frozen=True)
class UnsettledChange:
    """A change that did not end known good (what the next daily run retries)."""

    sync_run_id: int
    product_id: int
    kind: str
    status: str
    error_code: str | None
    error_message: str | None


@dataclass(frozen=True)
class PushStart:
    """What a batch push starts from: the run's store and artifacts, the batch's changes (product id order), and
    the calls a dead process left ``sending`` that were closed as ``interrupted`` (id, API)."""

    store: str
    artifacts: dict[str, Any]
    changes: list[Change]
    interrupted: list[tuple[int, str]]


def _load(s: Session, change_ids: Iterable[int]) -> list[Change]:
    """The changes (inside ``s``), in product id order."""
    found: list[Change] = []
    for chunk in chunks(list(change_ids)):
        found += s.scalars(select(Change).where(Change.id.in_(chunk)))
    return sorted(found, key=lambda c: (c.product_id, c.id))


def _finish_write(s: Session, write_id: int, outcome: str, detail: str | None = None) -> None:
    """Close an ``api_writes`` row (inside ``s``): answered | lost | error | interrupted."""
    write = s.get(ApiWrite, write_id)
    if write is None:
        raise LookupError(f"api write {write_id} not found")
    write.outcome, write.finished_at, write.detail = outcome, utcnow(), detail


def _confirm(s: Session, change: Change, advance: StateAdvance) -> None:
    """The marketplace has the change: record it and move the confirmed product state forward (inside ``s``).

    ``pushed_at`` keeps the time the request that carried the value was sent (set by :meth:`Changes.begin_write`):
    the platform stamps the write between that moment and its answer, so verification compares the platform's
    last-modified time with it, not with when aeops learned of the write (a lost answer is learned later)."""
    in_review = change.kind == "edit" and "main_image" in ((change.payload or {}).get("fields") or {})
    status = ChangeStatus.IN_REVIEW if in_review else ChangeStatus.CONFIRMED  # a new image: platform review
    change.status, change.pushed_at = str(status), change.pushed_at or utcnow()
    change.error_code, change.error_message = None, None
    if change.kind == "qualification":  # not a field of the sync's diff baseline: never create or change one
        return
    state = s.get(ProductState, (change.store, change.product_id))
    if state is None:
        state = ProductState(store=change.store, product_id=change.product_id, fields={"skus": {}})
        s.add(state)
    state.fields = advance(state.fields or {"skus": {}}, change.kind, change.payload)
    state.confirmed_at = utcnow()


class Changes(Repository):
    """``ledger.changes``: the planned changes of runs, their statuses and the API writes that carry them."""

    # ------------------------------------------------------------------------------------------ plans
    def store_plan(self, sync_run_id: int, store: str, changes: Iterable[PlannedLike],
                   source_at: Mapping[int, datetime] | None = None) -> dict[str, int]:
        """Store the change set; on a retried plan, confirmed/failed changes are kept as they are. ``source_at``:
        product id -> when its export rows changed at their source (kept on the change: freshness counts from it).

        New changes go in with bulk INSERTs and re-planned ones with one bulk UPDATE by primary key (a whole-store
        change set is 100,000 rows: one ORM object each would take most of a minute)."""
        counts: dict[str, int] = {}
        with self._transaction() as s:
            existing = {(pid, kind): (cid, status) for cid, pid, kind, status in s.execute(
                select(Change.id, Change.product_id, Change.kind, Change.status)
                .where(Change.sync_run_id == sync_run_id))}
            new_rows: list[dict[str, Any]] = []
            replanned: list[dict[str, Any]] = []
            now = utcnow()
            for planned in changes:
                counts[planned.kind] = counts.get(planned.kind, 0) + 1
                row = existing.get((planned.product_id, planned.kind))
                if row is None:
                    status = ChangeStatus.UNPUSHABLE if planned.kind == "unpushable" else ChangeStatus.PLANNED
                    new_rows.append({"sync_run_id": sync_run_id, "store": store, "product_id": planned.product_id,
                                     "kind": planned.kind, "payload": planned.payload, "previous": planned.previous,
                                     "status": str(status), "error_code": planned.payload.get("reason"),
                                     "error_message": planned.payload.get("message"), "attempts": 0,
                                     "updated_at": now, "source_at": (source_at or {}).get(planned.product_id)})
                    if len(new_rows) == BULK_ROWS:  # inserted as they fill: a first run's rows are never all held
                        s.execute(insert(Change), new_rows)
                        new_rows = []
                elif row[1] == ChangeStatus.PLANNED:
                    replanned.append({"id": row[0], "payload": planned.payload, "previous": planned.previous,
                                      "updated_at": now})
            if new_rows:
                s.execute(insert(Change), new_rows)
            for i in range(0, len(replanned), BULK_ROWS):
                s.execute(update(Change), replanned[i : i + BULK_ROWS])
        return counts

    def open_ids(self, sync_run_ids: Iterable[int]) -> dict[tuple[int, str], list[int]]:
        """Changes not yet confirmed or failed, grouped by (sync run, kind), in product id order."""
        ids = list(sync_run_ids)
        grouped: dict[tuple[int, str], list[int]] = {}
        if not ids:
            return grouped
        with self._transaction() as s:
            rows = s.execute(select(Change.id, Change.sync_run_id, Change.kind)
                             .where(Change.sync_run_id.in_(ids), Change.status.in_(OPEN))
                             .order_by(Change.sync_run_id, Change.kind, Change.product_id))
            for change_id, run_id, kind in rows:
                grouped.setdefault((run_id, kind), []).append(change_id)
        return grouped

    # ------------------------------------------------------------------------------------------ reads
    def load(self, change_ids: Iterable[int]) -> list[Change]:
        """These changes, in product id order."""
        with self._transaction() as s:
            return _load(s, change_ids)

    def of_run(self, sync_run_id: int) -> list[Change]:
        """The run's changes, in product id order."""
        with self._transaction() as s:
            return list(s.scalars(select(Change).where(Change.sync_run_id == sync_run_id)
                                  .order_by(Change.product_id)))

    def in_status(self, sync_run_id: int, status: ChangeStatus) -> list[Change]:
        """The run's changes in ``status``, in product id order."""
        with self._transaction() as s:
            return list(s.scalars(select(Change).where(Change.sync_run_id == sync_run_id,
                                                       Change.status == str(status)).order_by(Change.product_id)))

    def counts(self, sync_run_id: int) -> dict[str, int]:
        """The run's changes by status."""
        with self._transaction() as s:
            rows = s.execute(select(Change.status, func.count()).where(Change.sync_run_id == sync_run_id)
                             .group_by(Change.status))
            return {status: count for status, count in rows}

    def retry_candidates(self, sync_run_id: int) -> list[Change]:
        """A run's changes that failed or are not known to be good: never answered, failed, failed verification,
        or confirmed for a product whose verification failed; in product id order."""
        with self._transaction() as s:
            unverified = set(s.scalars(select(VerifyResult.product_id).where(
                VerifyResult.sync_run_id == sync_run_id, VerifyResult.passed.is_(False))))
            rows = s.scalars(select(Change).where(Change.sync_run_id == sync_run_id, Change.kind != "unpushable")
                             .order_by(Change.product_id, Change.kind))
            return [c for c in rows if c.status in RETRY
                    or (c.status == ChangeStatus.CONFIRMED and c.product_id in unverified)]

    def verifiable(self, sync_run_id: int) -> list[Any]:
        """The run's changes that reached the marketplace (confirmed, or already verified / failed verification), as
        read-only rows with a ``Change``'s attributes (no ORM objects: a store's first run has 20,000 of them)."""
        with self._transaction() as s:
            return list(s.execute(select(*Change.__table__.columns).where(
                Change.sync_run_id == sync_run_id, Change.status.in_(VERIFIABLE)).order_by(Change.product_id)))

    def any_verifiable(self, sync_run_id: int) -> bool:
        """Whether the run has a change :meth:`verifiable` would return (one row read, no ORM objects)."""
        with self._transaction() as s:
            return s.scalar(select(Change.id).where(Change.sync_run_id == sync_run_id,
                                                    Change.status.in_(VERIFIABLE)).limit(1)) is not None

    def verifiable_products(self, sync_run_id: int) -> set[int]:
        """The products of the run's :meth:`verifiable` changes (their ids only, no ORM objects)."""
        with self._transaction() as s:
            return set(s.scalars(select(Change.product_id).distinct().where(
                Change.sync_run_id == sync_run_id, Change.status.in_(VERIFIABLE))))

    def previously_failed(self, store: str, sync_run_id: int, product_ids: Iterable[int]) -> set[int]:
        """Products of ``product_ids`` that failed a push or a verification in an earlier run of the store."""
        found: set[int] = set()
        with self._transaction() as s:
            for chunk in chunks(list(product_ids)):
                found |= set(s.scalars(select(Change.product_id).where(
                    Change.store == store, Change.sync_run_id != sync_run_id,
                    Change.status.in_((ChangeStatus.FAILED, ChangeStatus.VERIFY_FAILED)),
                    Change.product_id.in_(chunk))))
        return found

    # ---------------------------------------------------------------------------------------- statuses
    def set_status(self, change_ids: Iterable[int], status: ChangeStatus) -> None:
        """Set the status of the changes ``change_ids``."""
        with self._transaction() as s:
            for chunk in chunks(list(change_ids)):
                s.execute(update(Change).where(Change.id.in_(chunk)).values(status=str(status), updated_at=utcnow()))

    def fail(self, change_ids: Iterable[int], code: str, message: str) -> None:
        """The platform refused these changes after the fact (e.g. its review): ``failed`` with its code."""
        with self._transaction() as s:
            for chunk in chunks(list(change_ids)):
                s.execute(update(Change).where(Change.id.in_(chunk)).values(
                    status=str(ChangeStatus.FAILED), error_code=code, error_message=message, updated_at=utcnow()))

    def drop_skus(self, kept: dict[int, list[dict[str, Any]]], code: str, message: str) -> None:
        """Narrow open changes to the SKU items in ``kept`` (change id -> items); a change left with none becomes
        ``rejected`` with ``code`` (planned, never sent, never retried)."""
        with self._transaction() as s:
            for change in _load(s, list(kept)):
                if change.status != ChangeStatus.PLANNED:
                    continue
                items = kept[change.id]
                if items:
                    change.payload = {**(change.payload or {}), "skus": items}
                else:
                    change.status, change.error_code, change.error_message = (str(ChangeStatus.REJECTED), code,
                                                                               message)
                change.updated_at = utcnow()

    def drop_unneeded(self, change_id: int, store: str, read: dict[str, Any]) -> None:
        """A blind write the product turned out not to need (read after the platform refused it): the change goes,
        the product's state becomes what was read."""
        with self._transaction() as s:
            change = s.get(Change, change_id)
            if change is not None:
                s.delete(change)
        ProductStates(self._db).save_seen(store, {change.product_id: (read, None)} if change is not None else {})

    # ------------------------------------------------------------------------------------------ writes
    def record_pushed_image(self, change_id: int, url: str) -> None:
        """Before the edit is sent: the photobank URL it carries becomes part of the change (and, confirmed, the
        product's record of the image aeops pushed)."""
        with self._transaction() as s:
            change = s.get(Change, change_id)
            if change is None:
                raise LookupError(f"change {change_id} not found")
            payload = dict(change.payload or {})
            payload["fields"] = {**(payload.get("fields") or {}), "main_image_url": url, "main_image_pushed_url": url}
            change.payload = payload

    def prepare_push(self, sync_run_id: int, change_ids: list[int]) -> PushStart:
        """The run's store and artifacts and the batch's changes, in one look; calls a dead process left
        ``sending`` for products of the batch are closed as ``interrupted`` on the way (their products are re-read
        next)."""
        with self._transaction() as s:
            run = s.get(SyncRun, sync_run_id)
            if run is None:
                raise LookupError(f"sync run {sync_run_id} not found")
            changes = _load(s, change_ids)
            products = {c.product_id for c in changes if c.status == ChangeStatus.SENDING}
            interrupted: list[tuple[int, str]] = []
            if products:
                for write in s.scalars(select(ApiWrite).where(ApiWrite.sync_run_id == sync_run_id,
                                                              ApiWrite.outcome == "sending")):
                    if products & {int(p) for p in write.product_ids}:
                        _finish_write(s, write.id, "interrupted",
                                      "the pushing process stopped before the answer was recorded; products re-read")
                        interrupted.append((write.id, write.api))
            return PushStart(run.store, dict(run.artifacts or {}), changes, interrupted)

    def begin_write(self, sync_run_id: int, store: str, api: str, batch_key: str, change_ids: list[int],
                    fence: LockToken | None = None) -> int:
        """Before sending: the changes become ``sending`` (``pushed_at`` = now, the time of this request) and the
        call is logged. Returns the api_writes id.

        With ``fence`` (the store lock's token the push holds), the same transaction checks that the lock is still
        the holder's at that generation (:func:`~aeops.store.repos.store_locks.check_fence`, after the writes: on
        SQLite the database's write lock is then held); :class:`~aeops.store.repos.store_locks.LockLost` rolls the
        record back, and nothing is sent."""
        now = utcnow()
        with self._transaction() as s:
            changes = _load(s, change_ids)
            for change in changes:
                change.status, change.attempts, change.batch_key = (str(ChangeStatus.SENDING), change.attempts + 1,
                                                                    batch_key)
                change.pushed_at = now
            write = ApiWrite(sync_run_id=sync_run_id, store=store, api=api, batch_key=batch_key,
                             product_ids=[c.product_id for c in changes])
            s.add(write)
            s.flush()
            if fence is not None:
                check_fence(s, fence)
            return write.id

    def record_error(self, write_id: int, change_ids: list[int], detail: str) -> None:
        """The call raised: nothing is known about what the platform applied. The changes become ``unknown`` (re-read
        before any retry) and the call's record ``error``, in one transaction."""
        with self._transaction() as s:
            for change in _load(s, change_ids):
                change.status = str(ChangeStatus.UNKNOWN)
            _finish_write(s, write_id, "error", detail)

    def record_answer(self, write_id: int, answered: bool, change_ids: list[int], outcomes: Mapping[int, Any],
                      advance: StateAdvance) -> list[Change]:
        """The call's record and every product's outcome, in one transaction; returns the changes as recorded.

        ``outcomes``: product id -> the platform's answer (``status`` ``success`` / ``failed`` with ``error_code``
        and ``error_message``); a product with none, or another status, becomes ``unknown`` (re-read next)."""
        with self._transaction() as s:
            _finish_write(s, write_id, "answered" if answered else "lost")
            changes = _load(s, change_ids)
            confirmed = sorted({c.product_id for c in changes
                                if getattr(outcomes.get(c.product_id), "status", "") == "success"})
            held: list[ProductState] = []  # read in one query per 500; the session holds unchanged rows weakly
            for chunk in chunks(confirmed):
                held += s.scalars(select(ProductState).where(ProductState.store == changes[0].store,
                                                             ProductState.product_id.in_(chunk)))
            for change in changes:
                outcome = outcomes.get(change.product_id)
                status = outcome.status if outcome is not None else "unknown"
                if status == "success":
                    _confirm(s, change, advance)
                elif status == "failed":
                    change.status, change.error_code, change.error_message = (
                        str(ChangeStatus.FAILED), outcome.error_code, outcome.error_message)
                else:
                    change.status = str(ChangeStatus.UNKNOWN)
            return changes

    def settle_reread(self, change_id: int, applied: bool, advance: StateAdvance) -> Change:
        """A re-read of the product settled an uncertain change: ``applied`` -> confirmed (its state moved forward),
        else back to ``planned`` (to be sent again). Returns the change as recorded."""
        with self._transaction() as s:
            row = s.get(Change, change_id)
            if row is None:
                raise LookupError(f"change {change_id} not found")
            if applied:
                _confirm(s, row, advance)
            else:
                row.status = str(ChangeStatus.PLANNED)
            return row

    # -------------------------------------------------------------------------------------- unsettled
    def unsettled(self, store: str, before: int, runs: int = 5) -> dict[tuple[int, str], UnsettledChange]:
        """What the store's last ``runs`` runs (any DAG, skipped ones aside) before run ``before`` left not known good:
        the newest change of each (product, kind) when it failed, was never answered, failed verification, or was
        confirmed for a product whose verification failed. A later good change of the same product and kind (an
        urgent re-run, the next daily run), or a later read of the product that planned nothing of that kind (the
        marketplace already right), settles it. The daily sync retries these without a person."""
        found = self._unsettled(store, SyncRun.id < before, runs)
        return {key: change for key, (change, _since) in found.items() if key[1] != "unpushable"}

    def oldest_unsynced(self, store: str, upto: int, runs: int = 30) -> datetime | None:
        """Since when the oldest change unsynced after run ``upto`` has been so: for the first change of the streak
        in the store's last ``runs`` runs since which that product's change of that kind has been failed,
        unverified, never answered or unpushable (blocked), when its source changed (``source_at``: the export's
        ``updated_at`` or the file's modification time), else the start of its run; None when everything is
        synced."""
        found = self._unsettled(store, SyncRun.id <= upto, runs, blocked=True)
        return min((since for _change, since in found.values()), default=None)

    def _unsettled(self, store: str, window: Any, runs: int, *, blocked: bool = False
                   ) -> dict[tuple[int, str], tuple[UnsettledChange, datetime]]:
        with self._transaction() as s:
            started = dict(s.execute(select(SyncRun.id, SyncRun.started_at).where(
                SyncRun.store == store, window, SyncRun.status.is_distinct_from("skipped"))
                .order_by(SyncRun.id.desc()).limit(runs)).all())
            if not started:
                return {}
            unverified = set(s.execute(select(VerifyResult.sync_run_id, VerifyResult.product_id).where(
                VerifyResult.sync_run_id.in_(list(started)), VerifyResult.passed.is_(False))).all())
            latest: dict[tuple[int, str], tuple[UnsettledChange, datetime, datetime]] = {}
            since: dict[tuple[int, str], datetime] = {}
            for row in s.execute(select(Change.sync_run_id, Change.product_id, Change.kind, Change.status,
                                        Change.error_code, Change.error_message, Change.updated_at,
                                        Change.source_at)
                                 .where(Change.sync_run_id.in_(list(started)),
                                        Change.status != str(ChangeStatus.REJECTED))
                                 .order_by(Change.id)):
                key = (row.product_id, row.kind)
                bad = row.status in RETRY or (blocked and row.status == ChangeStatus.UNPUSHABLE) or (
                    row.status == ChangeStatus.CONFIRMED and (row.sync_run_id, row.product_id) in unverified)
                if bad:
                    since.setdefault(key, min(row.source_at or started[row.sync_run_id], started[row.sync_run_id]))
                    latest[key] = (UnsettledChange(*row[:6]), since[key], row.updated_at)
                else:
                    since.pop(key, None)
                    latest.pop(key, None)
            seen: dict[int, datetime] = {}
            for chunk in chunks(sorted({pid for pid, _kind in latest})):
                seen.update(s.execute(select(ProductState.product_id, ProductState.last_seen_at).where(
                    ProductState.store == store, ProductState.product_id.in_(chunk))).all())
        # read again after the change and nothing of that kind planned since: the marketplace was already right
        return {key: (change, first) for key, (change, first, at) in latest.items()
                if not (seen.get(key[0]) and at and seen[key[0]] > at)}

    def failing_streak(self, store: str, dag_id: str, sync_run_id: int, runs: int = 3) -> dict[int, UnsettledChange]:
        """Products with a failed change in each of the store's last ``runs`` runs of ``dag_id`` up to
        ``sync_run_id`` (skipped runs aside), with the newest failure (the platform's error code and message)."""
        with self._transaction() as s:
            run_ids = list(s.scalars(select(SyncRun.id).where(
                SyncRun.store == store, same_job(SyncRun.dag_id, dag_id), SyncRun.id <= sync_run_id,
                SyncRun.status.is_distinct_from("skipped")).order_by(SyncRun.id.desc()).limit(runs)))
            if len(run_ids) < runs:
                return {}
            failed: dict[int, dict[int, UnsettledChange]] = {run: {} for run in run_ids}
            for row in s.execute(select(Change.sync_run_id, Change.product_id, Change.kind, Change.status,
                                        Change.error_code, Change.error_message)
                                 .where(Change.sync_run_id.in_(run_ids), Change.status == str(ChangeStatus.FAILED))
                                 .order_by(Change.id)):
                failed[row.sync_run_id][row.product_id] = UnsettledChange(*row)
        streak = set.intersection(*(set(products) for products in failed.values()))
        return {pid: failed[run_ids[0]][pid] for pid in sorted(streak)}
