"""Links people open from Slack and reports: the Airflow UI, the aeops UI plugin's pages, always absolute http(s).

Every link starts at the Airflow API server's public base URL (``AIRFLOW__API__BASE_URL``, else ``[api]
base_url``, else ``http://localhost:8080``), the address browsers use; a file path on a worker is never a link
(nobody can open ``file:///opt/airflow/...`` from Slack). The aeops plugin (``plugins/aeops_ui_plugin.py``)
serves its pages under :data:`UI_PREFIX`; the routes below are its contract.
"""

from __future__ import annotations

import os
from urllib.parse import quote

DEFAULT_API_BASE_URL = "http://localhost:8080"
UI_PREFIX = "/aeops"  # where the plugin's FastAPI app is mounted on the api-server
RUN_TAB_ROUTE = "aeops-report"  # the DAG run page's tab (external view url_route)


def api_base_url() -> str:
    """The Airflow UI base: ``AIRFLOW__API__BASE_URL``, else ``[api] base_url``, else localhost:8080."""
    env = os.environ.get("AIRFLOW__API__BASE_URL")
    if env:
        return env.rstrip("/")
    try:
        from airflow.configuration import conf

        value = conf.get("api", "base_url", fallback=None)
    except Exception:  # noqa: BLE001 - outside Airflow (CLI, unit tests) the default is fine
        value = None
    return (value or DEFAULT_API_BASE_URL).rstrip("/")


def _q(part: str) -> str:
    return quote(str(part), safe="")


def task_log_url(
    dag_id: str,
    run_id: str,
    task_id: str | None = None,
    *,
    map_index: int | None = None,
    try_number: int | None = None,
    base_url: str | None = None,
) -> str:
    """The Airflow 3 UI page of a task try (its log), or of the run when ``task_id`` is None.

    Same route as ``RuntimeTaskInstance.log_url``: ``{base}/dags/{dag}/runs/{run}/tasks/{task}``
    plus ``/mapped/{i}`` for mapped tasks and ``?try_number=N``.
    """
    base = (base_url or api_base_url()).rstrip("/")
    url = f"{base}/dags/{_q(dag_id)}/runs/{_q(run_id)}"
    if task_id is None:
        return url
    url += f"/tasks/{_q(task_id)}"
    if map_index is not None and map_index >= 0:
        url += f"/mapped/{map_index}"
    if try_number is not None and try_number > 0:
        url += f"?try_number={try_number}"
    return url


def report_url(store: str, dag_id: str, run_id: str, *, base_url: str | None = None) -> str:
    """The stable address of a store's run report (the plugin serves it from the reports location)."""
    base = (base_url or api_base_url()).rstrip("/")
    return f"{base}{UI_PREFIX}/reports/{_q(store)}/{_q(dag_id)}/{_q(run_id)}"


def run_tab_url(dag_id: str, run_id: str, *, base_url: str | None = None) -> str:
    """The DAG run's "aeops report" tab in the Airflow UI."""
    return f"{task_log_url(dag_id, run_id, base_url=base_url)}/plugin/{RUN_TAB_ROUTE}"


def health_url(store: str | None = None, *, base_url: str | None = None) -> str:
    """The catalog-health page of ``store`` (all stores when None)."""
    base = (base_url or api_base_url()).rstrip("/")
    return f"{base}{UI_PREFIX}/health" + (f"/{_q(store)}" if store else "")


def is_browser_link(url: str | None) -> bool:
    """True for an absolute http(s) URL: the only kind of link aeops puts in Slack."""
    return bool(url) and str(url).lower().startswith(("http://", "https://"))
