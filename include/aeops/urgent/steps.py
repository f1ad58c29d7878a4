"""The urgent re-run's steps, one function per task of DAG ``aliexpress_urgent_rerun``.

``start`` checks the request and records it (audit: ``sync_runs.message`` and a ``requested`` milestone with
every parameter) and posts "started"; ``take_lock`` takes the store's write lock with priority (held until
``release_lock``); ``plan`` stores the mode's change set; the pushing, verification and report re-use the daily
sync's steps (:mod:`aeops.sync.pushing` ``collect_chunks`` and ``push_chunk``, :mod:`aeops.sync.finish`);
``report`` posts the final summary against the deadline and fails the run when it was missed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aeops.catalog import lock
from aeops.catalog.context import client_for, context
from aeops.config import AeopsConfig, ConfigError, load_airflow_config
from aeops.marketplace.interface import MarketplaceClient
from aeops.notify import pages
from aeops.notify.links import report_url as url
from aeops.notify.send import send
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.sync import finish as daily_finish
from aeops.sync import pushing
from aeops.sync.preflight import preflight
from aeops.urgent import change_sets, progress
from aeops.urgent.approval import decision_of
from aeops.urgent.request import RequestError, parse_request, planned_times, recorded_request

log = get_logger(__name__)

DAG_ID = "aliexpress_urgent_rerun"
POOL_SLOTS = 8  # the aliexpress_urgent pool's slots: push chunks are sized so every slot has work
MAX_CHUNK_BATCHES = 50
LOCK_WAIT_SHARE = 0.25  # of the deadline, spent at most waiting for a daily sync's push to step aside


class DeadlineMissed(RuntimeError):
    """The run finished after its deadline (the alert has been posted)."""


def report_url(store: str, dag_id: str, run_id: str) -> str:
    """The link to an urgent run's report."""
    return url(store, dag_id, run_id)


class RunFailed(RuntimeError):
    """The run's work failed (the summary with the reason has been posted); the message says what stopped it."""


def _send(ctx, message) -> None:
    send(message, store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)




def _run(store: str, run_id: str, config: AeopsConfig | None):
    """The store's context and this run's record (None, None for a store the request did not get past)."""
    try:
        ctx = context(store, config)
    except ConfigError:
        return None, None
    run = ctx.ledger.runs.find(store, run_id, DAG_ID)
    return ctx, run


# ---------------------------------------------------------------------------------------------- steps
def start(params: dict[str, Any], run_id: str, *, triggered_at: datetime | None = None,
          config: AeopsConfig | None = None) -> dict[str, Any]:
    """Check the request, record it with its reason and deadline, post "started". RequestError when unusable."""
    cfg = config or load_airflow_config()
    Ledger(cfg.resolved_database_url())  # the schema up to date: even a refused request's alert reaches the outbox
    request = parse_request(params, [s.name for s in cfg.stores])
    ctx = context(request.store, cfg)
    sync_run_id = ctx.ledger.runs.start(request.store, DAG_ID, run_id, kind="urgent")
    run = ctx.ledger.runs.get(sync_run_id)
    recorded = (run.artifacts or {}).get("deadline")
    starts_at, ends_at = planned_times(request, ctx.store.timezone)
    # the clock runs from the trigger, approval included; a planned override's from its start time
    deadline = (progress.Deadline.from_dict(recorded) if recorded
                else progress.Deadline((starts_at.astimezone(UTC) if starts_at else None) or triggered_at
                                       or datetime.now(UTC), request.deadline_minutes))
    ctx.ledger.runs.update(sync_run_id, status="running",
                      message=f"urgent {request.describe()}; reason: {request.reason}",
                      artifacts={"request": request.audit(), "deadline": deadline.to_dict()})
    if ctx.ledger.runs.add_milestone(sync_run_id, "requested", {**request.audit(), **deadline.to_dict()}):
        _send(ctx, progress.started(store=request.store, run_id=run_id, what=request.describe(ctx.store.language),
                                    reason=request.reason, deadline=deadline, dry_run=request.dry_run,
                                    lang=ctx.store.language, timezone=ctx.store.timezone,
                                    planned=starts_at is not None, ends_at=ends_at))
    log.info("%s: urgent %s; reason: %s; due %s", request.store, request.describe(), request.reason,
             deadline.due_at.isoformat())
    return {"store": request.store, "sync_run_id": sync_run_id, "due_at": deadline.due_at.isoformat()}


def take_lock(store: str, run_id: str, *, task: str = "take_lock", poke_s: float = 5.0,
              config: AeopsConfig | None = None) -> bool:
    """One try for the store's write lock for this run, with priority over a daily sync's push; True when held.

    The DAG pokes this from a reschedule-mode sensor: False (busy) holds no worker slot, and the priority mark
    keeps the store reserved between pokes. StoreBusy once a quarter of the deadline (at least 30 s) has passed
    waiting. Released by :func:`release_lock`; expires by itself twice the deadline later."""
    ctx, run = _run(store, run_id, config)
    if run is None:
        raise RequestError(f"{store}: run {run_id} was not started")
    minutes = recorded_request(run).deadline_minutes
    holder = lock.run_holder(run.id)
    if not lock.poke(ctx.ledger, store, holder, task=f"{task} ({DAG_ID} {run_id})", ttl_s=minutes * 120,
                     priority=True, max_wait_s=max(30.0, minutes * 60 * LOCK_WAIT_SHARE), poke_s=poke_s):
        return False
    ctx.ledger.runs.add_milestone(run.id, "locked", {"holder": holder})
    log.info("%s: write lock taken by %s", store, holder)
    return True


def plan(store: str, run_id: str, *, client: MarketplaceClient | None = None,
         config: AeopsConfig | None = None) -> dict[str, int]:
    """Preflight, then the mode's change set stored for the push (the daily sync's push picks it up as is)."""

    ctx, run = _run(store, run_id, config)
    if run is None:
        raise RequestError(f"{store}: run {run_id} was not started")
    request = recorded_request(run)
    client = client or client_for(ctx)
    preflight(store, client=client, config=ctx.config, sync_run_id=run.id)
    if request.mode == "retry_failed":
        outcome = change_sets.plan_retry(ctx, client, request)
    elif request.mode == "skus":
        outcome = change_sets.plan_skus(ctx, client, request, run.id)
    elif request.mode == "price_override":
        outcome = change_sets.plan_price_override(ctx, client, request)
    else:
        outcome = change_sets.plan_revert(ctx, client, request)
    planned = ctx.ledger.changes.store_plan(run.id, store, outcome.changes)
    counts = {"rows": outcome.counts.get("rows", outcome.targets),
              "valid_rows": outcome.counts.get("valid_rows", outcome.targets), "targets": outcome.targets,
              "skipped": 0, **outcome.counts, **{"planned_" + k: v for k, v in planned.items()},
              "changed_products": len({c.product_id for c in outcome.changes})}
    artifacts = {"skipped": outcome.skipped, "source_run_id": outcome.source_run_id}  # merged by key
    ctx.ledger.runs.update(run.id, counts=counts, artifacts=artifacts)
    log.info("%s: %s: %d product(s) considered, change set %s, %d skipped%s", store, request.mode,
             outcome.targets, planned or "empty", counts["skipped"],
             " (dry run: nothing will be written)" if request.dry_run else "")
    for item in outcome.skipped[:10]:
        log.info("%s: skipped %s: %s", store, item["what"], item["why"])
    deadline = progress.Deadline.from_dict(run.artifacts["deadline"])
    if deadline.triggered_at > datetime.now(UTC):  # a planned override: the store is not held until its start
        lock.release_all(ctx.ledger, store, lock.run_holder(run.id))
        ctx.ledger.runs.add_milestone(run.id, "waiting-for-start", {"starts_at": deadline.triggered_at.isoformat()})
        log.info("%s: planned override: write lock released until the start at %s", store,
                 deadline.triggered_at.isoformat())
    return counts


def start_time(store: str, run_id: str, *, config: AeopsConfig | None = None) -> str:
    """When the push may begin (UTC, ISO): a planned override's start time, else the trigger (already past); a
    dry run does not wait (it writes nothing)."""
    ctx, run = _run(store, run_id, config)
    if run is None:
        raise RequestError(f"{store}: run {run_id} was not started")
    if recorded_request(run).dry_run:
        return datetime.now(UTC).isoformat()
    return progress.Deadline.from_dict(run.artifacts["deadline"]).triggered_at.isoformat()


def relock(store: str, run_id: str, *, poke_s: float = 5.0, config: AeopsConfig | None = None) -> bool:
    """After the start time: the store's write lock again for a planned override (released while it waited; one
    try, the DAG pokes this from a reschedule-mode sensor), at once for any other run (it still holds it).
    Raises a skip when the override was rejected or not answered in time (nothing is pushed)."""

    ctx, run = _run(store, run_id, config)
    if run is None:
        raise RequestError(f"{store}: run {run_id} was not started")
    decision = decision_of(ctx.ledger, run.id)
    if decision and decision["decision"] != "approved":
        raise NotApproved(f"{store}: the override was {decision['decision']}: nothing is pushed")
    if "waiting-for-start" not in ctx.ledger.runs.milestones(run.id):
        return True
    if not take_lock(store, run_id, task="relock", poke_s=poke_s, config=ctx.config):
        return False
    if ctx.ledger.runs.add_milestone(run.id, "started-at-start", {"at": datetime.now(UTC).isoformat()}):
        log.info("%s: planned override starts now (its clock runs from %s)", store,
                 run.artifacts["deadline"]["triggered_at"])
    return True


def end_time(store: str, run_id: str, *, config: AeopsConfig | None = None) -> str | None:
    """A planned override's end (UTC, ISO) when its prices are to revert then: it has an end time, was not a dry
    run, was not rejected and wrote prices. None otherwise (nothing to revert)."""

    ctx, run = _run(store, run_id, config)
    if run is None:
        return None
    request = recorded_request(run)
    _start, ends_at = planned_times(request, ctx.store.timezone)
    decision = decision_of(ctx.ledger, run.id)
    if ends_at is None or request.dry_run or (decision and decision["decision"] != "approved"):
        return None
    counts = ctx.ledger.changes.counts(run.id)
    if not any(counts.get(status) for status in ("confirmed", "verified", "verify_failed")):
        return None
    return ends_at.astimezone(UTC).isoformat()


class NotApproved(RuntimeError):
    """The override was rejected or not answered in time: the push is skipped."""


def chunk_batches(counts: dict[str, int], slots: int = POOL_SLOTS) -> int:
    """Batches per push task so the pool's slots all get work: about two chunks per slot, 1..50 batches."""
    batches = (math.ceil(counts.get("planned_price", 0) / 20) + math.ceil(counts.get("planned_inventory", 0) / 20)
               + counts.get("planned_edit", 0))
    return max(1, min(MAX_CHUNK_BATCHES, math.ceil(batches / (2 * slots))))


def collect_chunks(store: str, run_id: str, *, dry_run: bool, config: AeopsConfig | None = None) -> list[dict]:
    """The push's chunks; NotApproved when a person rejected the override (or did not answer in time)."""
    ctx, run = _run(store, run_id, config)
    if run is None:
        return []
    decision = decision_of(ctx.ledger, run.id)
    if decision and decision["decision"] != "approved":
        raise NotApproved(f"{store}: the override was {decision['decision']}: nothing is pushed")
    return pushing.collect_chunks(DAG_ID, run_id, dry_run=dry_run, config=ctx.config,
                                   chunk_batches=chunk_batches(run.counts or {}))


def push_chunk(chunk: dict[str, Any], run_id: str, *, client: MarketplaceClient | None = None,
               config: AeopsConfig | None = None) -> dict:
    """The daily sync's push of one chunk, under this run's store lock; then the half-way / late milestones."""
    ctx = context(chunk["store"], config)
    holder = lock.run_holder(chunk["sync_run_id"])
    with lock.store_lock(ctx.ledger, chunk["store"], holder, ttl=lock.DEFAULT_TTL_S, priority=True):
        totals = pushing.push_chunk(chunk, client=client, config=ctx.config)
    note_progress(ctx, chunk["sync_run_id"], run_id)
    return totals


def note_progress(ctx, sync_run_id: int, run_id: str, now: datetime | None = None) -> None:
    """Post "half-way" once half the changes are answered and "late" once the deadline has passed."""
    now = now or datetime.now(UTC)
    run = ctx.ledger.runs.get(sync_run_id)
    deadline = progress.Deadline.from_dict(run.artifacts["deadline"])
    done, total = progress.work_done(ctx.ledger.changes.counts(sync_run_id))
    if total and done * 2 >= total and ctx.ledger.runs.add_milestone(sync_run_id, "half-way",
                                                            {"done": done, "total": total}):
        _send(ctx, progress.half_way(store=ctx.store.name, run_id=run_id, done=done, total=total,
                                     deadline=deadline, now=now, lang=ctx.store.language))
    if deadline.late(now) and done < total and ctx.ledger.runs.add_milestone(sync_run_id, "late",
                                                                    {"done": done, "total": total}):
        _send(ctx, progress.late(store=ctx.store.name, run_id=run_id, done=done, total=total, deadline=deadline,
                                 now=now, lang=ctx.store.language, timezone=ctx.store.timezone))


def finish(store: str, run_id: str, *, dry_run: bool, client: MarketplaceClient | None = None,
           config: AeopsConfig | None = None) -> dict:
    """The daily sync's finish for this run: verification, report, status and summary."""

    ctx, run = _run(store, run_id, config)
    if run is None:
        return {"store": store, "status": "failed"}
    decision = decision_of(ctx.ledger, run.id)
    if decision and decision["decision"] != "approved":
        log.info("%s: the override was %s: nothing was written", store, decision["decision"])
        ctx.ledger.runs.update(run.id, status="rejected", finished_at=datetime.now(UTC))
        return {"store": store, "status": "rejected", "decision": decision}
    return daily_finish.finish(store, DAG_ID, run_id, dry_run=dry_run, client=client, config=config)


def report(store: str, run_id: str, *, now: datetime | None = None, config: AeopsConfig | None = None,
           failed_tasks: Sequence[str] = ()) -> dict:
    """The final summary against the deadline, then the run's verdict: DeadlineMissed when it was late, RunFailed
    (saying what stopped it) when its work failed (``failed_tasks``: Airflow's record of this run)."""

    ctx, run = _run(store, run_id, config)
    if run is None:
        cfg = config or load_airflow_config()
        reason = pages.verdict(cfg.resolved_database_url(), DAG_ID, run_id, failed_tasks)
        if reason:
            raise RunFailed(f"urgent run did not start: {reason}")
        return {"store": store, "status": "not started"}

    now = now or datetime.now(UTC)
    request = recorded_request(run)
    decision = decision_of(ctx.ledger, run.id)
    if decision and decision["decision"] != "approved":
        summary = {"store": store, "status": "rejected", "decision": decision, "counts": run.counts}
        if ctx.ledger.runs.add_milestone(run.id, "done", summary):
            _send(ctx, progress.not_approved(store=store, run_id=run_id, what=request.describe(ctx.store.language),
                                             reason=request.reason, decision=decision, counts=run.counts or {},
                                             lang=ctx.store.language))
        return summary
    deadline = progress.Deadline.from_dict(run.artifacts["deadline"])
    status = run.status if run.status != "running" else "failed"
    was_late = deadline.late(now) and not request.dry_run
    stopped_by = pages.reasons(ctx.db_url, DAG_ID, run_id, store)
    summary = {"store": store, "status": status, "counts": run.counts, "elapsed_minutes":
               round(deadline.elapsed_minutes(now), 2), "deadline_minutes": deadline.minutes, "late": was_late,
               "stopped_by": stopped_by, "clock_from": deadline.triggered_at.isoformat(),
               "approval_at": (decision or {}).get("at"),
               "approval_into_deadline_seconds": (decision or {}).get("into_deadline_seconds")}
    if ctx.ledger.runs.add_milestone(run.id, "late-final" if was_late else "done", summary):
        _send(ctx, progress.final(store=store, run_id=run_id, what=request.describe(ctx.store.language),
                                  reason=request.reason, status=status, counts=run.counts or {}, deadline=deadline,
                                  now=now, mode=request.mode, dry_run=request.dry_run, lang=ctx.store.language,
                                  report_link=report_url(store, DAG_ID, run_id) if run.report_path else None,
                                  stopped_by=stopped_by, approval=progress.approval_line(
                                      decision, deadline, ctx.store.language, ctx.store.timezone)))
    if run.status == "running":
        ctx.ledger.runs.update(run.id, status="failed", finished_at=now)
    if was_late:
        raise DeadlineMissed(f"{store}: urgent run took {deadline.elapsed_minutes(now):.1f} min, "
                             f"deadline {deadline.minutes:g} min ({status})")
    reason = pages.verdict(ctx.db_url, DAG_ID, run_id, failed_tasks,
                           [f"{store}: the urgent run {status}"] if status == "failed" else [])
    if reason:
        raise RunFailed(reason)
    return summary


def release_lock(store: str, run_id: str, *, config: AeopsConfig | None = None) -> bool:
    """Free the store (teardown: runs whatever happened before)."""
    ctx, run = _run(store, run_id, config)
    if run is None:
        return False
    released = lock.release_all(ctx.ledger, store, lock.run_holder(run.id))
    log.info("%s: write lock %s", store, "released" if released else "was not held")
    return released
