"""A store-settings person task waiting for an answer on the session's api-server, as aeops asks it.

The api-server runs no scheduler, so nothing would ever run ``store.ask_1``. This does what the task's execute does,
with the real aeops steps and no stand-in for the words: it opens the store's person tasks in the aeops DB
(``settings_task``, ``rotation_task``: the storefront comparison is given), builds the form with ``ask_form`` (in
the store's language), triggers a run of ``aliexpress_store_settings`` for the store through the REST API and
writes the form as that run's human-in-the-loop request (``hitl_detail``; the task instance awaiting input), in a
subprocess in the server's Airflow environment. The Airflow UI then shows it under Browse → Required Actions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any
from unittest import mock

import httpx

from aeops.config import load_config
from aeops.findings import Text
from aeops.hitl import _note
from aeops.store.ledger import Ledger
from aeops.storefront import page_compare, settings_steps

DAG_ID = "aliexpress_store_settings"
SAMPLE = Path(__file__).resolve().parents[2] / "include" / "sample"
TASK_ID = "store.ask_1"

_WRITE_REQUEST = """
import json, sys
from sqlalchemy import select
from airflow.models.hitl import HITLDetail
from airflow.models.taskinstance import TaskInstance as TI
from airflow.utils.session import create_session
from airflow.utils.state import TaskInstanceState

req = json.loads(sys.argv[1])
with create_session() as s:
    tis = {t.task_id: t for t in s.scalars(select(TI).where(TI.dag_id == req["dag_id"], TI.run_id == req["run_id"]))}
    for done in ("list_stores", "store.check"):
        tis[done].state = TaskInstanceState.SUCCESS
    ti = tis[req["task_id"]]
    ti.map_index, ti.state = 0, TaskInstanceState.AWAITING_INPUT
    s.flush()
    s.add(HITLDetail(ti_id=ti.id, options=req["options"], subject=req["subject"], body=req["body"],
                     defaults=req["defaults"], multiple=False, params=req["params"], assignees=[]))
"""


def _open_tasks(config: Any, store_name: str) -> None:
    # the settings the storefront is compared with (the seeded stores track none)
    store = config.store(store_name).model_copy(update={"store_name": "aeops demo store",
                                                        "store_logo": str(SAMPLE / "logo" / "store_logo_800.png")})
    url = config.resolved_database_url()
    storefront = type("Storefront", (), {"base_url": "http://127.0.0.1:8765", "store_num": 912, "real": False})()
    want = store.store_name
    comparison = page_compare.Comparison(store_name, [
        page_compare.FieldResult("name", repr(want), False, {"desktop": "'demo store'", "mobile": "ok",
                                                              "anonymous": "ok"}),
        page_compare.FieldResult("logo", "store_logo_800.png", False, {"desktop": Text(page_compare.NO_IMAGE),
                                                                       "mobile": "ok", "anonymous": "ok"}),
    ])
    title, detail = settings_steps.settings_task(store, comparison, storefront)
    Ledger(url).person_tasks.open(store_name, "store_settings", "store_settings", title, detail, None)
    status = page_compare.RotationStatus(due=True, quarter="2027Q1", last_change=date(2026, 10, 2),
                                         previous_sha256=None)
    ledger = Ledger(url)
    title, detail = settings_steps.rotation_task(store, status, storefront, ledger, [])
    ledger.person_tasks.open(store_name, "logo_rotation", "logo_rotation:2027Q1", title, detail, None)


def seed(server: Any, store_name: str) -> dict[str, Any]:
    """A waiting person task of ``store_name``; returns its run id, subject and the answers it offers."""
    config = load_config(server.config)
    run_id = f"manual__person-task-{store_name}"
    with mock.patch.dict(os.environ, {"AEOPS_DATABASE_URL": server.aeops_db_url}):  # the server's aeops DB
        _open_tasks(config, store_name)
        form = settings_steps.ask_form(store_name, run_id, 1, f"{server.url}/required_actions", config=config)
    assert form is not None
    answer = httpx.post(f"{server.url}/api/v2/dags/{DAG_ID}/dagRuns", headers=server.headers(), timeout=30,
                        json={"dag_run_id": run_id, "logical_date": None, "conf": {"stores": [store_name]}})
    assert answer.status_code == 200, answer.text
    note = _note(form["note"]["title"], form["note"]["description"])
    request = {"dag_id": DAG_ID, "run_id": run_id, "task_id": TASK_ID, "options": form["options"],
               "defaults": [form["options"][1]], "subject": form["subject"], "body": form["body"],
               "params": {"note": note.serialize()}}
    done = subprocess.run([sys.executable, "-c", _WRITE_REQUEST, json.dumps(request)], env=server.env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return {"run_id": run_id, "subject": form["subject"], "options": form["options"], "note": form["note"]}
