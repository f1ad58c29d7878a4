"""### Certificate expiry watch

**What it does.** Per store, checks every file in the store's certificate folder and keeps the certificate
registry in the aeops DB (brand, type, number, issuer, dates, file, status); warns 30 days ahead and escalates
once per threshold. When a new file replaced a known certificate, it starts `aliexpress_certificate_replace`
(through the Asset `aeops_certificate_replacements`; no person needed).

**Which DAG.** Each store has its own DAG `aliexpress_certificate_expiry__<store>`; `aliexpress_certificate_expiry`
checks every store (or the `stores` Param's) when triggered by hand; it has no schedule.

**When it runs.** Daily at 09:00 in the store's time zone, or at its `schedules.certificate_expiry` cron in
`aeops_config` (default `AEOPS_CERT_CRON`), or triggered with Param `as_of` (check as if today were that day).

**What you see.** At most one Slack message per store and day, naming the products at risk with their live
status: the `cert_warn_days` warnings (30, 14, 7, 1 days) once each, `ERR-412` daily once a certificate has
expired, and "alert closed" when a later certificate of the same brand and type replaces one.

**Where the logic lives.** `aeops.certificates.watch`; docs/compliance.md.
"""

from __future__ import annotations

from airflow.sdk import task, task_group

from aeops.dag_defaults import (
    API_POOL,
    COMPLIANCE_RUN_TIMEOUT,
    as_of_param,
    certificate_replacements_asset,
    dag_variants,
    list_stores,
    store_dag,
)

REPLACEMENTS = certificate_replacements_asset()


def aliexpress_certificate_expiry(one_store: str | None = None) -> None:
    """The watch's task graph, shared by the all-store DAG (``one_store`` None) and each store's own DAG."""

    @task_group
    def watch(store: str):
        @task
        def scan_certificates(store: str, params=None) -> dict:
            from aeops.catalog.dates import store_as_of
            from aeops.certificates import watch

            return watch.scan(store, store_as_of(store, params["as_of"]))

        @task(pool=API_POOL)
        def send_alerts(scanned: dict, run_id=None, dag=None) -> dict:
            """The day's alert, naming the products at risk with their live status read from the platform; its
            report is filed under this DAG's id (the store's own DAG, or the all-store one)."""
            from datetime import date

            from aeops.certificates import watch

            return watch.alert(scanned["store"], date.fromisoformat(scanned["as_of"]),
                                    unreadable=scanned["unreadable"], run_id=run_id, dag_id=dag.dag_id)

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

    watch.expand(store=list_stores() if one_store is None else [one_store])


for _dag_id, _store, _schedule, _tz in dag_variants("certificate_expiry"):
    with store_dag(_dag_id, _store, _tz, schedule=_schedule, run_timeout=COMPLIANCE_RUN_TIMEOUT,
                   tags=["compliance", "certificates", "daily"], doc_md=__doc__,
                   params={"as_of": as_of_param()}):
        aliexpress_certificate_expiry(_store)
