"""aeops' Celery settings (aeops.celery_config): Airflow's own, and aeops' task modules loaded once per worker so
every task process forked from it starts with them."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from aeops.celery_config import CELERY_CONFIG, PRELOADED, is_celery_worker

PROBE = """
import json, sys, threading
sys.argv = {argv!r}
import aeops.celery_config
from sqlalchemy import inspect
from aeops.store.models import SyncRun
from aeops import i18n
from aeops.reports.render import environment
print(json.dumps({{"loaded": [m for m in {modules!r} if m in sys.modules], "threads": threading.active_count(),
                  "configured": inspect(SyncRun).configured,
                  "warm": [lang for lang in i18n.LANGUAGES if i18n.translations.cache_info().currsize
                           and "run_report.html" in {{t.name for t in (environment(lang).cache or {{}}).values()}}],
                  "dataframes": [m for m in ("pandas", "polars", "pyarrow") if m in sys.modules]}}))
"""


def _probe(argv: list[str]) -> dict:
    code = PROBE.format(argv=argv, modules=list(PRELOADED))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_the_settings_are_airflows_own() -> None:
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    assert CELERY_CONFIG == DEFAULT_CELERY_CONFIG and CELERY_CONFIG is not DEFAULT_CELERY_CONFIG


def test_a_celery_worker_loads_the_task_modules_without_threads_or_the_dataframe_libraries() -> None:
    seen = _probe(["/usr/local/bin/airflow", "celery", "worker", "-H", "w1", "-c", "8"])
    assert seen["loaded"] == list(PRELOADED)
    assert seen["threads"] == 1  # nothing running when the pool forks
    assert seen["dataframes"] == []
    assert seen["configured"]  # a forked task's first aeops-DB query configures (and imports) nothing more
    assert seen["warm"] == ["zh-CN", "en"]  # each finish neither compiles the catalogs nor the report's template


def test_the_scheduler_reading_the_same_setting_loads_nothing_more() -> None:
    seen = _probe(["/usr/local/bin/airflow", "scheduler"])
    assert "aeops.sync.finish" not in seen["loaded"] and "aeops.verify.runner" not in seen["loaded"]
    assert not seen["configured"]
    assert seen["warm"] == []


@pytest.mark.parametrize(("argv", "worker"), [
    (["airflow", "celery", "worker"], True),
    (["/opt/venv/bin/airflow", "celery", "worker", "-q", "default"], True),
    (["celery", "--app", "airflow.providers.celery.executors.celery_executor.app", "worker"], True),
    (["airflow", "celery", "flower"], False),
    (["airflow", "scheduler"], False),
    (["airflow", "dag-processor"], False),
])
def test_only_a_worker_process_is_a_celery_worker(argv: list[str], worker: bool) -> None:
    assert is_celery_worker(argv) is worker
