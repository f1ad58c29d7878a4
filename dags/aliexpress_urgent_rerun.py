"""### Urgent re-run

**What it does.** Lands a change on one store inside a deadline (15 minutes by default), ahead of the daily sync.
Modes:

- `retry_failed`: what failed or is unverified in a run;
- `skus`: re-sync the listed SKUs from the newest export;
- `price_override`: absolute prices from a file, or a percentage for the store, a category or SKUs, with
  floor/ceiling guards, rounded to the cent;
- `revert`: restore the prices an override replaced.

It takes the store's write lock (the daily sync waits), plans, asks a person first for a risky override (more
than 100 SKUs, or a price moving more than 30%; the wait counts in the deadline, which runs from the trigger),
pushes and verifies on the storefront like the daily sync, then releases the lock.

A **planned** override (`start_at`, optional `end_at`) is planned and approved ahead; the store's lock is given
back while it waits (deferred: no worker slot) for its start time, when it pushes on its own, its clock running
from the start time; at `end_at` it triggers a `revert` run of itself.

**When it runs.** Only when triggered: the UI's trigger form, `airflow dags trigger -c`, or the REST API.

**What you see.** Slack when the run starts, half-way, late and done; an approval form under Required Actions
for a risky override (rejected or unanswered: nothing is written); the run report. A missed deadline or failed
work fails the run, saying why.

**Where the logic lives.** `aeops.urgent` (the form's Params in `aeops.urgent.form`, one function per task in
`aeops.urgent.steps`), the daily sync's push and verification; docs/urgent.md.
"""

from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import dag, setup, task, teardown

from aeops.dag_defaults import (
    PLANNED_WAIT,
    URGENT_POOL,
    URGENT_RUN_TIMEOUT,
    URGENT_TASK_TIMEOUT,
    default_args,
    failed_tasks,
)
from aeops.hitl import OverrideApprovalOperator, PlannedTime
from aeops.notify.callbacks import on_failure_callback
from aeops.urgent import form

# Urgent runs poll the storefront sooner than the daily sync (reschedule mode: no slot held between pokes).
VERIFY_POKE_SECONDS = float(os.environ.get("AEOPS_URGENT_VERIFY_POKE_SECONDS", "10"))
LOCK_POKE_SECONDS = float(os.environ.get("AEOPS_URGENT_LOCK_POKE_SECONDS", "5"))
PRIORITY = 100  # ahead of the daily sync's tasks (priority weight 1) whenever both wait for a worker


@dag(
    dag_id="aliexpress_urgent_rerun",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    # a planned override waits (deferred) for its start and for its end, at most PLANNED_WAIT each
    dagrun_timeout=URGENT_RUN_TIMEOUT,
    tags=["aeops", "catalog", "urgent", "manual"],
    doc_md=__doc__,
    default_args=default_args(store="{{ params.store }}", retry_delay=timedelta(seconds=10),
                              priority_weight=PRIORITY, weight_rule="absolute", execution_timeout=URGENT_TASK_TIMEOUT),
    on_failure_callback=on_failure_callback(store="{{ params.store }}"),
    params=form.params(),
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
    def plan(store: str, run_id=None) -> str:
        """The change set; returns when the push may start (a planned override: its start time, UTC)."""
        from airflow.sdk.exceptions import AirflowFailException

        from aeops.urgent import steps
        from aeops.urgent.request import RequestError

        try:
            steps.plan(store, run_id)
            return steps.start_time(store, run_id)
        except RequestError as exc:
            raise AirflowFailException(str(exc)) from None

    @task.sensor(mode="reschedule", poke_interval=LOCK_POKE_SECONDS, timeout=URGENT_TASK_TIMEOUT.total_seconds(),
                 retries=0, trigger_rule="none_failed")
    def relock(store: str, run_id=None) -> bool:
        """A planned override takes the store's write lock again at its start (it gave it back while waiting);
        any other run holds it already. A rejected override skips the push from here."""
        from airflow.sdk.exceptions import AirflowSkipException

        from aeops.urgent import steps

        try:
            return steps.relock(store, run_id, poke_s=LOCK_POKE_SECONDS)
        except steps.NotApproved as exc:
            raise AirflowSkipException(str(exc)) from None

    # none_failed: runs when `approve` was skipped (no approval needed); after a Reject it skips itself
    @task(trigger_rule="none_failed")
    def collect_chunks(store: str, params=None, run_id=None) -> list[dict]:
        from airflow.sdk.exceptions import AirflowSkipException

        from aeops.urgent import steps

        try:
            return steps.collect_chunks(store, run_id, dry_run=params["dry_run"])
        except steps.NotApproved as exc:  # rejected: nothing to push (the push tasks are skipped too)
            raise AirflowSkipException(str(exc)) from None

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

    @task
    def end_time(params=None, run_id=None) -> str:
        """A planned override's end time (UTC) when its prices are to revert then; skipped otherwise."""
        from airflow.sdk.exceptions import AirflowSkipException

        from aeops.urgent import steps

        ends = steps.end_time(params["store"], run_id)
        if ends is None:
            raise AirflowSkipException("no end time, or nothing written: nothing to revert")
        return ends

    store = start()
    locked = take_lock(store)
    planned = plan(store)
    # A risky override (not a dry run; more than urgent_approval_skus SKUs or a price moving more than
    # urgent_approval_percent) waits here for a person; the wait counts in the deadline.
    approve = OverrideApprovalOperator(task_id="approve", retries=0)
    # a planned override waits for its start time deferred (no worker slot); any other run passes at once
    wait_for_start = PlannedTime(task_id="wait_for_start", target_time="{{ ti.xcom_pull(task_ids='plan') }}",
                                 trigger_rule="none_failed", longest=PLANNED_WAIT)
    relocked = relock(store)
    chunks = collect_chunks(store)
    pushed = push_chunk.expand(chunk=chunks)
    verified = verify()
    finished = finish()
    reported = report()
    released = release_lock()
    locked >> planned >> approve >> wait_for_start >> relocked >> chunks
    pushed >> verified >> finished >> reported >> released
    locked >> released
    # a planned override's end: its prices revert through a revert run of this DAG, its own 15-minute clock
    ends = end_time()
    wait_for_end = PlannedTime(task_id="wait_for_end", target_time="{{ ti.xcom_pull(task_ids='end_time') }}",
                               longest=PLANNED_WAIT)
    revert_at_end = TriggerDagRunOperator(
        task_id="revert_at_end", trigger_dag_id="aliexpress_urgent_rerun", trigger_run_id="revert_at_end__{{ run_id }}",
        conf={"store": "{{ params.store }}", "mode": "revert", "run_id": "{{ run_id }}",
              "reason": "planned override ended: {{ params.reason }}"},
        skip_when_already_exists=True, wait_for_completion=False)
    reported >> ends >> wait_for_end >> revert_at_end


aliexpress_urgent_rerun()
