"""The aeops Airflow plugin: run reports and catalog health inside the Airflow UI (Airflow 3 plugin interface).

- ``fastapi_apps``: the aeops pages at ``/aeops`` on the api-server (``aeops.ui.app``), protected like the Airflow
  UI (session cookie or API token), each store shown only to people who may read its DAGs (``aeops.ui.access``);
- ``external_views``: an "aeops 报告 / Report" tab on every DAG run page and "商品目录健康 / Catalog health" in the
  Browse menu (Airflow 3.3 shows a view's one ``name`` as it is, in every UI language: so each name reads in
  both of the stores' languages; the pages themselves follow the store's language);
- ``fastapi_root_middlewares``: the Airflow UI defaults to the stores' time zone (``aeops.ui.timezone``).

Every Airflow process loads this file, each task process included, so it imports nothing heavy: the FastAPI
app is imported on the api-server's first request to ``/aeops`` (:class:`LazyASGIApp`). The file is not
called ``aeops.py``: Airflow registers a plugin module under its file name and would shadow the package.
"""

from __future__ import annotations

import importlib
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from aeops.notify.links import RUN_TAB_ROUTE, UI_PREFIX
from aeops.ui.timezone import UiTimezoneMiddleware

RUN_TAB_NAME = "aeops 报告 / Report"
HEALTH_MENU_NAME = "商品目录健康 / Catalog health"


class LazyASGIApp:
    """An ASGI app that imports ``module:attribute`` on its first request (inside the api-server only)."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self._app is None:
            module, _, attribute = self.target.partition(":")
            self._app = getattr(importlib.import_module(module), attribute)
        await self._app(scope, receive, send)


class AeopsUiPlugin(AirflowPlugin):
    name = "aeops"
    fastapi_apps = [{"app": LazyASGIApp("aeops.ui.app:app"), "url_prefix": UI_PREFIX, "name": "aeops"}]
    fastapi_root_middlewares = [{"middleware": UiTimezoneMiddleware, "args": [], "kwargs": {},
                                 "name": "aeops: the UI defaults to the stores' time zone"}]
    # hrefs without a leading slash resolve against the UI's <base href>, so a sub-path base_url works too
    external_views = [
        {"name": RUN_TAB_NAME, "href": f"{UI_PREFIX.lstrip('/')}/runs/{{DAG_ID}}/{{RUN_ID}}",
         "destination": "dag_run", "url_route": RUN_TAB_ROUTE},
        {"name": HEALTH_MENU_NAME, "href": f"{UI_PREFIX.lstrip('/')}/health", "destination": "nav",
         "category": "browse", "url_route": "aeops-health"},
    ]
