"""CeleryExecutor settings for aeops' workers: Airflow's own, with what aeops' task processes import loaded once.

On Linux a Celery worker runs each task instance in a process forked from its pool process (the Task SDK's
supervisor forks; no new interpreter), so a module the worker loaded before its pool started is already in every
task process. Without it every task process (each task, each push chunk, each poke of a reschedule sensor: ~15 a
store's daily sync) loads the Task SDK's task runner, the DAG file's aeops modules and its task's own module first:
about half a CPU-second before its work (docs/production.md, "On CeleryExecutor"). Set in the worker's
environment (``docker-compose.yaml`` does)::

    AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=aeops.celery_config.CELERY_CONFIG

The ORM's mappers are configured there too: a process that loaded Airflow's ORM (a Celery worker does) imports
every Airflow model the first time any mapper is configured (Airflow's ``before_configured`` hook), so without
it the first aeops-DB query of every task process paid ~0.25 CPU-s for models it never uses. And what aeops caches
per process is built there once (:func:`warm`: message catalogs, the run report's template, the TLS context).

The settings themselves are Airflow's (``DEFAULT_CELERY_CONFIG``, unchanged). The modules are loaded only in a
``celery worker`` process (not in the scheduler, which reads the same setting). Left out on purpose: the
DataFrame libraries (pandas, polars, pyarrow) of the three tasks that read the export: a pool of threads forked
half-way is not safe, and the other tasks need none of their ~150 MB. Importing these modules starts no thread
and opens no connection (tests/unit/test_celery_config.py).
"""

from __future__ import annotations

import importlib
import sys

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

PRELOADED = (
    "airflow.sdk.execution_time.task_runner",  # what runs the task in the forked process
    "aeops.dag_defaults", "aeops.hitl", "aeops.notify.callbacks",  # what the DAG files import
    "aeops.sync.preflight", "aeops.sync.intake", "aeops.sync.pushing", "aeops.sync.guard_hold",  # the daily sync's
    "aeops.sync.finish", "aeops.verify.runner",  # tasks that read no export
    "airflow.providers.slack.hooks.slack",  # each store-run's Slack summary (and slack_sdk with it)
)

CELERY_CONFIG = dict(DEFAULT_CELERY_CONFIG)


def is_celery_worker(argv: list[str]) -> bool:
    """Whether this process is ``airflow celery worker`` (or ``celery ... worker``)."""
    words = [a for a in argv if not a.startswith("-")]
    return "celery" in " ".join(words) and "worker" in words


def preload() -> list[str]:
    """Load :data:`PRELOADED` (the names loaded) and configure the ORM's mappers once (see the module's text)."""
    for name in PRELOADED:
        importlib.import_module(name)
    from aeops.store.db import configure_models  # lazy: only in a worker process (the scheduler reads this module)

    configure_models()
    warm()
    return list(PRELOADED)


def warm() -> None:
    """Build once, in both languages, what aeops caches per process and each store-run's ``finish`` built again:
    the compiled message catalogs (Babel reads and compiles the ``.po`` files), the run report's compiled template
    and the TLS context of the HTTPS clients (the CA bundle loaded): about 0.4 CPU-s a ``finish`` process."""
    from aeops import i18n  # lazy: only in a worker process (the scheduler reads this module)
    from aeops.marketplace.tls import tls_context  # lazy: as above
    from aeops.reports.render import environment  # lazy: as above

    for lang in i18n.LANGUAGES:
        environment(lang).get_template("run_report.html")
    tls_context()


if is_celery_worker(sys.argv):
    preload()
