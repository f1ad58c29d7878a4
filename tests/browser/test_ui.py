"""What the operations team sees in a real browser: the run report inside the Airflow UI (in Chinese, with its
chart and image previews), the urgent re-run's trigger form, the catalog-health page of both demo stores, and a
refusal for anyone not logged in."""

from __future__ import annotations

import time
from urllib.parse import quote, urlparse

import httpx

from tests.airflow_server import SEEDED_RUN_ID

SYNC_DAG = "aliexpress_catalog_sync"
URGENT_DAG = "aliexpress_urgent_rerun"


def _frame(page, fragment: str, timeout_s: float = 30):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for frame in page.frames:
            if urlparse(frame.url).path.startswith(fragment):
                return frame
        page.wait_for_timeout(200)
    raise AssertionError(f"no frame with {fragment!r}: {[f.url for f in page.frames]}")


def test_the_run_report_opens_from_the_dag_run_page_in_chinese_with_chart_and_thumbnails(airflow_server, logged_in):
    # the Airflow DAG run the report belongs to (created through the REST API; the aeops DB has its store run)
    answer = httpx.post(f"{airflow_server.url}/api/v2/dags/{SYNC_DAG}/dagRuns", headers=airflow_server.headers(),
                        json={"dag_run_id": SEEDED_RUN_ID, "logical_date": None, "conf": {}}, timeout=30)
    assert answer.status_code in (200, 409), answer.text
    page = logged_in.page

    page.goto(f"{airflow_server.url}/dags/{SYNC_DAG}/runs/{quote(SEEDED_RUN_ID, safe='')}")
    page.get_by_text("aeops 报告 / Report", exact=True).click()  # one name for both languages
    tab = _frame(page, f"/aeops/runs/{SYNC_DAG}/")  # both demo stores ran in this DAG run: one line each
    tab.wait_for_selector("tr.warn")
    assert tab.locator("tr.warn").count() == 2
    rows = tab.locator("tr.warn")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(2)] == ["demo", "demo-kids"]
    assert "部分完成" in rows.first.inner_text()
    rows.first.get_by_role("link", name="打开报告").click()
    report = _frame(page, "/aeops/reports/demo/")
    report.wait_for_selector("#headline")

    assert report.evaluate("document.documentElement.lang") == "zh-CN"
    headline = report.locator("#headline").inner_text()
    assert "个商品已更新" in headline and "行需要您处理" in headline, headline
    assert report.locator("[data-status]").inner_text() == "部分完成"
    bars = report.locator("#findings-chart .chart .bar")
    assert bars.count() >= 10  # one bar per finding code of the sample export
    assert "IMG-UNREADABLE" in report.locator("#findings-chart").inner_text()
    previews = report.locator("#rejected-images img.preview")
    assert previews.count() >= 2
    decoded = report.evaluate("[...document.querySelectorAll('img.preview')].map(i => i.complete && i.naturalWidth)")
    assert decoded and all(w and w > 0 for w in decoded), decoded  # every preview really decodes
    assert report.locator("#fixed-images img.preview").count() == 2  # before and after of the flattened PNG
    assert "处理建议" in report.locator("#rejected-rows").inner_text()
    assert "(UTC+08:00)" in report.locator("p.meta").first.inner_text()  # store time, offset shown
    product_link = report.locator("#failure-rows a").first.get_attribute("href")
    assert product_link.startswith("http://127.0.0.1:8765/store/en/item/")
    logged_in.shot("1-run-report-in-airflow")
    assert not logged_in.errors, logged_in.errors


def test_the_urgent_rerun_trigger_form_starts_a_run(airflow_server, logged_in):
    page = logged_in.page
    reason = f"browser test {time.time_ns()}: Black Friday repricing"

    page.goto(f"{airflow_server.url}/dags/{URGENT_DAG}")
    page.get_by_role("button", name="Trigger").click()
    form = page.get_by_role("dialog")
    form.locator("#element_store").fill("demo")
    form.get_by_role("combobox").first.click()
    page.get_by_role("option", name="Price override (file or percentage)").click()
    form.locator("#element_reason").fill(reason)
    logged_in.shot("2-urgent-trigger-form")
    form.get_by_role("button", name="Trigger").click()
    page.wait_for_url(f"**/dags/{URGENT_DAG}/runs/**")

    runs = httpx.get(f"{airflow_server.url}/api/v2/dags/{URGENT_DAG}/dagRuns", headers=airflow_server.headers(),
                     timeout=30).json()["dag_runs"]
    mine = [r for r in runs if r["conf"].get("reason") == reason]
    assert len(mine) == 1, runs
    run = mine[0]
    assert run["conf"]["store"] == "demo" and run["conf"]["mode"] == "price_override"
    assert run["run_type"] == "manual" and run["state"] in ("queued", "running", "success", "failed")
    assert run["dag_run_id"] in page.url.replace("%3A", ":").replace("%2B", "+")
    # the Airflow UI shows the stores' time zone by default (no server setting exists; aeops sets the UI's own)
    assert page.evaluate("localStorage.getItem('timezone')") == '"Asia/Shanghai"'
    assert page.get_by_role("button", name="+08:00").count() == 1
    logged_in.shot("2-urgent-run-started")
    assert not logged_in.errors, logged_in.errors


def test_the_health_page_shows_both_demo_stores(airflow_server, logged_in):
    page = logged_in.page

    page.goto(f"{airflow_server.url}/")
    page.get_by_role("button", name="Browse").click()
    page.get_by_role("menuitem", name="商品目录健康 / Catalog health").click()
    health = _frame(page, "/aeops/health")
    health.wait_for_selector("section.store-card")

    stores = health.locator("section.store-card")
    assert sorted(stores.evaluate_all("els => els.map(e => e.dataset.store)")) == ["demo", "demo-kids"]
    for name in ("demo", "demo-kids"):
        card = health.locator(f"section[data-store='{name}']")
        assert f"店铺 {name}" in card.locator("h2").inner_text()
        assert card.locator("table.runs tr.warn, table.runs tr.ok").count() >= 2  # the seeded runs
        assert card.locator("figure.trend svg g.column").count() >= 2
        assert "Acme" in card.inner_text() and "紧急重跑" in card.inner_text()
    assert "商品目录健康" in health.locator("h1").inner_text()
    logged_in.shot("3-catalog-health")
    assert not logged_in.errors, logged_in.errors


def test_anonymous_access_to_the_plugin_is_refused(airflow_server, anonymous):
    page = anonymous.page
    for path in ("/aeops/health", f"/aeops/reports/demo/{SYNC_DAG}/{quote(SEEDED_RUN_ID, safe='')}"):
        response = page.goto(f"{airflow_server.url}{path}")

        assert response.status == 401, path
        assert page.locator("section.store-card, #headline").count() == 0
        assert page.get_by_role("link", name="Log in to Airflow / 登录 Airflow").count() == 1
    anonymous.shot("4-anonymous-refused")
