"""### Store settings as code

**What it does.** Per store, makes the storefront show what `aeops_config` says, with a person doing what only
the seller center can do:

- `check` reads the store page on every device (desktop, mobile, anonymous) and compares the store name, logo,
  banners and customer-service response time with the store's settings; it records Information Accuracy (tracked
  fields that match / tracked fields) with its trend and opens a person task for each difference, and for a
  logo rotation that is due;
- `ask_1` puts the store's open tasks (also the daily sync's new-product tasks) to a person: the exact
  seller-center steps, the files to upload, links;
- "Done": `recheck_1` reads the storefront again, closes what it shows and reopens what still differs, which
  `ask_2` names; up to three rounds.

**Which DAG.** Each store has its own DAG `aliexpress_store_settings__<store>`; `aliexpress_store_settings`
checks every store (or the `stores` Param's) when triggered by hand; it has no schedule.

**When it runs.** Daily at 10:00 in the store's time zone, or at its `schedules.store_settings` cron in
`aeops_config` (default `AEOPS_SETTINGS_CRON`), or triggered with Param `as_of` (check as if today were that day).

**What you see.** A required action per store (Browse -> Required Actions) listing the tasks, and the accuracy
in Slack. Still different after the third round, the run fails (the task stays open for tomorrow); "Not done
yet" or no answer within `AEOPS_PERSON_TASK_WAIT_HOURS` (20) keeps the tasks open for the next run.

**Where the logic lives.** `aeops.storefront.settings_steps`, the person's form in `aeops.hitl`;
docs/store-settings.md.
"""

from __future__ import annotations

from airflow.sdk import task, task_group

from aeops.dag_defaults import TASK_TIMEOUT, as_of_param, dag_variants, list_stores, store_dag
from aeops.hitl import PERSON_WAIT, PersonTasksOperator

ROUNDS = 3
# Every round may wait for a person up to PERSON_WAIT; a run ends at the latest after all its rounds (the next
# day's run waits for it: max_active_runs=1), plus a task timeout for each check and the list.
RUN_TIMEOUT = ROUNDS * PERSON_WAIT + (ROUNDS + 2) * TASK_TIMEOUT


def aliexpress_store_settings(one_store: str | None = None) -> None:
    """The settings check's task graph, shared by the all-store DAG (``one_store`` None) and each store's own
    DAG."""

    @task_group(group_id="store")
    def per_store(store: str):
        @task(retries=1)
        def check(store: str, params=None, run_id=None) -> dict:
            from aeops.catalog.dates import store_as_of
            from aeops.storefront import settings_steps

            return settings_steps.check(store, run_id, store_as_of(store, params["as_of"]))

        @task(retries=1)
        def recheck(store: str, round_no: int, params=None, run_id=None, ti=None) -> dict:
            """Read the storefront again after the person's answer to ``ask_<round_no>``; the last round fails
            when something still differs."""
            from aeops.catalog.dates import store_as_of
            from aeops.storefront import settings_steps

            answer = ti.xcom_pull(task_ids=f"store.ask_{round_no}", map_indexes=ti.map_index)
            return settings_steps.recheck(store, run_id, round_no, answer, store_as_of(store, params["as_of"]),
                                          final=round_no == ROUNDS)

        previous = check(store)
        previous_id = None
        for n in range(1, ROUNDS + 1):
            ask = PersonTasksOperator(task_id=f"ask_{n}", round_no=n, store_task_id="store.check",
                                      previous_task_id=previous_id, retries=0)
            rechecked = recheck.override(task_id=f"recheck_{n}")(store, n)
            previous >> ask >> rechecked
            previous, previous_id = rechecked, f"store.recheck_{n}"

    per_store.expand(store=list_stores() if one_store is None else [one_store])


AS_OF = ("Check as if today were this date (YYYY-MM-DD; the logo rotation's quarter); empty: today in each store's "
         "time zone")
for _dag_id, _store, _schedule, _tz in dag_variants("store_settings"):
    with store_dag(_dag_id, _store, _tz, schedule=_schedule, run_timeout=RUN_TIMEOUT,
                   tags=["compliance", "store-settings", "human-in-the-loop", "daily"], doc_md=__doc__,
                   params={"as_of": as_of_param(AS_OF)}):
        aliexpress_store_settings(_store)
