"""Urgent re-run, triggered by hand (UI trigger form, CLI or REST API), landing inside its deadline (15 min).

Modes: ``retry_failed`` (what failed or is unverified in a run), ``skus`` (re-sync SKUs from the newest
export), ``price_override`` (absolute prices from a file, or a percentage for the store, a category or SKUs,
with floor/ceiling guards, rounded to the cent) and ``revert`` (restore the prices an override replaced).

start -> take_lock (setup: a reschedule-mode sensor taking the store's write lock, with priority over the daily
sync, holding no worker slot while it waits) -> plan -> approve (a risky override waits for a person: more than
100 SKUs or a price moving more than 30%; the wait is outside the deadline; rejected or unanswered: nothing is
written) -> push chunks (the daily sync's push, in the ``aliexpress_urgent`` pool, high priority) -> verify (the
daily sync's storefront verification, a reschedule-mode sensor) -> finish (re-push once / report, Slack summary)
-> report (final Slack summary against the deadline; a missed deadline or failed work fails the run, saying why)
-> release_lock (teardown).
Logic: ``aeops.urgent`` (and the daily sync's ``aeops.sync`` steps for push, verification and the report).
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.sdk import Param, dag, setup, task, teardown

from aeops.dag_defaults import (
    URGENT_MAX_DEADLINE_MINUTES,
    URGENT_RUN_TIMEOUT,
    URGENT_TASK_TIMEOUT,
    default_args,
    failed_tasks,
)
from aeops.hitl import OverrideApprovalOperator
from aeops.notify.callbacks import on_failure_callback

URGENT_POOL = os.environ.get("AEOPS_URGENT_POOL", "aliexpress_urgent")
# Urgent runs poll the storefront sooner than the daily sync (reschedule mode: no slot held between pokes).
VERIFY_POKE_SECONDS = float(os.environ.get("AEOPS_URGENT_VERIFY_POKE_SECONDS", "10"))
LOCK_POKE_SECONDS = float(os.environ.get("AEOPS_URGENT_LOCK_POKE_SECONDS", "5"))
PRIORITY = 100  # ahead of the daily sync's tasks (priority weight 1) whenever both wait for a worker

MODES = {
    "retry_failed": "Retry what failed or is unverified in a run",
    "skus": "Re-sync listed SKUs from the latest export",
    "price_override": "Price override (file or percentage)",
    "revert": "Revert a price override run",
}


@dag(
    dag_id="aliexpress_urgent_rerun",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    dagrun_timeout=URGENT_RUN_TIMEOUT,
    tags=["aeops", "catalog", "urgent", "manual"],
    doc_md=__doc__,
    default_args=default_args(store="{{ params.store }}", retry_delay=timedelta(seconds=10),
                              priority_weight=PRIORITY, weight_rule="absolute", execution_timeout=URGENT_TASK_TIMEOUT),
    on_failure_callback=on_failure_callback(store="{{ params.store }}"),
    params={
        # store and reason are required, but checked by the first task: a Param without a valid default breaks
        # Airflow 3.3's DAG-level failure callback (it validates the defaults, not the run's conf).
        "store": Param("", type="string", maxLength=100, title="Store (required)",
                       description="Name of the store as configured in the aeops_config Variable (e.g. demo); "
                       "an empty or unknown name fails at once with the list of configured stores"),
        "mode": Param("retry_failed", type="string", enum=list(MODES), values_display=MODES, title="Mode",
                      description="What to do now"),
        "reason": Param("", type="string", maxLength=500, title="Reason (required)",
                        description="Why this run is urgent, at least 10 characters: kept in the audit log "
                        "(sync_runs.message and the run's 'requested' milestone) and posted to Slack"),
        "deadline_minutes": Param(15, type="integer", minimum=1, maximum=URGENT_MAX_DEADLINE_MINUTES,
                                  title="Deadline (minutes)",
                                  description="The run must land within this many minutes of being triggered; "
                                  "missing it alerts Slack and fails the run"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Plan and report what would change; write nothing"),
        "run_id": Param(None, type=["null", "string"], title="Run id", section="Retry failed / Revert",
                        description="retry_failed: the run whose failures to retry (empty: the store's latest "
                        "daily sync). revert: the Airflow run id of the price_override run to undo (required)"),
        "skus": Param([], type="array", items={"type": "string"}, title="SKU codes", section="SKUs",
                      description="mode skus: the SKU codes to re-sync from the newest export; price_override "
                      "with scope skus: the SKUs to reprice"),
        "price_file": Param(None, type=["null", "string"], title="Price file", section="Price override",
                            description="Absolute prices: path or file:// URL of a CSV/XLSX with columns sku_code, "
                            "price[, discount_price][, product_id]. Leave empty to use a percentage"),
        "percent": Param(None, type=["null", "number"], exclusiveMinimum=-100, maximum=1000,
                         title="Percent change", section="Price override",
                         description="Change every chosen price (and discount price) by this percentage, e.g. -20 "
                         "for 20% off; rounded to the cent"),
        "scope": Param("store", type="string", enum=["store", "category", "skus"],
                       values_display={"store": "Whole store", "category": "One category", "skus": "The SKU list"},
                       title="Percent applies to", section="Price override",
                       description="Which products the percentage changes"),
        "category": Param(None, type=["null", "string"], title="Category", section="Price override",
                          description="scope category: the category as in the export's category column"),
        "floor_price": Param(None, type=["null", "number"], exclusiveMinimum=0, title="Floor price",
                             section="Price override",
                             description="No new price goes below this; lower ones are set to it (and counted)"),
        "hold_until": Param(None, type=["null", "string"], title="Hold until", section="Price override",
                            description="The override's prices stay in force against the daily sync until this "
                            "time (store time, e.g. 2026-12-01T23:59); empty: until the override is reverted"),
        "ceiling_price": Param(None, type=["null", "number"], exclusiveMinimum=0, title="Ceiling price",
                               section="Price override",
                               description="No new price goes above this; higher ones are set to it (and counted)"),
    },
)
def aliexpress_urgent_rerun():
    @task(retries=0)
    def start(params=None, run_id=None, dag_run=None) -> str:
        from airflow.sdk.exceptions import AirflowFailException

        from aeops.urgent import steps
        from aeops.urgent.request import RequestError

        triggered = getattr(dag_run, "queued_at", None) or getattr(dag_run, "start_date", None)
        try:
            return steps.start(dict(params), run_id, triggered_at=triggered)["store"]
        except RequestError as exc:
            raise AirflowFailException(str(exc)) from None

    @setup
    @task.sensor(mode="reschedule", poke_interval=LOCK_POKE_SECONDS, timeout=URGENT_TASK_TIMEOUT.total_seconds(),
                 retries=0)
    def take_lock(store: str, run_id=None) -> bool:
        """The store's write lock: while a daily push holds it, wait without a worker slot (StoreBusy after a
        quarter of the deadline)."""
        from aeops.urgent import steps

        return steps.take_lock(store, run_id, poke_s=LOCK_POKE_SECONDS)

    @task(pool=URGENT_POOL)
    def plan(store: str, run_id=None) -> None:
        from airflow.sdk.exceptions import AirflowFailException

        from aeops.urgent import steps
        from aeops.urgent.request import RequestError

        try:
            steps.plan(store, run_id)
        except RequestError as exc:
            raise AirflowFailException(str(exc)) from None

    # none_failed: runs when `approve` was skipped (no approval needed); a Reject skips it explicitly
    @task(trigger_rule="none_failed")
    def collect_chunks(store: str, params=None, run_id=None) -> list[dict]:
        from aeops.urgent import steps

        return steps.collect_chunks(store, run_id, dry_run=params["dry_run"])

    @task(pool=URGENT_POOL, max_active_tis_per_dagrun=8)
    def push_chunk(chunk: dict, run_id=None) -> dict:
        from aeops.urgent import steps

        return steps.push_chunk(chunk, run_id)

    @task.sensor(mode="reschedule", poke_interval=VERIFY_POKE_SECONDS, exponential_backoff=True,
                 max_wait=timedelta(seconds=60), timeout=timedelta(hours=1).total_seconds(), pool=URGENT_POOL,
                 trigger_rule="all_done")
    def verify(params=None, run_id=None, dag=None) -> bool:
        """The daily sync's verification (storefront, every device and site), polled without holding a slot."""
        from aeops.config import ConfigError
        from aeops.verify import runner

        try:
            return runner.poke(params["store"], dag.dag_id, run_id, dry_run=params["dry_run"]).done
        except ConfigError:  # an unknown store: `start` has already failed the run and said why
            return True

    @task(trigger_rule="all_done")
    def finish(params=None, run_id=None) -> None:
        from aeops.urgent import steps

        steps.finish(params["store"], run_id, dry_run=params["dry_run"])

    @task(trigger_rule="all_done", retries=0)
    def report(params=None, run_id=None, ti=None) -> dict:
        """The final summary, then the run's verdict: fails (saying why) when the work failed or was late."""
        from aeops.urgent import steps

        return steps.report(params["store"], run_id, failed_tasks=failed_tasks(ti))

    @teardown
    @task
    def release_lock(params=None, run_id=None) -> None:
        from aeops.urgent import steps

        steps.release_lock(params["store"], run_id)

    store = start()
    locked = take_lock(store)
    planned = plan(store)
    # A risky override (not a dry run; more than urgent_approval_skus SKUs or a price moving more than
    # urgent_approval_percent) waits here for a person; the wait is not counted in the deadline.
    approve = OverrideApprovalOperator(task_id="approve", retries=0)
    chunks = collect_chunks(store)
    pushed = push_chunk.expand(chunk=chunks)
    verified = verify()
    finished = finish()
    reported = report()
    released = release_lock()
    locked >> planned >> approve >> chunks
    pushed >> verified >> finished >> reported >> released
    locked >> released


aliexpress_urgent_rerun()
