"""Quarterly logo rotation: remind when the store logo has not changed this quarter; check new logo files.

Runs on the first day of each quarter and again mid-quarter (two crons, one timetable). Per store (mapped):
checks every file waiting in the store's ``logo`` location (PNG, at least 800x800; like ``aeops logo``),
records a passing new file as this quarter's rotation, and posts ``LOGO-STALE`` with the spec and the
deadline (quarter end) when the logo has not changed since the quarter began: the quarter-start reminder
and the mid-quarter follow-up, once each. ``as_of`` moves the day (time travel).
Logic: ``aeops.storefront.logo_rotation``; docs/compliance.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from aeops.dag_defaults import COMPLIANCE_RUN_TIMEOUT, cron_schedule, default_args, stores_param
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
        "as_of": Param(None, type=["null", "string"], format="date", title="As of",
                       description="Check as if today were this date (YYYY-MM-DD); empty: today in each "
                                   "store's time zone"),
    },
)
def aliexpress_logo_rotation():
    @task
    def list_stores(params=None) -> list[str]:
        from aeops.catalog.context import list_stores

        return list_stores(params["stores"])

    @task
    def check_logo(store: str, params=None) -> dict:
        from aeops.catalog.dates import store_as_of
        from aeops.storefront import logo_rotation

        return logo_rotation.run(store, store_as_of(store, params["as_of"]))

    check_logo.expand(store=list_stores())


aliexpress_logo_rotation()
