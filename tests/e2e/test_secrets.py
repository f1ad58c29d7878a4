"""One secret registry: a 32-character app secret (too short for the pattern-based scrub) that the platform
echoes in an error never reaches a Slack message, a run report or a log line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from aeops.demo import DEMO_APP_KEY, DEMO_SELLERS
from tests.e2e.harness import connections_env, run_dag, task_states

pytestmark = pytest.mark.e2e
APP_SECRET = "Zq7vK2mP9xR4tW8yB3nL6cF1hJ5sD0gA"  # 32 characters: only the exact-value registry catches it
ERROR_CODE = "F00-00-10007-011"


def test_an_app_secret_echoed_by_the_platform_is_masked_everywhere(embedded, monkeypatch, capfd) -> None:
    assert len(APP_SECRET) == 32
    env = embedded()
    with env.sim.state.transaction() as data:  # the app now signs with the 32-character secret
        data["apps"][DEMO_APP_KEY]["secret"] = APP_SECRET
    for key, value in connections_env(env.sim.url, env.sink.api_url).items():
        if key.startswith("AIRFLOW_CONN_ALIEXPRESS"):
            conn = json.loads(value)
            conn["password"] = APP_SECRET
            monkeypatch.setenv(key, json.dumps(conn))

    def echoing_refusal(product, items):  # a platform error that quotes the request, secret included
        return ERROR_CODE, f"price rejected; request app_key {DEMO_APP_KEY} app {APP_SECRET} sku {items[0]['sku_code']}"

    monkeypatch.setattr("aeops.marketplace.simulator.api._check_price_item", echoing_refusal)
    lines = io.StringIO()  # every aeops log line, formatted, whatever else configured the handlers
    handler = logging.StreamHandler(lines)
    logging.getLogger("aeops").addHandler(handler)
    try:
        dag_run = run_dag("aliexpress_catalog_sync", {"stores": ["demo"]})
    finally:
        logging.getLogger("aeops").removeHandler(handler)

    states = task_states(dag_run)
    # every price refused: the sync is partial, so finish fails, after its report and Slack summary (both below)
    assert states["settle.finish[0]"] == "failed", states
    reports = [p for p in (env.tmp / "reports" / "demo").iterdir() if p.suffix in (".html", ".csv")]
    html = next(p for p in reports if p.suffix == ".html").read_text(encoding="utf-8")
    assert ERROR_CODE in html and "price rejected" in html  # the platform's refusal is reported ...
    assert "app ***" in html  # ... with the secret masked where the platform quoted it
    for report in reports:
        assert APP_SECRET not in report.read_text(encoding="utf-8"), report.name
    slack = json.dumps(env.slack_messages())
    assert DEMO_SELLERS["demo"][2] not in slack and APP_SECRET not in slack
    assert env.slack_messages(), "the run posted its summary"
    assert ERROR_CODE in lines.getvalue()  # the push's warning about the refused products was logged ...
    assert APP_SECRET not in lines.getvalue()  # ... without the secret
    out, err = capfd.readouterr()
    assert APP_SECRET not in out + err  # nor in anything Airflow printed
