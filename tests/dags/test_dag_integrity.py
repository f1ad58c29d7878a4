"""Every DAG file imports cleanly and follows the house rules (explicit schedule, tags, owner, retries,
no catchup, failure alerts, thin files)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
CONTRACT_DAG_IDS = {"aliexpress_catalog_sync", "aliexpress_certificate_expiry", "aliexpress_logo_rotation",
                    "aliexpress_urgent_rerun", "aliexpress_store_settings"}
HEAVY_MODULES = {"pandas", "polars", "pyarrow", "PIL", "pypdf", "httpx", "sqlalchemy", "slack_sdk", "openpyxl",
                 "cv2", "onnxruntime", "rapidocr_onnxruntime", "imagehash"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_DIR))


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert dagbag.dags, "no DAG found in dags/"


def test_dag_ids_are_from_the_contract(dagbag) -> None:
    assert set(dagbag.dag_ids) <= CONTRACT_DAG_IDS


def test_every_dag_follows_the_house_rules(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.catchup is False, f"{dag_id}: catchup must be False"
        assert dag.default_args.get("owner") not in (None, "", "airflow"), f"{dag_id}: set an owner"
        for task in dag.tasks:
            assert task.retries is not None, f"{dag_id}.{task.task_id}: retries unset"
        assert dag.on_failure_callback, f"{dag_id}: no DAG-level on_failure_callback"


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.name)
def test_schedule_is_explicit_and_file_is_thin(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    keywords = {kw.arg for node in ast.walk(tree) if isinstance(node, ast.Call) for kw in node.keywords}
    assert "schedule" in keywords, f"{path.name}: pass schedule= explicitly"
    top_imports = set()
    for node in tree.body:  # module level only: heavy libraries belong inside tasks
        if isinstance(node, ast.Import):
            top_imports |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            top_imports.add(node.module.split(".")[0])
    assert not (top_imports & HEAVY_MODULES), f"{path.name}: heavy top-level imports {top_imports & HEAVY_MODULES}"


def test_parsing_the_dags_imports_no_detector_library() -> None:
    """The human-in-the-loop operators (aeops.hitl) load aeops' steps and the detectors only when a task runs."""
    code = ("import runpy, sys; [runpy.run_path(p) for p in sys.argv[1:]]; "
            "print(sorted(m for m in ('cv2', 'onnxruntime', 'rapidocr_onnxruntime', 'imagehash') if m in sys.modules))")
    files = [str(DAGS_DIR / f"{d}.py") for d in ("aliexpress_store_settings", "aliexpress_urgent_rerun")]
    out = subprocess.run([sys.executable, "-c", code, *files], capture_output=True, text=True, timeout=300,
                         env=os.environ.copy())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_airflow_reports_no_import_errors() -> None:
    """The operator's own check: `airflow dags list-import-errors` exits 0 and lists nothing."""
    airflow = Path(sys.executable).with_name("airflow")
    result = subprocess.run([str(airflow), "dags", "list-import-errors", "--local", "-o", "plain"],
                            capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No data found" in result.stdout or result.stdout.strip() == ""
