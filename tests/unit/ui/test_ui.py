"""The aeops UI plugin's app and its Airflow-UI time-zone default, in-process (Airflow's access checks stand in
as "allowed": tests/unit/ui/conftest.py; test_access.py restricts them; tests/integration/test_ui_plugin.py,
test_ui_access.py and tests/browser check the real ones on an api-server)."""

from __future__ import annotations

import asyncio
import importlib.util
from pathlib import Path
from urllib.parse import quote

import pytest

from aeops.config import load_config
from aeops.ui.timezone import UiTimezoneMiddleware, snippet, store_timezone

ROOT = Path(__file__).resolve().parents[3]
RUN_ID = "manual__2026-11-27T02:00:00+00:00"
DAG = "aliexpress_catalog_sync"


# ------------------------------------------------------------------------------------------ time-zone default
def _serve(app, path: str = "/", method: str = "GET") -> tuple[dict, bytes]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(app({"type": "http", "method": method, "path": path, "root_path": ""}, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    return dict(start["headers"]), b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def _upstream(body: bytes, content_type: bytes = b"text/html; charset=utf-8", chunks: int = 1):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
        step = max(1, len(body) // chunks)
        parts = [body[i:i + step] for i in range(0, len(body), step)] or [b""]
        for i, part in enumerate(parts):
            await send({"type": "http.response.body", "body": part, "more_body": i < len(parts) - 1})
    return app


SHELL = b"<!doctype html><html><head><base href='/'></head><body><div id=root></div></body></html>"


def test_the_airflow_ui_shell_defaults_to_the_store_zone_and_keeps_a_users_choice() -> None:
    app = UiTimezoneMiddleware(_upstream(SHELL, chunks=3), zone_of=lambda: "Asia/Shanghai")

    headers, body = _serve(app, "/dags/x")

    assert body.startswith(b"<!doctype html><html><head>" + snippet("Asia/Shanghai"))
    assert int(headers[b"content-length"]) == len(body)
    assert b'if(localStorage.getItem("timezone")===null)' in body  # a zone picked in the user menu wins
    assert b'localStorage.setItem("timezone","\\"Asia/Shanghai\\"")' in body  # the UI keeps JSON strings


@pytest.mark.parametrize(("path", "content_type"), [("/api/v2/dags", b"text/html"), ("/aeops/health", b"text/html"),
                                                    ("/dags", b"application/json")])
def test_api_plugin_and_non_html_responses_pass_untouched(path: str, content_type: bytes) -> None:
    app = UiTimezoneMiddleware(_upstream(SHELL, content_type), zone_of=lambda: "Asia/Shanghai")
    assert _serve(app, path)[1] == SHELL


def test_the_zone_comes_from_the_stores_or_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import aeops.ui.timezone as timezone

    monkeypatch.setattr(timezone, "current_config", lambda: load_config(
        {"stores": [{"name": "a", "timezone": "Europe/Berlin"}, {"name": "b"}]}))
    assert store_timezone() == "Europe/Berlin"
    monkeypatch.setenv("AEOPS_UI_TIMEZONE", "off")
    assert store_timezone() is None
    app = UiTimezoneMiddleware(_upstream(SHELL))
    assert _serve(app)[1] == SHELL


# ------------------------------------------------------------------------------------------------ the pages
def test_the_health_page_shows_every_store_in_chinese(client) -> None:
    page = client.get("/health")

    assert page.status_code == 200 and "default-src 'none'" in page.headers["content-security-policy"]
    assert '<html lang="zh-CN">' in page.text and "商品目录健康" in page.text
    assert 'data-store="demo"' in page.text and 'data-store="demo-kids"' in page.text
    assert "2026-11-27 10:00 (UTC+08:00)" in page.text
    english = client.get("/health/demo-kids", params={"lang": "en"})
    assert '<html lang="en">' in english.text and "Catalog health" in english.text
    assert 'data-store="demo"' not in english.text
    assert client.get("/health/nope").status_code == 404


def test_a_report_is_served_at_its_stable_address_and_nothing_else_of_the_folder(client, tmp_path: Path) -> None:
    (tmp_path / "reports" / "demo" / "secret.txt").write_text("no")
    stable = f"/reports/demo/{DAG}/{quote(RUN_ID, safe='')}"

    moved = client.get(stable, follow_redirects=False)
    assert moved.status_code == 307
    assert moved.headers["location"].startswith(f"http://airflow.example:8080/aeops{stable}/demo-manual__")
    name = moved.headers["location"].rsplit("/", 1)[1]
    page = client.get(f"{stable}/{name}")
    assert page.status_code == 200 and "商品目录报告" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'; img-src data:")
    csv = client.get(f"{stable}/{name.replace('.html', '-findings.csv')}")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")
    assert "attachment" in csv.headers["content-disposition"]
    for other in ("secret.txt", "..%2Fdemo-kids", "x.html"):
        assert client.get(f"{stable}/{other}").status_code == 404, other
    assert client.get(f"/reports/demo-kids/{DAG}/{quote(RUN_ID, safe='')}").status_code == 404  # no such run


def test_the_dag_run_tab_opens_the_one_store_report(client) -> None:
    tab = client.get(f"/runs/{DAG}/{quote(RUN_ID, safe='')}", follow_redirects=False)
    assert tab.status_code == 307 and "/aeops/reports/demo/" in tab.headers["location"]
    empty = client.get(f"/runs/{DAG}/nothing-here")
    assert empty.status_code == 200 and "尚）未在 aeops 数据库中记录任何店铺运行" in empty.text


def test_the_plugin_file_is_cheap_to_load_and_declares_the_app_and_views() -> None:
    import sys

    spec = importlib.util.spec_from_file_location("aeops_ui_plugin_test", ROOT / "plugins" / "aeops_ui_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    plugin = module.AeopsUiPlugin
    assert plugin.name == "aeops" and plugin.fastapi_apps[0]["url_prefix"] == "/aeops"
    assert {v["destination"] for v in plugin.external_views} == {"dag_run", "nav"}
    assert isinstance(plugin.fastapi_apps[0]["app"], module.LazyASGIApp)
    assert module.LazyASGIApp("aeops.ui.app:app")._app is None  # FastAPI is imported on the first request only
    assert "aeops_ui_plugin" not in sys.modules or sys.modules["aeops_ui_plugin"] is not module
