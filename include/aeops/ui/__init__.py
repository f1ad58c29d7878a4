"""aeops.ui: the Airflow UI plugin's pages (run reports, catalog health) and its UI time-zone default.

``plugins/aeops_ui_plugin.py`` registers them with Airflow; :mod:`aeops.ui.app` (FastAPI, imported only inside
the api-server, on the first request) serves the pages; :mod:`aeops.ui.access` decides which stores a person
sees from the DAGs they may read; :mod:`aeops.ui.timezone` is a tiny ASGI middleware.
This package sits at the top of the layers, beside the CLI's commands: it reads through ``reports``, ``catalog``
and ``notify`` and nothing imports it.
"""
