"""The aeops Airflow plugin on a real api-server: listed by Airflow, protected like the Airflow UI, serving the
run reports from the reports location at their stable address (tests/airflow_server.py)."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx

from aeops.reports.run_report import report_names
from tests.airflow_server import SEEDED_RUN_ID

DAG_ID = "aliexpress_catalog_sync"


def _report(server) -> str:
    return f"{server.url}/aeops/reports/demo/{DAG_ID}/{quote(SEEDED_RUN_ID, safe='')}"


def test_airflow_plugins_lists_the_aeops_plugin_with_its_app_and_views(airflow_server) -> None:
    done = airflow_server.airflow("plugins", "-o", "json")

    assert done.returncode == 0, done.stderr[-2000:]
    plugins = {p["name"]: p for p in json.loads(done.stdout)}
    aeops = plugins["aeops"]
    assert aeops["source"].endswith("aeops_ui_plugin.py")
    assert [(a["url_prefix"], a["name"]) for a in aeops["fastapi_apps"]] == [("/aeops", "aeops")]
    views = {v["name"]: v for v in aeops["external_views"]}  # one name each, read in Chinese and in English
    tab, health = views["aeops 报告 / Report"], views["商品目录健康 / Catalog health"]
    assert tab["destination"] == "dag_run" and "{RUN_ID}" in tab["href"]
    assert health["destination"] == "nav" and health["category"] == "browse"
    # the UI builds its tabs and menus from the REST view of the same plugins (a bad entry would drop the plugin)
    rest = httpx.get(f"{airflow_server.url}/api/v2/plugins", headers=airflow_server.headers(), timeout=30).json()
    assert "aeops" in {p["name"] for p in rest["plugins"]}


def test_requests_without_a_valid_session_or_token_are_refused(airflow_server) -> None:
    for url in (f"{airflow_server.url}/aeops/health", _report(airflow_server),
                f"{airflow_server.url}/aeops/runs/{DAG_ID}/{quote(SEEDED_RUN_ID, safe='')}"):
        assert httpx.get(url, timeout=30).status_code == 401, url
        assert httpx.get(url, cookies={"_token": "not-a-jwt"}, timeout=30).status_code in (401, 403), url
        assert httpx.get(url, headers={"Authorization": "Bearer abc.def.ghi"}, timeout=30).status_code == 403, url


def test_the_stable_report_address_serves_the_report_and_its_csv_with_a_strict_policy(airflow_server) -> None:
    headers = airflow_server.headers("viewer")  # reading reports needs no more than the viewer role

    page = httpx.get(_report(airflow_server), headers=headers, follow_redirects=True, timeout=30)

    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert '<html lang="zh-CN">' in page.text and "商品目录报告" in page.text
    html_name, csv_name = report_names("demo", SEEDED_RUN_ID)
    assert str(page.url).endswith("/" + html_name)  # the run's "folder": the report's relative CSV link works
    csv = httpx.get(str(page.url).rsplit("/", 1)[0] + "/" + csv_name, headers=headers, timeout=30)
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbfcode,severity,")
    other = httpx.get(f"{_report(airflow_server)}/passwords.json", headers=headers, timeout=30)
    assert other.status_code == 404
