"""One Airflow home per pytest-xdist worker: ``make test`` runs the suite over several processes.

The embedded Airflow home (``make setup``: SQLite metadata DB, aeops DB, ``airflow.cfg``, the aeops Fernet key,
the embedded connections) takes one writer at a time; end-to-end tests run DAGs with ``dag.test()`` against it.
Each worker therefore copies the prepared home to ``<home>/xdist/<worker>`` (fresh every session) and points
``AIRFLOW_HOME`` (and the aeops DB, when it is the home's default) at the copy, before anything imports Airflow.
``airflow.cfg`` holds the home's absolute paths (the metadata DB, the log folder): they are rewritten to the copy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

# what a worker's home needs from the prepared one (not the logs, nor other workers' copies)
COPIED = ("airflow.cfg", "airflow.db", "aeops.db", "aeops-fernet.key", "embedded", ".setup-done",
          "simple_auth_manager_passwords.json.generated")


def use_worker_home(worker: str) -> Path:
    """Copy the prepared Airflow home for ``worker`` (``gw0``, ``gw1`` ...) and point this process at the copy."""
    base = Path(os.environ["AIRFLOW_HOME"])
    home = base / "xdist" / worker
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    for name in COPIED:
        source = base / name
        if source.is_dir():
            shutil.copytree(source, home / name)
        elif source.exists():
            shutil.copy2(source, home / name)
    config = home / "airflow.cfg"
    if config.exists():
        config.write_text(config.read_text().replace(f"{base}/", f"{home}/"))
    if os.environ.get("AEOPS_DATABASE_URL") == f"sqlite:///{base}/aeops.db":
        os.environ["AEOPS_DATABASE_URL"] = f"sqlite:///{home}/aeops.db"
    os.environ["AIRFLOW_HOME"] = str(home)
    return home
