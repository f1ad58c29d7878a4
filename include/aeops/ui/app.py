"""The aeops pages inside the Airflow UI: run reports and catalog health (a FastAPI app the plugin mounts).

Mounted by ``plugins/aeops_ui_plugin.py`` at :data:`aeops.notify.links.UI_PREFIX` on the api-server and imported
there on the first request only (FastAPI and Airflow's security module cost seconds to import, and every task
process loads the plugin file).

Access follows the Airflow UI's own rules: every route needs a valid Airflow session (the UI's ``_token`` cookie)
or an API token (``Authorization: Bearer``), checked by ``airflow.api_fastapi.core_api.security``; a plugin
app gets no protection by default. A page about runs also needs read access to DAG runs (of that DAG when the
URL names one). Anonymous requests get 401 (a browser gets a page that sends it to the login).

Routes (below the prefix):

- ``GET /health`` (every store) and ``GET /health/{store}``: catalog health (:mod:`aeops.reports.health`);
- ``GET /runs/{dag_id}/{run_id}``: the DAG run page's "aeops report" tab: each store's report of that run;
- ``GET /reports/{store}/{dag_id}/{run_id}``: the stable report address Slack links to; it redirects to
- ``GET /reports/{store}/{dag_id}/{run_id}/{file}``: the report's HTML or findings CSV, read from the store's
  reports location through :mod:`aeops.locations` (a folder, or object storage through ObjectStoragePath).

Pages are in the store's language (``?lang=en`` or ``?lang=zh-CN`` overrides) and show times in the store's
time zone.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity
from airflow.api_fastapi.core_api.security import requires_access_dag, requires_access_view
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from aeops import i18n, locations
from aeops.config import AeopsConfig, ConfigError, StoreConfig
from aeops.notify.links import UI_PREFIX, api_base_url, report_url, task_log_url
from aeops.reports import charts, labels
from aeops.reports.health import store_health
from aeops.reports.render import render
from aeops.reports.run_report import report_names
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.ui.settings import current_config

log = get_logger(__name__)

MAX_REPORT_BYTES = 64 * 1024 * 1024
# Reports are static: no script, styles inline, images embedded as data: URIs. Nothing else may load.
REPORT_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'self'")
PAGE_CSP = REPORT_CSP.replace("img-src data:", "img-src data: 'self'")
# The access checks (kept as names so tests can stand in for Airflow's auth manager)
SEE_WEBSITE = requires_access_view(AccessView.WEBSITE)  # any logged-in user of the Airflow UI
READ_DAG_RUNS = requires_access_dag("GET", DagAccessEntity.RUN)  # of the DAG in the URL, else of every DAG
READ_RUNS = Depends(READ_DAG_RUNS)

app = FastAPI(title="aeops", description="aeops run reports and catalog health",
              dependencies=[Depends(SEE_WEBSITE)], docs_url=None, redoc_url=None)


@app.exception_handler(HTTPException)
async def _refused(request: Request, exc: HTTPException) -> Response:
    """401 for a browser: a short page that leads to Airflow's login and back; JSON for everything else."""
    headers = dict(exc.headers or {})
    if exc.status_code == 401 and "text/html" in request.headers.get("accept", ""):
        target = f"{api_base_url()}/api/v2/auth/login?next={quote(str(request.url), safe='')}"
        body = (f'<!doctype html><meta charset="utf-8"><title>401</title><p>Not logged in / 未登录. '
                f'<a href="{target}" target="_top">Log in to Airflow / 登录 Airflow</a></p>')
        return HTMLResponse(body, status_code=401, headers={**headers, "Content-Security-Policy": PAGE_CSP})
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def _config() -> AeopsConfig:
    try:
        return current_config()
    except ConfigError as exc:
        raise HTTPException(status_code=500, detail=str(exc)) from None


def _store(config: AeopsConfig, name: str) -> StoreConfig:
    try:
        return config.store(name)
    except ConfigError as exc:
        raise HTTPException(status_code=404, detail=str(exc)) from None


def _ledger(config: AeopsConfig) -> Ledger:
    return Ledger(config.resolved_database_url(), migrate=False)


def _lang(choice: str | None, default: str) -> str:
    return i18n.normalize(choice) if choice else default


def _page(template: str, lang: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    html = render(template, lang, {"prefix": UI_PREFIX, "base_url": api_base_url(), **context},
                  extra_packages=("aeops.ui",))
    return HTMLResponse(html, status_code=status_code, headers={"Content-Security-Policy": PAGE_CSP,
                                                                "X-Content-Type-Options": "nosniff"})


def _health_context(config: AeopsConfig, stores: list[StoreConfig], lang: str) -> dict[str, Any]:
    _ = i18n.translator(lang)
    ledger = _ledger(config)
    items = []
    for store in stores:
        try:
            health = store_health(ledger, store)
        except Exception as exc:  # noqa: BLE001 - one store's broken data must not hide the others
            log.warning("health of %s could not be read: %s: %s", store.name, type(exc).__name__, exc)
            items.append({"store": store, "error": f"{type(exc).__name__}: {exc}"[:300]})
            continue
        items.append({
            "store": store, "health": health, "error": None,
            "trend_chart": charts.stacked_columns(health.trend, title=_("Findings by code, last {n} daily syncs")
                                                  .format(n=len(health.trend)),
                                                  series_order=[c for c, _n in health.totals],
                                                  names={c: labels.code_name(c, lang) for c, _n in health.totals}),
            "totals_chart": charts.bar_chart([charts.Bar(c, n, "bad", name=labels.code_name(c, lang))
                                              for c, n in health.totals[:12]], title=_("Findings by code")),
            "report_url": lambda run, s=store.name: report_url(s, run.dag_id, run.run_id),
            "run_url": lambda run: task_log_url(run.dag_id, run.run_id),
        })
    return {"items": items}


@app.get("/", include_in_schema=False)
def index() -> RedirectResponse:
    """Redirect the UI's root to the health page."""
    return RedirectResponse(f"{api_base_url()}{UI_PREFIX}/health", status_code=307)


@app.get("/health", response_class=HTMLResponse, dependencies=[READ_RUNS])
def health_all(lang: str | None = Query(None, description="zh-CN or en")) -> HTMLResponse:
    """Catalog health of every configured store."""
    config = _config()
    language = _lang(lang, config.stores[0].language)
    return _page("health.html", language, {"single": False, **_health_context(config, config.stores, language)})


@app.get("/health/{store}", response_class=HTMLResponse, dependencies=[READ_RUNS])
def health_store(store: str, lang: str | None = Query(None, description="zh-CN or en")) -> HTMLResponse:
    """Catalog health of one store."""
    config = _config()
    chosen = _store(config, store)
    language = _lang(lang, chosen.language)
    return _page("health.html", language, {"single": True, **_health_context(config, [chosen], language)})


@app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse, dependencies=[READ_RUNS])
def run_tab(dag_id: str, run_id: str, lang: str | None = Query(None)) -> Response:
    """The DAG run's tab: the one store's report, or a list when the run covered several stores."""
    config = _config()
    runs = _ledger(config).runs.of_dag_run(dag_id, run_id)
    with_report = [r for r in runs if r.report_path]
    if len(with_report) == 1 and len(runs) == 1:
        run = with_report[0]
        return RedirectResponse(_file_url(run.store, dag_id, run_id, report_names(run.store, run_id)[0]), 307)
    language = _lang(lang, config.stores[0].language)
    tz = {s.name: s.timezone for s in config.stores}
    return _page("run_tab.html", language, {"dag_id": dag_id, "run_id": run_id, "runs": runs, "tz": tz,
                                             "report_url": lambda r: report_url(r.store, r.dag_id, r.run_id)})


def _file_url(store: str, dag_id: str, run_id: str, name: str) -> str:
    return f"{report_url(store, dag_id, run_id)}/{quote(name, safe='')}"


@app.get("/reports/{store}/{dag_id}/{run_id}", dependencies=[READ_RUNS])
def report(store: str, dag_id: str, run_id: str) -> RedirectResponse:
    """The stable report address: redirects to the report file in the run's folder (so its CSV link works)."""
    run = _run_with_report(store, dag_id, run_id)
    return RedirectResponse(_file_url(run.store, dag_id, run_id, report_names(store, run_id)[0]), status_code=307)


@app.get("/reports/{store}/{dag_id}/{run_id}/{name}", dependencies=[READ_RUNS])
def report_file(store: str, dag_id: str, run_id: str, name: str) -> Response:
    """The report's HTML or its findings CSV; no other name is served (nothing else of the folder leaks)."""
    run = _run_with_report(store, dag_id, run_id)
    html_name, csv_name = report_names(store, run_id)
    if name not in (html_name, csv_name):
        raise HTTPException(status_code=404, detail=f"{name} is not a file of this report")
    location = run.report_path if name == html_name else _sibling(run.report_path, csv_name)
    try:
        data = locations.read_bytes(location, MAX_REPORT_BYTES)
    except locations.LocationError as exc:
        log.warning("report of %s %s not readable: %s", store, run_id, exc)
        raise HTTPException(status_code=404, detail="the report file is not in the reports location (any more)") \
            from None
    if name == csv_name:
        return Response(data, media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f"attachment; filename=\"{csv_name}\"", "X-Content-Type-Options": "nosniff"})
    return Response(data, media_type="text/html; charset=utf-8", headers={
        "Content-Security-Policy": REPORT_CSP, "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})


def _sibling(report_path: str, name: str) -> str:
    """The location of ``name`` in the folder of ``report_path`` (a path or a URL)."""
    if locations.is_url(report_path):
        return report_path.rsplit("/", 1)[0] + "/" + name

    return str(Path(report_path).with_name(name))


def _run_with_report(store: str, dag_id: str, run_id: str) -> Any:
    config = _config()
    _store(config, store)
    run = _ledger(config).runs.find(store, run_id, dag_id)
    if run is None:
        raise HTTPException(status_code=404, detail=f"no run {run_id} of {dag_id} for store {store}")
    if not run.report_path:
        raise HTTPException(status_code=404, detail=f"run {run_id} of store {store} has no report (yet)")
    return run
