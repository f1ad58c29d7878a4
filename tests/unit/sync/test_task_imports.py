"""Each daily-sync task is its own process in Airflow: a task that never reads an export must not load the DataFrame
libraries (pandas, polars, pyarrow: ~150 MB and half a CPU-second a task process; docs/production.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATAFRAME_LIBRARIES = ("pandas", "polars", "pyarrow")

# the modules each task of dags/aliexpress_catalog_sync.py imports, for the tasks that never read an export
NO_EXPORT_READ = {
    "preflight": "aeops.sync.preflight",
    "wait_for_export": "aeops.sync.intake",  # the sensor's pokes (export_settled), and pull_export's module
    "collect_chunks / push_chunk / push_held": "aeops.sync.pushing",
    "held": "aeops.sync.guard_hold",
    "verify": "aeops.verify.runner",
    "finish / outcome": "aeops.sync.finish",
}


def _loaded_after_import(module: str) -> list[str]:
    code = (f"import sys, json, {module}; "
            f"print(json.dumps([m for m in {DATAFRAME_LIBRARIES!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("task", sorted(NO_EXPORT_READ))
def test_a_task_that_reads_no_export_does_not_load_the_dataframe_libraries(task: str) -> None:
    assert _loaded_after_import(NO_EXPORT_READ[task]) == []


def test_the_newest_export_is_found_without_the_dataframe_libraries(tmp_path) -> None:
    (tmp_path / "catalog_1.csv").write_text("product_id\n1\n")
    code = ("import sys, json; from aeops.exports import newest_export; "
            f"found = newest_export({str(tmp_path)!r}); "
            f"print(json.dumps([found, [m for m in {DATAFRAME_LIBRARIES!r} if m in sys.modules]]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    found, loaded = json.loads(out.strip().splitlines()[-1])
    assert found.endswith("catalog_1.csv") and loaded == []


def test_reading_an_export_still_works_through_the_package() -> None:
    from aeops.exports import ExportData, newest_export, read_export

    sample = Path(__file__).resolve().parents[3] / "include" / "sample" / "exports" / "demo"
    data = read_export(newest_export(str(sample)))
    assert isinstance(data, ExportData) and data.readable and len(data.frame) > 0


def test_the_aeops_models_do_not_load_airflows_orm_models() -> None:
    """aeops' models are set up without configuring every SQLAlchemy registry of the process: configuring Airflow's
    would import all of its ORM models (~0.5 CPU-s in every task process, which only needs the Task SDK)."""
    code = ("import sys, airflow.sdk, aeops.dag_defaults, aeops.store.models; "
            "print('airflow.models.taskinstance' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_the_plan_reads_its_rows_without_pandas(tmp_path) -> None:
    """``plan`` needs the export's valid rows only: read with polars, as dicts whose empty cells are None (pandas'
    frame, NaN for empty cells and ~50 MB more at 10,000 products, is made only where a task uses it)."""
    export = tmp_path / "catalog_1.csv"
    export.write_text("product_id,sku_code,title,price,stock,discount_price\n1,A,Mug,12.5,3,\n1,B,Mug,13,4,9.99\n"
                      "2,C,Cup,5,1,\n")
    code = ("import sys, json, aeops.sync.planning; from aeops.exports import read_export; "
            f"rows = read_export({str(export)!r}).records(without_rows=[3]); "
            "print(json.dumps([rows, 'pandas' in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    rows, pandas_loaded = json.loads(out.strip().splitlines()[-1])
    assert not pandas_loaded
    assert [(r["row"], r["sku_code"], r["discount_price"]) for r in rows] == [(2, "A", None), (4, "C", None)]
