"""The urgent re-run's trigger form: the Params of ``aliexpress_urgent_rerun`` as the Airflow UI shows them.

Names, types, choices and help texts are a contract (the UI form, ``airflow dags trigger -c``, the REST API's
``conf``; docs/urgent.md). The schema checks types and enums when a run is triggered;
:func:`aeops.urgent.request.parse_request` checks the rest (a configured store, what each mode needs) in the
run's first task. Imported by the DAG file at parse time, so it stays light.
"""

from __future__ import annotations

from airflow.sdk import Param

from aeops.urgent.request import DEFAULT_DEADLINE_MINUTES, MIN_REASON, MODES, SCOPES

MAX_DEADLINE_MINUTES = 240
"""The deadline's maximum; it also bounds each task's try and the run (``aeops.dag_defaults``)."""


def params() -> dict[str, Param]:
    """The form's Params, in the order the UI shows them (sections: Retry failed / Revert, SKUs, Price override)."""
    return {
        # store and reason are required, but checked by the first task: a Param without a valid default breaks
        # Airflow 3.3's DAG-level failure callback (it validates the defaults, not the run's conf).
        "store": Param("", type="string", maxLength=100, title="Store (required)",
                       description="Name of the store as configured in the aeops_config Variable (e.g. demo); "
                       "an empty or unknown name fails at once with the list of configured stores"),
        "mode": Param("retry_failed", type="string", enum=list(MODES), values_display=MODES, title="Mode",
                      description="What to do now"),
        "reason": Param("", type="string", maxLength=500, title="Reason (required)",
                        description=f"Why this run is urgent, at least {MIN_REASON} characters: kept in the audit "
                        "log (sync_runs.message and the run's 'requested' milestone) and posted to Slack"),
        "deadline_minutes": Param(DEFAULT_DEADLINE_MINUTES, type="integer", minimum=1, maximum=MAX_DEADLINE_MINUTES,
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
                            "price[, discount_price][, product_id], inside the store's price_files (or exports) "
                            "folder. Leave empty to use a percentage"),
        "percent": Param(None, type=["null", "number"], exclusiveMinimum=-100, maximum=1000,
                         title="Percent change", section="Price override",
                         description="Change every chosen price (and discount price) by this percentage, e.g. -20 "
                         "for 20% off; rounded to the cent"),
        "scope": Param("store", type="string", enum=list(SCOPES), values_display=SCOPES,
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
        "start_at": Param(None, type=["null", "string"], title="Start at (planned override)", section="Price override",
                          description="A planned override: plan and approve it now, and it writes its prices on its "
                          "own at this time (store time, e.g. 2026-11-27T00:00); its deadline runs from then. Empty: "
                          "now"),
        "end_at": Param(None, type=["null", "string"], title="End at (planned override)", section="Price override",
                        description="With start_at: the override's prices revert at this time (a revert run of it "
                        "starts then; the override also holds against the daily sync until then). Empty: they stay "
                        "until reverted"),
        "ceiling_price": Param(None, type=["null", "number"], exclusiveMinimum=0, title="Ceiling price",
                               section="Price override",
                               description="No new price goes above this; higher ones are set to it (and counted)"),
    }
