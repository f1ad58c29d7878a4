"""Per-store access on a real api-server: the auth manager grants DAGs one by one (tests/dag_grants_auth_manager.py,
as a FAB role with ``can_read`` on ``DAG:<id>`` would) and the aeops pages show each person only the stores whose
DAGs they may read, through every route and whatever the query string says (tests/airflow_server.py).

``kids`` may read only ``aliexpress_catalog_sync__demo-kids`` (store demo-kids' own daily sync), ``kidscerts`` only
``aliexpress_certificate_expiry__demo-kids`` (its own certificate watch), ``settings`` only the all-store
``aliexpress_store_settings``, ``nodags`` only ``aeops_slack_outbox`` (no store's data).
"""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from aeops.reports.run_report import report_names
from tests.airflow_server import KIDS_CERT_DAG, KIDS_CERT_RUN_ID, KIDS_DAG, KIDS_RUN_ID, SEEDED_RUN_ID

DAG = "aliexpress_catalog_sync"
# what a person might add to get past a check that reads the query string
QUERIES = ["", f"?dag_id={KIDS_DAG}", f"?dag_id={DAG}", "?dag_id=~", "?store=demo", "?store=demo-kids",
           f"?dag_id={KIDS_DAG}&store=demo&lang=en"]


@pytest.fixture(scope="module")
def as_user(airflow_server):
    sessions: dict[str, httpx.Client] = {}

    def client(user: str) -> httpx.Client:
        if user not in sessions:
            sessions[user] = httpx.Client(base_url=airflow_server.url, headers=airflow_server.headers(user),
                                          timeout=60, follow_redirects=False)
        return sessions[user]

    yield client
    for session in sessions.values():
        session.close()


def _report(store: str, dag_id: str, run_id: str) -> str:
    return f"/aeops/reports/{store}/{dag_id}/{quote(run_id, safe='')}"


def _files(store: str, dag_id: str, run_id: str) -> list[str]:
    return [f"{_report(store, dag_id, run_id)}/{quote(name, safe='')}" for name in report_names(store, run_id)]


def test_the_auth_manager_grants_dags_one_by_one_in_airflows_own_api(as_user) -> None:
    kids = as_user("kids")
    assert kids.get(f"/api/v2/dags/{DAG}/dagRuns").status_code == 403
    assert as_user("viewer").get(f"/api/v2/dags/{DAG}/dagRuns").status_code == 200
    assert as_user("settings").get("/api/v2/dags/aliexpress_store_settings/dagRuns").status_code == 200


def test_naming_a_readable_dag_in_the_query_string_does_not_open_the_other_stores(as_user) -> None:
    kids = as_user("kids")
    for path in ("/aeops/health", "/aeops/health/demo"):
        answer = kids.get(f"{path}?dag_id={KIDS_DAG}")  # passed Airflow's requires_access_dag without a path dag_id

        assert 'data-store="demo"' not in answer.text, path


def test_a_person_with_one_stores_dag_is_refused_the_other_store_through_every_route(as_user) -> None:
    kids = as_user("kids")
    refused = [
        "/aeops/health/demo",
        _report("demo", DAG, SEEDED_RUN_ID), *_files("demo", DAG, SEEDED_RUN_ID),
        _report("demo-kids", DAG, SEEDED_RUN_ID), *_files("demo-kids", DAG, SEEDED_RUN_ID),  # the all-store DAG's
        _report("demo", KIDS_DAG, KIDS_RUN_ID), *_files("demo", KIDS_DAG, KIDS_RUN_ID),
        f"/aeops/runs/{DAG}/{quote(SEEDED_RUN_ID, safe='')}",
    ]
    for query in QUERIES:
        page = kids.get(f"/aeops/health{query}")
        assert page.status_code == 200, query
        assert 'data-store="demo-kids"' in page.text and 'data-store="demo"' not in page.text, query
        for path in refused:
            answer = kids.get(path + query)
            assert answer.status_code in (403, 404), (path, query, answer.status_code)
            assert "data-store=" not in answer.text and "#headline" not in answer.text, (path, query)
            assert not answer.content.startswith(b"\xef\xbb\xbf"), (path, query)  # no CSV either
            assert "demo-kids" not in answer.text.replace(KIDS_DAG, "") or "/demo-kids/" in path, (path, query)
        hidden, unknown = kids.get(f"/aeops/health/demo{query}"), kids.get(f"/aeops/health/nope{query}")
        assert hidden.status_code == unknown.status_code == 404
        assert hidden.json()["detail"] == unknown.json()["detail"].replace("nope", "demo")  # the same as unknown
        assert "demo-kids" not in unknown.text  # the configured stores are not listed


def test_a_person_with_one_stores_dag_sees_that_store_its_reports_and_its_csv(as_user) -> None:
    kids = as_user("kids")
    html, csv = _files("demo-kids", KIDS_DAG, KIDS_RUN_ID)
    for query in QUERIES:
        one = kids.get(f"/aeops/health/demo-kids{query}")
        assert one.status_code == 200 and 'data-store="demo-kids"' in one.text, query
        moved = kids.get(_report("demo-kids", KIDS_DAG, KIDS_RUN_ID) + query)
        assert moved.status_code == 307 and moved.headers["location"].endswith(html), query
        tab = kids.get(f"/aeops/runs/{KIDS_DAG}/{quote(KIDS_RUN_ID, safe='')}{query}")
        assert tab.status_code == 307 and tab.headers["location"].endswith(html), query
    page = kids.get(html)
    assert page.status_code == 200 and "Catalog report" in page.text  # demo-kids reads English
    table = kids.get(csv)
    assert table.status_code == 200 and table.content.startswith(b"\xef\xbb\xbfcode,severity,")


def test_an_all_store_dag_shows_every_store_and_a_dag_holding_no_store_shows_none(as_user) -> None:
    for query in QUERIES:
        every = as_user("settings").get(f"/aeops/health{query}")
        assert every.status_code == 200, query
        assert 'data-store="demo"' in every.text and 'data-store="demo-kids"' in every.text, query
        assert as_user("settings").get(_report("demo", DAG, SEEDED_RUN_ID) + query).status_code == 403  # not its DAG
        none = as_user("nodags").get(f"/aeops/health{query}")
        assert none.status_code == 403 and "data-store=" not in none.text, query
        assert as_user("nodags").get(f"/aeops/health/demo{query}").status_code == 404
        assert as_user("nodags").get(_report("demo", DAG, SEEDED_RUN_ID) + query).status_code == 404


def test_a_per_store_certificate_watchs_report_opens_for_a_person_granted_only_that_dag(as_user) -> None:
    """demo-kids' own certificate watch filed its products-at-risk report under its DAG (the link its Slack alert
    carries): a person granted only that DAG opens it; one granted only the store's daily sync does not."""
    certs = as_user("kidscerts")
    stable = _report("demo-kids", KIDS_CERT_DAG, KIDS_CERT_RUN_ID)
    html, csv = _files("demo-kids", KIDS_CERT_DAG, KIDS_CERT_RUN_ID)
    for query in QUERIES:
        moved = certs.get(stable + query)
        assert moved.status_code == 307 and moved.headers["location"].endswith(html), (query, moved.status_code)
    page = certs.get(html)
    assert page.status_code == 200 and "Wooden train" in page.text and "Products at risk" in page.text
    table = certs.get(csv)
    assert table.status_code == 200 and "1005001000000001" in table.text
    assert certs.get(_report("demo-kids", "aliexpress_certificate_expiry", KIDS_CERT_RUN_ID)).status_code in (403, 404)
    assert certs.get(_report("demo", KIDS_CERT_DAG, KIDS_CERT_RUN_ID)).status_code in (403, 404)
    assert certs.get("/aeops/health/demo").status_code == 404
    assert as_user("kids").get(stable).status_code == 403  # the store's daily sync only: not the watch's runs
