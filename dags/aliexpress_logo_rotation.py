"""### Quarterly logo rotation

**What it does.** Per store, checks every file waiting in the store's logo folder (PNG, at least 800x800, like
`aeops logo`), records a passing new file as this quarter's rotation, and reminds when the store logo has not
changed since the quarter began.

**When it runs.** At 09:00 in the seller's time zone on the first day of each quarter and again mid-quarter,
on 15 Feb/May/Aug/Nov (`AEOPS_LOGO_CRON`, `AEOPS_LOGO_FOLLOWUP_CRON`, `AEOPS_LOGO_TIMEZONE`), or triggered with
Params `stores` and `as_of` (check as if today were that day).

**What you see.** `LOGO-STALE` in Slack with the logo spec and the deadline (the quarter's end): the
quarter-start reminder and the mid-quarter follow-up, once each. The daily `aliexpress_store_settings` turns a
due rotation into a tracked task for a person.

**Where the logic lives.** `aeops.storefront.logo_rotation`; docs/compliance.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from aeops.dag_defaults import (
    COMPLIANCE_RUN_TIMEOUT,
    as_of_param,
    cron_schedule,
    default_args,
    list_stores,
    stores_param,
)
from aeops.notify.callbacks import on_failure_callback

# 09:00 on 1 Jan/Apr/Jul/Oct (quarter start) and on 15 Feb/May/Aug/Nov (day 45-46: the mid-quarter
# follow-up) in the seller's time zone; deployments change both through the environment.
SCHEDULE = cron_schedule(("AEOPS_LOGO_CRON", "0 9 1 1,4,7,10 *"), ("AEOPS_LOGO_FOLLOWUP_CRON", "0 9 15 2,5,8,11 *"),
                         timezone_env="AEOPS_LOGO_TIMEZONE")


@dag(
    dag_id="aliexpress_logo_rotation",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=COMPLIANCE_RUN_TIMEOUT,
    tags=["aeops", "compliance", "logo", "quarterly"],
    doc_md=__doc__,
    default_args=default_args(),
    on_failure_callback=on_failure_callback(),
    params={
        "stores": stores_param(),
        "as_of": as_of_param(),
    },
)
def aliexpress_logo_rotation():
    @task
    def check_logo(store: str, params=None) -> dict:
        from aeops.catalog.dates import store_as_of
        from aeops.storefront import logo_rotation

        return logo_rotation.run(store, store_as_of(store, params["as_of"]))

    check_logo.expand(store=list_stores())


aliexpress_logo_rotation()
