"""### Certificate expiry watch

**What it does.** Per store, checks every file in the store's certificate folder and keeps the certificate
registry in the aeops DB (brand, type, number, issuer, dates, file, status); warns 30 days ahead and escalates
once per threshold. When a new file replaced a known certificate, it starts `aliexpress_certificate_replace`
(through the Asset `aeops_certificate_replacements`; no person needed).

**When it runs.** Daily at 09:00 in the seller's time zone (`AEOPS_CERT_CRON`, `AEOPS_CERT_TIMEZONE`), or
triggered with Params `stores` and `as_of` (check as if today were that day).

**What you see.** At most one Slack message per store and day, naming the products at risk with their live
status: the `cert_warn_days` warnings (30, 14, 7, 1 days) once each, `ERR-412` daily once a certificate has
expired, and "alert closed" when a later certificate of the same brand and type replaces one.

**Where the logic lives.** `aeops.certificates.watch`; docs/compliance.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task, task_group

from aeops.dag_defaults import (
    API_POOL,
    COMPLIANCE_RUN_TIMEOUT,
    as_of_param,
    certificate_replacements_asset,
    cron_schedule,
    default_args,
    list_stores,
    stores_param,
)
from aeops.notify.callbacks import on_failure_callback

# Daily at 09:00 in the seller's time zone by default; deployments change it through the environment.
SCHEDULE = cron_schedule(("AEOPS_CERT_CRON", "0 9 * * *"), timezone_env="AEOPS_CERT_TIMEZONE")
REPLACEMENTS = certificate_replacements_asset()


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
        "as_of": as_of_param(),
    },
)
def aliexpress_certificate_expiry():
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
