"""Certificate expiry watch: every store's certificate folder, 30 days ahead, escalating once per threshold.

Per store (mapped): ``scan_certificates`` checks each file of the store's ``certs`` location and keeps the
registry in the aeops DB (brand, type, number, issuer, dates, file, sha256, first seen, last checked,
status; replaced and removed files); ``send_alerts`` posts one Slack message with what is due today: the
``cert_warn_days`` warnings (30, 14, 7, 1 days) once each, ERR-412 daily once expired, and "alert closed"
when a later certificate of the same brand and type replaces one. ``as_of`` moves the day (time travel).
When a new file replaced a known certificate, ``request_replacements`` updates the Asset
``aeops_certificate_replacements``, which starts ``aliexpress_certificate_replace`` (no person needed).
Logic: ``aeops.certificates.watch``; docs/compliance.md.
"""

from __future__ import annotations

import os

import pendulum
from airflow.sdk import Param, dag, task, task_group

from aeops.dag_defaults import (
    COMPLIANCE_RUN_TIMEOUT,
    certificate_replacements_asset,
    cron_schedule,
    default_args,
    stores_param,
)
from aeops.notify.callbacks import on_failure_callback

# Daily at 09:00 in the seller's time zone by default; deployments change it through the environment.
SCHEDULE = cron_schedule(("AEOPS_CERT_CRON", "0 9 * * *"), timezone_env="AEOPS_CERT_TIMEZONE")
REPLACEMENTS = certificate_replacements_asset()
API_POOL = os.environ.get("AEOPS_API_POOL", "aliexpress_api")


@dag(
    dag_id="aliexpress_certificate_expiry",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=COMPLIANCE_RUN_TIMEOUT,
    tags=["aeops", "compliance", "certificates", "daily"],
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
def aliexpress_certificate_expiry():
    @task
    def list_stores(params=None) -> list[str]:
        from aeops.catalog.context import list_stores

        return list_stores(params["stores"])

    @task_group
    def watch(store: str):
        @task
        def scan_certificates(store: str, params=None) -> dict:
            from aeops.catalog.dates import store_as_of
            from aeops.certificates import watch

            return watch.scan(store, store_as_of(store, params["as_of"]))

        @task(pool=API_POOL)
        def send_alerts(scanned: dict, run_id=None) -> dict:
            """The day's alert, naming the products at risk with their live status read from the platform."""
            from datetime import date

            from aeops.certificates import watch

            return watch.alert(scanned["store"], date.fromisoformat(scanned["as_of"]),
                                    unreadable=scanned["unreadable"], run_id=run_id)

        @task(outlets=[REPLACEMENTS])
        def request_replacements(scanned: dict, outlet_events=None) -> list[int]:
            """Update the Asset (starting aliexpress_certificate_replace) when a new file replaced a certificate;
            skipped (no Asset event) otherwise."""
            from airflow.sdk.exceptions import AirflowSkipException

            requested = scanned.get("replacements_requested") or []
            if not requested:
                raise AirflowSkipException("no new certificate file replaced one in the folder")
            outlet_events[REPLACEMENTS].extra = {"store": scanned["store"], "replacements": requested}
            return requested

        scanned = scan_certificates(store)
        send_alerts(scanned)
        request_replacements(scanned)

    watch.expand(store=list_stores())


aliexpress_certificate_expiry()
