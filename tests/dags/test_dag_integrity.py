"""Every DAG file imports cleanly and follows the house rules (explicit schedule, tags, owner, retries,
no catchup, failure alerts, thin files)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))
CONTRACT_DAG_IDS = {"aliexpress_catalog_sync", "aliexpress_certificate_expiry", "aliexpress_logo_rotation",
                    "aliexpress_urgent_rerun", "aliexpress_store_settings", "aeops_slack_outbox",
                    "aliexpress_certificate_replace"}
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
    """The contract's ids, and ``<job>__<store>`` for each configured store's own DAG of a per-store job."""
    from aeops.schedules import JOBS, job_dag_id

    per_store = {j.dag_id for j in JOBS.values()}
    for dag_id in dagbag.dag_ids:
        assert dag_id in CONTRACT_DAG_IDS or job_dag_id(dag_id) in per_store, dag_id


def test_every_store_has_its_own_scheduled_dags_and_the_all_store_dags_are_manual(dagbag) -> None:
    """Each per-store job: the all-store DAG without a schedule (manual runs), one DAG per store on a cron in the
    store's time zone, the store's failure alert on it."""
    from aeops.notify.callbacks import SlackFailureNotifier
    from aeops.schedules import JOBS

    for job in JOBS.values():
        assert dagbag.dags[job.dag_id].timetable.__class__.__name__ == "NullTimetable", job.dag_id
        own = [d for d in dagbag.dags.values() if d.dag_id.startswith(job.dag_id + "__")]
        assert [d.dag_id for d in own] == [f"{job.dag_id}__demo"], "the default config holds the one store demo"
        [dag] = own
        assert "Cron" in type(dag.timetable).__name__
        assert "stores" not in dag.params
        [alert] = [cb for cb in _callbacks(dag.on_failure_callback) if isinstance(cb, SlackFailureNotifier)]
        assert alert.store == "demo"


def test_every_dag_follows_the_house_rules(dagbag) -> None:
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id}: no tags"
        assert dag.catchup is False, f"{dag_id}: catchup must be False"
        assert dag.default_args.get("owner") not in (None, "", "airflow"), f"{dag_id}: set an owner"
        for task in dag.tasks:
            assert task.retries is not None, f"{dag_id}.{task.task_id}: retries unset"
        assert dag.on_failure_callback, f"{dag_id}: no DAG-level on_failure_callback"


def _callbacks(value) -> list:
    return list(value) if isinstance(value, list | tuple) else [value] if value else []


def test_every_task_of_every_dag_carries_the_failure_alert(dagbag) -> None:
    """A task without it fails silently: no run_failures row, no Slack page naming it (docs/slack.md). The outbox
    DAG keeps the older per-failure alert (per_run=False); every other task pages its run's one message."""
    from aeops.notify.callbacks import SlackFailureNotifier

    checked = 0
    for dag_id, dag in dagbag.dags.items():
        assert any(isinstance(cb, SlackFailureNotifier) for cb in _callbacks(dag.on_failure_callback)), dag_id
        for task in dag.tasks:
            alerts = [cb for cb in _callbacks(_attr(task, "on_failure_callback"))
                      if isinstance(cb, SlackFailureNotifier)]
            assert len(alerts) == 1, f"{dag_id}.{task.task_id}: {len(alerts)} failure alert(s), want exactly 1"
            assert alerts[0].per_run is (dag_id != "aeops_slack_outbox"), f"{dag_id}.{task.task_id}"
            checked += 1
    assert checked >= 50  # every task of every DAG (55 today with the store demo's own), mapped and grouped ones


def _attr(task, name: str):
    """A task's argument, also for a mapped task (whose arguments wait in ``partial_kwargs``)."""
    value = getattr(task, name, None)
    return value if value is not None else (getattr(task, "partial_kwargs", None) or {}).get(name)


def test_every_dag_and_every_task_has_a_time_limit(dagbag) -> None:
    """dagrun_timeout on every DAG; execution_timeout on every task (they all talk to the marketplace, Slack, the
    storage or the aeops DB), never longer than the run may last; sensors give up within the run too."""
    for dag_id, dag in dagbag.dags.items():
        assert dag.dagrun_timeout, f"{dag_id}: no dagrun_timeout"
        for task in dag.tasks:
            assert task.execution_timeout, f"{dag_id}.{task.task_id}: no execution_timeout"
            assert task.execution_timeout <= dag.dagrun_timeout, f"{dag_id}.{task.task_id}: longer than the run"
            if _attr(task, "mode"):  # a sensor
                assert timedelta(seconds=_attr(task, "timeout")) <= dag.dagrun_timeout, f"{dag_id}.{task.task_id}"


def test_time_limits_are_sized_from_the_deadlines_in_the_settings(dagbag) -> None:
    from aeops.dag_defaults import LOCK_WAIT, URGENT_MAX_DEADLINE_MINUTES, VERIFY_TIMEOUT

    sync = dagbag.dags["aliexpress_catalog_sync"]
    assert timedelta(seconds=_attr(sync.task_dict["settle.verify"], "timeout")) == VERIFY_TIMEOUT
    assert sync.dagrun_timeout >= VERIFY_TIMEOUT + LOCK_WAIT  # verification and a lock wait fit in one run
    assert sync.dagrun_timeout < timedelta(hours=24), "a daily run must end before the next one is due"
    urgent = dagbag.dags["aliexpress_urgent_rerun"]
    assert urgent.params.get_param("deadline_minutes").schema["maximum"] == URGENT_MAX_DEADLINE_MINUTES
    assert urgent.dagrun_timeout >= timedelta(minutes=URGENT_MAX_DEADLINE_MINUTES)  # a late run may still land
    outbox = dagbag.dags["aeops_slack_outbox"]
    assert outbox.dagrun_timeout <= timedelta(minutes=10), "one drain ends before the next is due"
    from aeops.dag_defaults import CERT_APPROVAL_WAIT

    replace = dagbag.dags["aliexpress_certificate_replace"]  # a person's approval and the 2-hour restore fit
    assert _attr(replace.task_dict["replace_certificate.approve"], "response_timeout") == CERT_APPROVAL_WAIT
    assert replace.dagrun_timeout > CERT_APPROVAL_WAIT + timedelta(hours=2)


def test_waiting_for_a_store_lock_holds_no_worker_slot(dagbag) -> None:
    """Every task that can wait for a store's write lock is a sensor in reschedule mode (it gives its slot back
    between tries; tests/unit/catalog/test_lock.py shows a try returns at once while the store is busy)."""
    waiters = {("aliexpress_catalog_sync", "push_chunk"), ("aliexpress_catalog_sync", "settle.push_held"),
               ("aliexpress_urgent_rerun", "take_lock"), ("aliexpress_urgent_rerun", "relock"),
               ("aliexpress_certificate_replace", "replace_certificate.push"),
               ("aliexpress_certificate_replace", "replace_certificate.verify")}
    for dag_id, task_id in waiters:
        task = dagbag.dags[dag_id].task_dict[task_id]
        assert _attr(task, "mode") == "reschedule", f"{dag_id}.{task_id} must wait in reschedule mode"
    assert dagbag.dags["aliexpress_urgent_rerun"].task_dict["take_lock"].is_setup


def test_a_planned_override_waits_for_its_start_and_end_deferred_never_in_a_worker_slot(dagbag) -> None:
    """The start and end waits are DateTimeSensorAsync (the triggerer waits); the run's time limit covers both."""
    from airflow.providers.standard.sensors.date_time import DateTimeSensorAsync

    from aeops.dag_defaults import PLANNED_WAIT

    urgent = dagbag.dags["aliexpress_urgent_rerun"]
    for task_id in ("wait_for_start", "wait_for_end"):
        task = urgent.task_dict[task_id]
        assert isinstance(task, DateTimeSensorAsync) and task.execution_timeout == PLANNED_WAIT, task_id
    assert urgent.dagrun_timeout >= 2 * PLANNED_WAIT
    assert urgent.task_dict["revert_at_end"].trigger_dag_id == "aliexpress_urgent_rerun"


def test_a_held_export_waits_for_a_person_in_its_own_stores_task_group(dagbag) -> None:
    """The export guard's approval is per store: in the task group mapped over stores, after every store's push
    (a held store is left out of it), before that store's own push, verification and report."""
    from airflow.sdk.definitions.taskgroup import MappedTaskGroup

    from aeops.hitl import ExportApprovalOperator

    sync = dagbag.dags["aliexpress_catalog_sync"]
    approve = sync.task_dict["settle.approve"]
    assert isinstance(approve, ExportApprovalOperator) and isinstance(approve.task_group, MappedTaskGroup)
    assert approve.retries == 0 and approve.response_timeout is not None
    assert sync.task_dict["settle.held"].upstream_task_ids >= {"push_chunk"}
    assert sync.task_dict["settle.push_held"].upstream_task_ids >= {"settle.approve"}
    assert sync.task_dict["settle.verify"].upstream_task_ids >= {"settle.push_held"}
    assert "settle.approve" not in sync.task_dict["collect_chunks"].get_flat_relative_ids(upstream=True)


def test_plans_run_in_the_planning_pool_and_calls_in_the_api_pool(dagbag) -> None:
    """Every store's plan (CPU and memory) in aeops_planning, a few at once; pushes and verification in
    aliexpress_api, on each store's own DAG and on the all-store DAG."""
    from aeops.schedules import per_store_dag_id

    for dag_id in ("aliexpress_catalog_sync", per_store_dag_id("aliexpress_catalog_sync", "demo")):
        sync = dagbag.dags[dag_id]
        assert _attr(sync.task_dict["prepare.plan"], "pool") == "aeops_planning"
        for task_id in ("push_chunk", "settle.push_held", "settle.verify"):
            assert _attr(sync.task_dict[task_id], "pool") == "aliexpress_api", task_id


@pytest.mark.parametrize("path", [p for p in DAG_FILES if "dag_variants(" in p.read_text()], ids=lambda p: p.name)
def test_a_task_process_builds_only_the_dag_it_runs(path: Path, monkeypatch) -> None:
    """A task process parses the DAG file to run one task of one DAG (Airflow's parsing context): with three stores
    it gets that DAG alone (not the all-store DAG and the other stores' DAGs), the same as a full parse makes it."""
    import json

    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.context import _AIRFLOW_PARSING_CONTEXT_DAG_ID

    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps(
        {"stores": [{"name": "a"}, {"name": "b", "timezone": "Europe/Madrid"}, {"name": "c"}]}))
    full = DagBag(dag_folder=str(path))
    job = path.stem
    assert sorted(full.dag_ids) == [job, f"{job}__a", f"{job}__b", f"{job}__c"]
    for dag_id in (f"{job}__b", job):
        with monkeypatch.context() as parsing:  # as the task runner sets it (its own context manager never unsets)
            parsing.setenv(_AIRFLOW_PARSING_CONTEXT_DAG_ID, dag_id)
            one = DagBag(dag_folder=str(path))
        assert one.import_errors == {}
        assert one.dag_ids == [dag_id]
        assert sorted(one.dags[dag_id].task_dict) == sorted(full.dags[dag_id].task_dict)
        assert one.dags[dag_id].timezone.name == full.dags[dag_id].timezone.name


def test_a_new_certificate_file_starts_the_replacement_without_a_person(dagbag) -> None:
    """The certificate watch's request_replacements updates the Asset the replacement DAG is scheduled on (its
    Params also let a person trigger it by hand); the restore wait fits the run and holds no slot."""
    watch = dagbag.dags["aliexpress_certificate_expiry"].task_dict["watch.request_replacements"]
    replace = dagbag.dags["aliexpress_certificate_replace"]
    [asset] = watch.outlets
    assert asset.name == "aeops_certificate_replacements"
    assert [(a.name, a.uri) for a in replace.timetable.asset_condition.objects] == [(asset.name, asset.uri)]
    assert set(replace.params.keys()) >= {"store", "certificate", "reason", "dry_run"}
    verify = replace.task_dict["replace_certificate.verify"]
    assert timedelta(seconds=_attr(verify, "timeout")) >= timedelta(hours=2)
    assert _attr(replace.task_dict["replace_certificate.upload"], "pool") == "aliexpress_api"


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
