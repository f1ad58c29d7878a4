"""The aeops pages inside the Airflow UI: run reports and catalog health (a FastAPI app the plugin mounts).

Mounted by ``plugins/aeops_ui_plugin.py`` at :data:`aeops.notify.links.UI_PREFIX` on the api-server and imported
there on the first request only (FastAPI and Airflow's security module cost seconds to import, and every task
process loads the plugin file).

Access follows the Airflow UI's own rules: every route needs a valid Airflow session (the UI's ``_token`` cookie)
or an API token (``Authorization: Bearer``), checked by ``airflow.api_fastapi.core_api.security``; a plugin
app gets no protection by default. Anonymous requests get 401 (a browser gets a page that sends it to the login).
Then each page asks Airflow's auth manager explicitly, per DAG id, whether the person may read that DAG's runs
(:func:`readable_dags`), and shows only the stores :mod:`aeops.ui.access` allows from the answers: nothing is
taken from the query string (Airflow's ``requires_access_dag`` without a DAG id in the path would read
``?dag_id=``), a store the person may not see is left out of lists, and an unknown or hidden store's 404 names
no configured store.

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

from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from airflow.api_fastapi.app import get_auth_manager
from airflow.api_fastapi.auth.managers.models.resource_details import AccessView, DagAccessEntity, DagDetails
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_view
from airflow.models.dag import DagModel
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
from aeops.ui import access
from aeops.ui.settings import current_config

log = get_logger(__name__)

MAX_REPORT_BYTES = 64 * 1024 * 1024
# Reports are static: no script, styles inline, images embedded as data: URIs. Nothing else may load.
REPORT_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'self'")
PAGE_CSP = REPORT_CSP.replace("img-src data:", "img-src data: 'self'")
# The access checks (kept as names so tests can stand in for Airflow's auth manager)
SEE_WEBSITE = requires_access_view(AccessView.WEBSITE)  # any logged-in user of the Airflow UI


def readable_dags(user: GetUserDep) -> access.ReadableDags:
    """The person's question to Airflow's auth manager: of these DAG ids, whose runs may they read?

    One ``is_authorized_dag(method="GET", access_entity=RUN, details=DagDetails(id=...))`` per DAG id, with the
    DAG's team (Airflow 3 multi-team): never a check without a DAG id, which an auth manager may read as "every
    DAG" (FAB then asks only for the global "DAG Runs" permission) or fill from the query string.
    """
    manager = get_auth_manager()

    def readable(dag_ids: Iterable[str]) -> set[str]:
        ids = sorted(set(dag_ids))
        teams = DagModel.get_dag_id_to_team_name_mapping(ids)
        return {dag_id for dag_id in ids if manager.is_authorized_dag(
            method="GET", access_entity=DagAccessEntity.RUN,
            details=DagDetails(id=dag_id, team_name=teams.get(dag_id)), user=user)}

    return readable


Readable = Annotated[access.ReadableDags, Depends(readable_dags)]
NO_STORE = "no store {store} here"  # the same for an unknown store and one the person may not see

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


def _visible_store(config: AeopsConfig, name: str, readable: access.ReadableDags) -> StoreConfig:
    """The store called ``name`` if the person may see it; else 404, the same whether it exists or not."""
    for store in access.visible_stores([s for s in config.stores if s.name == name], readable):
        return store
    raise HTTPException(status_code=404, detail=NO_STORE.format(store=name))


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


@app.get("/health", response_class=HTMLResponse)
def health_all(readable: Readable, lang: str | None = Query(None, description="zh-CN or en")) -> HTMLResponse:
    """Catalog health of every store the person may see (403 with a page saying so when there is none)."""
    config = _config()
    stores = access.visible_stores(config.stores, readable)
    language = _lang(lang, (stores or config.stores)[0].language)
    if not stores:
        return _page("health.html", language, {"single": False, "items": [], "none_visible": True}, 403)
    return _page("health.html", language, {"single": False, **_health_context(config, stores, language)})


@app.get("/health/{store}", response_class=HTMLResponse)
def health_store(store: str, readable: Readable,
                 lang: str | None = Query(None, description="zh-CN or en")) -> HTMLResponse:
    """Catalog health of one store."""
    config = _config()
    chosen = _visible_store(config, store, readable)
    language = _lang(lang, chosen.language)
    return _page("health.html", language, {"single": True, **_health_context(config, [chosen], language)})


def _require_runs_of(dag_id: str, readable: access.ReadableDags) -> None:
    if dag_id not in readable([dag_id]):
        raise HTTPException(status_code=403, detail=f"you may not read the runs of {dag_id}")


@app.get("/runs/{dag_id}/{run_id}", response_class=HTMLResponse)
def run_tab(dag_id: str, run_id: str, readable: Readable, lang: str | None = Query(None)) -> Response:
    """The DAG run's tab: the one store's report, or a list when the run covered several stores."""
    _require_runs_of(dag_id, readable)
    config = _config()
    runs = [r for r in _ledger(config).runs.of_dag_run(dag_id, run_id) if access.holds(dag_id, r.store)]
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


@app.get("/reports/{store}/{dag_id}/{run_id}")
def report(store: str, dag_id: str, run_id: str, readable: Readable) -> RedirectResponse:
    """The stable report address: redirects to the report file in the run's folder (so its CSV link works)."""
    run = _run_with_report(store, dag_id, run_id, readable)
    return RedirectResponse(_file_url(run.store, dag_id, run_id, report_names(store, run_id)[0]), status_code=307)


@app.get("/reports/{store}/{dag_id}/{run_id}/{name}")
def report_file(store: str, dag_id: str, run_id: str, name: str, readable: Readable) -> Response:
    """The report's HTML or its findings CSV; no other name is served (nothing else of the folder leaks)."""
    run = _run_with_report(store, dag_id, run_id, readable)
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


def _run_with_report(store: str, dag_id: str, run_id: str, readable: access.ReadableDags) -> Any:
    """The store's run of the DAG, if the person may read it: the store visible to them, the DAG holding the store's
    data and its runs readable to them (as Airflow would show the DAG run itself)."""
    config = _config()
    _visible_store(config, store, readable)
    if not access.holds(dag_id, store):
        raise HTTPException(status_code=404, detail=f"no run {run_id} of {dag_id} for store {store}")
    _require_runs_of(dag_id, readable)
    run = _ledger(config).runs.find(store, run_id, dag_id)
    if run is None:
        raise HTTPException(status_code=404, detail=f"no run {run_id} of {dag_id} for store {store}")
    if not run.report_path:
        raise HTTPException(status_code=404, detail=f"run {run_id} of store {store} has no report (yet)")
    return run
