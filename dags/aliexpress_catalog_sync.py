"""### Daily catalog sync

**What it does.** Takes each store's newest catalog export and sends the smallest update that makes the
store match it, then checks on the storefront that the update landed:

- per store: preflight, wait until the export is whole, read it, validate it, plan the changes, and check the
  plan against the store's current state (the **export guard**);
- plans in the `aeops_planning` pool (a few at once: planning is CPU and memory, so 20 stores planning together
  only slow each other while the stores that could already push and verify wait);
- every store's batches pushed in the `aliexpress_api` pool (a push waits while an urgent re-run holds the
  store's write lock); a store whose export the guard holds is left out;
- per store (`settle`): a held export waits for a person (`approve`: Approve pushes it in `push_held`, Reject
  skips it: nothing written), then verify on the storefront (re-pushing once; following the marketplace's review
  of new main images), then the report and the Slack summary.

**Export guard.** An export is held when its plan changes the price of more than 20% of the compared SKUs, moves
any price by more than 50%, takes more than 20% of the SKUs in stock to zero, or misses more than 10% of the
previous export's products (each per store: `export_guard` in `aeops_config`). Slack, the approval form (Browse →
Required Actions) and the report show the largest moves; no answer within `AEOPS_EXPORT_GUARD_WAIT_HOURS` (6)
skips the export and fails the run. Not held: no person task, the push goes on as usual. A dry run's report
shows what the guard would hold.

A store's failure never blocks another's, and a retried or re-run task only does what is not yet done.

**Which DAG.** Each store has its own DAG `aliexpress_catalog_sync__<store>` (its own schedule, history, pause
switch and outcome; a failing store pages only its own channel). `aliexpress_catalog_sync` runs every store (or
the `stores` Param's) when triggered by hand; it has no schedule.

**When it runs.** Daily at 02:00 in the store's time zone (`timezone`), or at the store's
`schedules.catalog_sync` cron in `aeops_config` (default `AEOPS_SYNC_CRON`), or triggered with Params `force`,
`dry_run`, `export` (and `stores` on the all-store DAG).

**What you see.** One Slack summary per store, linking its run report (the run's **aeops report** tab); a held
export also posts an alert with the link to approve or reject it. A store whose sync ends partial (writes failed,
unverified or not sent) fails its `finish` task after its report and summary are written (unless its
`partial_is_success` is true). The last task, `outcome`, fails the run when a store or a task failed (or a held
export was not answered), saying why.

**Where the logic lives.** `aeops.sync` (one module per step; the guard: `export_guard`, `guard_hold`),
`aeops.verify` for the storefront checks; docs/verification.md, docs/design.md (export guard).
"""

from __future__ import annotations

import os
from datetime import timedelta

from airflow.sdk import Asset, Param, task, task_group

from aeops.dag_defaults import (
    API_POOL,
    EXPORT_GUARD_WAIT,
    EXPORT_WAIT,
    LOCK_POKE_SECONDS,
    LOCK_WAIT,
    PLANNING_POOL,
    SYNC_RUN_TIMEOUT,
    TASK_TIMEOUT,
    VERIFY_TIMEOUT,
    dag_variants,
    failed_tasks,
    list_stores,
    store_dag,
)
from aeops.hitl import ExportApprovalOperator

SYNCED_CATALOG = Asset("aeops://catalog/synced")
# Verification polls with back-off in reschedule mode (no worker slot held between pokes); the deadline that
# ends it is aeops_config.verify_deadline_minutes, the sensor timeout only a backstop.
VERIFY_POKE_SECONDS = float(os.environ.get("AEOPS_VERIFY_POKE_SECONDS", "30"))
VERIFY_MAX_WAIT = timedelta(seconds=float(os.environ.get("AEOPS_VERIFY_MAX_WAIT_SECONDS", "300")))
# A file still being written is checked again this often, without holding a worker slot in between.
EXPORT_POKE_SECONDS = float(os.environ.get("AEOPS_EXPORT_POKE_SECONDS", "60"))


def sync_params() -> dict[str, Param]:
    """The run's Params (the all-store DAG adds ``stores``: :func:`aeops.dag_defaults.store_dag`)."""
    return {
        "force": Param(False, type="boolean", title="Force",
                       description="Sync the newest export even if it was already synced successfully"),
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Validate and plan, report what would change, write nothing"),
        "export": Param(None, type=["null", "string"], title="Export file",
                        description="Use this export (path or URL inside the store's exports folder; anything "
                        "else is refused) instead of the newest there"),
    }


def aliexpress_catalog_sync(one_store: str | None = None) -> None:
    """The daily sync's task graph, shared by the all-store DAG (``one_store`` None: the stores of the ``stores``
    Param) and each store's own DAG (``one_store``)."""

    @task_group
    def prepare(store: str):
        @task
        def preflight(store: str, run_id=None, dag=None) -> str:
            from aeops.sync.preflight import preflight

            preflight(store, dag_id=dag.dag_id, run_id=run_id)
            return store

        @task.sensor(mode="reschedule", poke_interval=EXPORT_POKE_SECONDS, timeout=EXPORT_WAIT.total_seconds())
        def wait_for_export(store: str, params=None, run_id=None, dag=None):
            """Whole exports only: wait (no worker slot held) until the newest export is settled (or has its
            ``.done`` marker when the store configures markers)."""
            from airflow.sdk import PokeReturnValue

            from aeops.sync.intake import export_settled

            done = export_settled(store, dag.dag_id, run_id, export=params["export"])
            return PokeReturnValue(is_done=done, xcom_value=store)

        @task
        def pull_export(store: str, params=None, run_id=None, dag=None) -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from aeops.sync.errors import SkipStore
            from aeops.sync.intake import pull_export

            try:
                pull_export(store, dag.dag_id, run_id, force=params["force"], export=params["export"])
            except SkipStore as exc:  # nothing to do is not a failure: the store's steps are skipped, no page
                raise AirflowSkipException(str(exc)) from None
            return store

        @task
        def validate(store: str, run_id=None, dag=None) -> str:
            from aeops.sync.validate import validate

            validate(store, dag.dag_id, run_id)
            return store

        @task(pool=PLANNING_POOL)  # CPU and memory: a few at once, whatever the number of stores
        def plan(store: str, params=None, run_id=None, dag=None) -> str:
            from aeops.sync.planning import plan

            plan(store, dag.dag_id, run_id, dry_run=bool((params or {}).get("dry_run")))
            return store

        return plan(validate(pull_export(wait_for_export(preflight(store)))))

    @task(trigger_rule="all_done")
    def collect_chunks(params=None, run_id=None, dag=None) -> list[dict]:
        from aeops.sync.pushing import collect_chunks

        return collect_chunks(dag.dag_id, run_id, dry_run=params["dry_run"])

    @task.sensor(mode="reschedule", poke_interval=LOCK_POKE_SECONDS, timeout=(LOCK_WAIT + TASK_TIMEOUT).total_seconds(),
                 pool=API_POOL, max_active_tis_per_dagrun=8)
    def push_chunk(chunk: dict, ti=None):
        """Push when the store's write lock is free; while it is not, wait without holding a worker slot."""
        from airflow.sdk import PokeReturnValue
        from airflow.sdk.exceptions import AirflowFailException

        from aeops.catalog.lock import StoreBusy
        from aeops.sync.pushing import push_chunk

        try:
            totals = push_chunk(chunk, task=f"{ti.task_id}[{ti.map_index}] of {ti.dag_id} {ti.run_id}",
                                max_wait_s=LOCK_WAIT.total_seconds())
        except StoreBusy as exc:  # waited LOCK_WAIT already: retrying would only wait again
            raise AirflowFailException(str(exc)) from None
        return PokeReturnValue(is_done=totals is not None, xcom_value=totals)

    @task_group
    def settle(store: str):
        # the export guard (aeops.sync.guard_hold): a held export waits here for a person, this store only
        @task(trigger_rule="all_done")
        def held(store: str, run_id=None, dag=None) -> str:
            from airflow.sdk.exceptions import AirflowSkipException

            from aeops.sync.guard_hold import waits_for_a_person

            if not waits_for_a_person(store, dag.dag_id, run_id):
                raise AirflowSkipException(f"{store}: the export guard holds nothing: no approval needed")
            return store

        approve = ExportApprovalOperator(task_id="approve", store_task_id="settle.held",
                                         response_timeout=EXPORT_GUARD_WAIT, retries=0)

        # all_success (the default): not held (approve skipped) skips it without starting a task process
        @task.sensor(mode="reschedule", poke_interval=LOCK_POKE_SECONDS,
                     timeout=(LOCK_WAIT + TASK_TIMEOUT).total_seconds(), pool=API_POOL)
        def push_held(store: str, run_id=None, dag=None, ti=None):
            """Push the approved export (rejected or not held: skipped, nothing written)."""
            from airflow.sdk import PokeReturnValue
            from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

            from aeops.catalog.lock import StoreBusy
            from aeops.sync.pushing import push_held

            try:
                totals = push_held(store, dag.dag_id, run_id, task=f"{ti.task_id}[{ti.map_index}] of {dag.dag_id} "
                                   f"{run_id}", max_wait_s=LOCK_WAIT.total_seconds())
            except StoreBusy as exc:  # waited LOCK_WAIT already: retrying would only wait again
                raise AirflowFailException(str(exc)) from None
            if totals and "skipped" in totals:  # the Reject's skip does not reach a mapped task
                raise AirflowSkipException(f"{store}: nothing to push after the export guard ({totals['skipped']})")
            return PokeReturnValue(is_done=totals is not None, xcom_value=totals)

        @task.sensor(mode="reschedule", poke_interval=VERIFY_POKE_SECONDS, exponential_backoff=True,
                     max_wait=VERIFY_MAX_WAIT, timeout=VERIFY_TIMEOUT.total_seconds(), pool=API_POOL,
                     trigger_rule="all_done")
        def verify(store: str, params=None, run_id=None, dag=None) -> bool:
            """Never trust "update succeeded": poll the storefront until every pushed product is seen, and follow
            the marketplace's review of new main images until it ends (or is overdue)."""
            from aeops.verify import runner

            result = runner.poke(store, dag.dag_id, run_id, dry_run=params["dry_run"])
            return result.done

        @task(trigger_rule="all_done", outlets=[SYNCED_CATALOG])
        def finish(store: str, params=None, run_id=None, dag=None) -> dict:
            """Report and Slack summary; fails (no retry: it would only say it again) when the store's sync is
            partial, unless the store's ``partial_is_success`` says a partial day is fine."""
            from airflow.sdk.exceptions import AirflowFailException

            from aeops.sync.finish import PartialSync, finish

            try:
                return finish(store, dag.dag_id, run_id, dry_run=params["dry_run"])
            except PartialSync as exc:
                raise AirflowFailException(str(exc)) from None

        held(store) >> approve >> push_held(store) >> verify(store) >> finish(store)

    @task(trigger_rule="all_done", retries=0)
    def outcome(run_id=None, dag=None, ti=None) -> None:
        """The run's verdict: fails when a store could not be synced or any task failed, saying why."""
        from aeops.sync.finish import fail_if_any_store_failed

        fail_if_any_store_failed(dag.dag_id, run_id, failed_tasks=failed_tasks(ti))

    stores = list_stores() if one_store is None else [one_store]
    prepared = prepare.expand(store=stores)
    chunks = collect_chunks()
    prepared >> chunks
    pushed = push_chunk.expand(chunk=chunks)
    settled = settle.expand(store=stores)
    pushed >> settled >> outcome()


for _dag_id, _store, _schedule, _tz in dag_variants("catalog_sync"):
    with store_dag(_dag_id, _store, _tz, schedule=_schedule, run_timeout=SYNC_RUN_TIMEOUT, tags=["catalog", "daily"],
                   doc_md=__doc__, params=sync_params()):
        aliexpress_catalog_sync(_store)
