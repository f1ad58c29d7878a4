"""### Quarterly logo rotation

**What it does.** Per store, checks every file waiting in the store's logo folder (PNG, at least 800x800, like
`aeops logo`), records a passing new file as this quarter's rotation, and reminds when the store logo has not
changed since the quarter began.

**Which DAG.** Each store has its own DAG `aliexpress_logo_rotation__<store>`; `aliexpress_logo_rotation`
checks every store (or the `stores` Param's) when triggered by hand; it has no schedule.

**When it runs.** At 09:00 in the store's time zone on the first day of each quarter and again mid-quarter,
on 15 Feb/May/Aug/Nov (defaults `AEOPS_LOGO_CRON`, `AEOPS_LOGO_FOLLOWUP_CRON`; per store
`schedules.logo_rotation` in `aeops_config`), or triggered with Param `as_of` (check as if today were that day).

**What you see.** `LOGO-STALE` in Slack with the logo spec and the deadline (the quarter's end): the
quarter-start reminder and the mid-quarter follow-up, once each. The daily `aliexpress_store_settings` turns a
due rotation into a tracked task for a person.

**Where the logic lives.** `aeops.storefront.logo_rotation`; docs/compliance.md.
"""

from __future__ import annotations

from airflow.sdk import task

from aeops.dag_defaults import (
    COMPLIANCE_RUN_TIMEOUT,
    as_of_param,
    dag_variants,
    list_stores,
    store_dag,
)


def aliexpress_logo_rotation(one_store: str | None = None) -> None:
    """The rotation check's task graph, shared by the all-store DAG (``one_store`` None) and each store's own
    DAG."""

    @task
    def check_logo(store: str, params=None) -> dict:
        from aeops.catalog.dates import store_as_of
        from aeops.storefront import logo_rotation

        return logo_rotation.run(store, store_as_of(store, params["as_of"]))

    check_logo.expand(store=list_stores() if one_store is None else [one_store])


for _dag_id, _store, _schedule, _tz in dag_variants("logo_rotation"):
    with store_dag(_dag_id, _store, _tz, schedule=_schedule, run_timeout=COMPLIANCE_RUN_TIMEOUT,
                   tags=["compliance", "logo", "quarterly"], doc_md=__doc__,
                   params={"as_of": as_of_param()}):
        aliexpress_logo_rotation(_store)
