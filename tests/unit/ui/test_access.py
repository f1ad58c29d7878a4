"""Who sees which store: the DAG ids that hold a store's data, the rule, and every page of the plugin applying it
in-process (tests/integration/test_ui_access.py asks a real api-server's auth manager)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pytest

from aeops.store.ledger import Ledger
from aeops.ui import access
from tests.reporting import seed_certificate_listing
from tests.unit.ui.conftest import DAG, KIDS_DAG, KIDS_RUN_ID, RUN_ID


@dataclass
class Store:
    name: str


STORES = [Store("demo"), Store("demo-kids"), Store("a"), Store("a__b")]


def only(*allowed: str) -> access.ReadableDags:
    asked: list[str] = []

    def readable(ids):
        ids = list(ids)
        asked.extend(ids)
        return set(ids) & set(allowed)

    readable.asked = asked  # type: ignore[attr-defined]
    return readable


# ------------------------------------------------------------------------------------------------ the mapping
def test_a_stores_data_is_in_every_all_store_dag_and_in_its_own_per_store_copies() -> None:
    ids = access.dag_ids_for_store("demo")

    assert set(access.ALL_STORE_DAG_IDS) <= set(ids)
    assert {"aliexpress_catalog_sync", "aliexpress_certificate_expiry", "aliexpress_certificate_replace",
            "aliexpress_store_settings", "aliexpress_logo_rotation", "aliexpress_urgent_rerun"} <= set(ids)
    assert "aliexpress_catalog_sync__demo" in ids and "aliexpress_urgent_rerun__demo" in ids
    assert "aliexpress_catalog_sync__demo-kids" not in ids
    assert "aeops_slack_outbox" not in ids  # delivers messages: no store's report or health
    assert len(ids) == len(set(ids)) == 2 * len(access.ALL_STORE_DAG_IDS)


def test_a_per_store_dag_holds_exactly_its_store_never_one_whose_name_is_a_prefix() -> None:
    assert access.holds("aliexpress_catalog_sync__demo", "demo")
    assert not access.holds("aliexpress_catalog_sync__demo", "demo-kids")
    assert not access.holds("aliexpress_catalog_sync__demo-kids", "demo")
    assert access.holds("aliexpress_catalog_sync__a__b", "a__b")
    assert not access.holds("aliexpress_catalog_sync__a__b", "a")
    assert all(access.holds(dag_id, store.name) for dag_id in access.ALL_STORE_DAG_IDS for store in STORES)
    assert not access.holds("aeops_slack_outbox", "demo") and not access.holds("some_other_dag__demo", "demo")


# --------------------------------------------------------------------------------------------------- the rule
@pytest.mark.parametrize(("granted", "seen"), [
    (("aliexpress_catalog_sync__demo-kids",), ["demo-kids"]),
    (("aliexpress_certificate_expiry__a__b",), ["a__b"]),
    (("aliexpress_catalog_sync__a",), ["a"]),
    (("aliexpress_catalog_sync__demo", "aliexpress_logo_rotation__a"), ["demo", "a"]),
    (("aliexpress_store_settings",), ["demo", "demo-kids", "a", "a__b"]),  # an all-store DAG: every store
    (("aeops_slack_outbox", "aliexpress_catalog_sync__nope"), []),
    ((), []),
])
def test_a_person_sees_the_stores_of_which_they_may_read_any_dag_holding_its_data(granted, seen) -> None:
    readable = only(*granted)

    assert [s.name for s in access.visible_stores(STORES, readable)] == seen
    assert None not in readable.asked and all(readable.asked)  # never asked about "every DAG"


# ----------------------------------------------------------------------------------------- the pages apply it
QUERIES = ["", "?dag_id=aliexpress_catalog_sync", f"?dag_id={KIDS_DAG}", "?dag_id=~", "?store=demo",
           "?store=demo-kids&dag_id=aliexpress_catalog_sync__demo"]


def _url(path: str, query: str) -> str:
    return path + query


def test_a_person_with_one_per_store_dag_sees_only_that_store_through_every_route(client, grant) -> None:
    grant(KIDS_DAG)
    demo_report = f"/reports/demo/{DAG}/{quote(RUN_ID, safe='')}"
    kids_report = f"/reports/demo-kids/{KIDS_DAG}/{quote(KIDS_RUN_ID, safe='')}"
    for query in QUERIES:
        page = client.get(_url("/health", query))
        assert page.status_code == 200, query
        assert 'data-store="demo-kids"' in page.text and 'data-store="demo"' not in page.text, query
        assert client.get(_url("/health/demo-kids", query)).status_code == 200, query
        hidden, unknown = client.get(_url("/health/demo", query)), client.get(_url("/health/nope", query))
        assert hidden.status_code == unknown.status_code == 404, query
        assert hidden.json()["detail"] == unknown.json()["detail"].replace("nope", "demo")  # same as unknown
        assert "demo-kids" not in hidden.text and "demo-kids" not in unknown.text  # no configured name listed
        for refused in (demo_report, f"{demo_report}/x.html", f"/reports/demo/{KIDS_DAG}/{quote(KIDS_RUN_ID)}",
                        f"/reports/demo-kids/{DAG}/{quote(RUN_ID, safe='')}", f"/runs/{DAG}/{quote(RUN_ID)}"):
            assert client.get(_url(refused, query), follow_redirects=False).status_code in (403, 404), (refused, query)
        moved = client.get(_url(kids_report, query), follow_redirects=False)
        assert moved.status_code == 307, query
        name = moved.headers["location"].rsplit("/", 1)[1]
        assert client.get(f"{kids_report}/{name}").status_code == 200
        csv = client.get(f"{kids_report}/{name.replace('.html', '-findings.csv')}")
        assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
        tab = client.get(_url(f"/runs/{KIDS_DAG}/{quote(KIDS_RUN_ID, safe='')}", query), follow_redirects=False)
        assert tab.status_code == 307 and "/aeops/reports/demo-kids/" in tab.headers["location"], query


def test_a_person_with_an_all_store_dag_sees_every_store_and_without_any_sees_none(client, grant) -> None:
    grant("aliexpress_certificate_expiry")
    page = client.get("/health")
    assert 'data-store="demo"' in page.text and 'data-store="demo-kids"' in page.text
    assert client.get(f"/reports/demo/{DAG}/{quote(RUN_ID, safe='')}").status_code == 403  # not that DAG's runs

    grant("aeops_slack_outbox")
    for query in QUERIES:
        nothing = client.get(_url("/health", query))
        assert nothing.status_code == 403, query
        assert "data-store=" not in nothing.text and "无权读取任何存放店铺数据的 DAG" in nothing.text
        assert client.get(_url("/health/demo", query)).status_code == 404


def test_the_run_tab_of_a_readable_dag_lists_only_the_stores_that_dag_holds(client, grant, tmp_path) -> None:
    from aeops.store.ledger import Ledger

    ledger = Ledger(f"sqlite:///{tmp_path / 'aeops.db'}")
    ledger.runs.start("demo", KIDS_DAG, KIDS_RUN_ID)  # a stray row: another store's run under demo-kids' DAG id
    grant(KIDS_DAG)

    tab = client.get(f"/runs/{KIDS_DAG}/{quote(KIDS_RUN_ID, safe='')}", follow_redirects=False)

    assert tab.status_code == 307 and "/aeops/reports/demo-kids/" in tab.headers["location"]


def test_a_store_name_that_is_no_dag_id_maps_to_the_dag_ids_the_dag_files_make() -> None:
    """The DAG files name a store's DAGs with :func:`aeops.schedules.per_store_dag_id` (a space becomes ``_``); the
    access rule must ask about exactly those ids, or the store's people would see nothing."""
    from aeops.schedules import per_store_dag_id
    from aeops.ui.access import dag_ids_for_store, holds

    made = per_store_dag_id("aliexpress_catalog_sync", "my shop")
    assert made == "aliexpress_catalog_sync__my_shop"
    assert made in dag_ids_for_store("my shop") and holds(made, "my shop") and not holds(made, "demo")


def test_a_per_store_dags_certificate_report_opens_for_a_person_granted_only_that_dag(client, grant) -> None:
    """The certificate watch run by ``aliexpress_certificate_expiry__demo-kids`` files its report under that DAG:
    the link in its Slack alert opens for a person who may read that DAG's runs and nothing else."""
    import aeops.ui.app as ui  # lazy: as the fixtures do (FastAPI only for the tests that serve pages)

    config = ui.current_config()
    cert_dag, run_id = "aliexpress_certificate_expiry__demo-kids", "scheduled__2026-11-27T01:00:00+00:00"
    link = seed_certificate_listing(Ledger(config.resolved_database_url()), config.store("demo-kids"), run_id,
                                    cert_dag)
    path = link.removeprefix("http://airflow.example:8080/aeops")
    assert path == f"/reports/demo-kids/{cert_dag}/{quote(run_id, safe='')}"

    grant(cert_dag)
    moved = client.get(path, follow_redirects=False)
    assert moved.status_code == 307
    page = client.get(moved.headers["location"].removeprefix("http://airflow.example:8080/aeops"))
    assert page.status_code == 200 and "Wooden train" in page.text
    # the same run under the all-store id does not exist, and the person may not read that DAG anyway
    assert client.get(f"/reports/demo-kids/aliexpress_certificate_expiry/{quote(run_id, safe='')}",
                      follow_redirects=False).status_code in (403, 404)
    grant(KIDS_DAG)  # another of the store's DAGs: the store is visible, this DAG's report is not
    assert client.get(path, follow_redirects=False).status_code == 403
