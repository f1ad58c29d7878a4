"""The urgent re-run can be triggered through the REST API of a running ``airflow api-server``.

The session's api-server (tests/airflow_server.py: private Airflow home, real users), a token from
``POST /auth/token``, then ``POST /api/v2/dags/aliexpress_urgent_rerun/dagRuns`` with conf.
"""

from __future__ import annotations

import httpx

DAG_ID = "aliexpress_urgent_rerun"


def test_rest_trigger_with_conf_is_accepted(airflow_server) -> None:
    api_server, headers = airflow_server.url, airflow_server.headers()
    conf = {"store": "demo", "mode": "price_override", "percent": -20, "floor_price": 5,
            "reason": "Black Friday repricing, approved by ops", "deadline_minutes": 15}

    answer = httpx.post(f"{api_server}/api/v2/dags/{DAG_ID}/dagRuns", headers=headers, timeout=30,
                        json={"dag_run_id": "urgent-bf-1", "logical_date": None, "conf": conf})

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["dag_run_id"] == "urgent-bf-1" and body["dag_id"] == DAG_ID
    assert body["conf"]["percent"] == -20 and body["conf"]["reason"] == conf["reason"]


def test_rest_trigger_with_an_invalid_mode_is_refused_by_the_param_schema(airflow_server) -> None:
    api_server, headers = airflow_server.url, airflow_server.headers()

    answer = httpx.post(f"{api_server}/api/v2/dags/{DAG_ID}/dagRuns", headers=headers, timeout=30,
                        json={"logical_date": None, "conf": {"store": "demo", "mode": "everything",
                                                             "reason": "testing the schema"}})

    assert answer.status_code == 400, answer.text
    assert "mode" in answer.text
