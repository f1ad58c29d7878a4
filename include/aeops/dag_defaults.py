"""What every aeops DAG shares: default task arguments, time limits, schedules from the environment, the pools,
the ``stores`` and ``as_of`` Params, the ``list_stores`` task, the Slack outbox drained at the start of every run,
and the run's verdict.

Imported by the DAG files at parse time, so it stays light (Airflow's SDK, the failure notifier and the urgent
trigger form only; what a task needs is imported when it runs).

Time limits (docs/production.md, "Time limits"), from the deadlines in the settings (environment variables read
when the DAG files are parsed):

- ``TASK_TIMEOUT`` (``AEOPS_TASK_TIMEOUT_MINUTES``, 60): one try of any task; every aeops task talks to the
  marketplace, Slack, the storage or the aeops DB;
- ``VERIFY_TIMEOUT`` (``AEOPS_VERIFY_TIMEOUT_HOURS``, 6): the daily sync's verification sensor gives up;
- ``LOCK_WAIT`` (``AEOPS_LOCK_WAIT_MINUTES``, 30): longest wait of a daily push for a store's write lock;
- ``EXPORT_WAIT`` (``AEOPS_EXPORT_WAIT_MINUTES``, 120): longest wait of the daily sync for a whole export (the
  ERP still writing it, or its ``.done`` marker not there yet);
- ``EXPORT_GUARD_WAIT`` (``AEOPS_EXPORT_GUARD_WAIT_HOURS``, 6): longest wait of a held export for a person's
  approval (then it is skipped: nothing written);
- ``SYNC_RUN_TIMEOUT``: export wait + verification + lock wait + export guard wait + four task timeouts (prepare,
  push, finish, verdict): 18.5 h by default, under the 24 h between two daily runs (tests/dags checks it);
- urgent re-runs: ``URGENT_MAX_DEADLINE_MINUTES`` (240, the deadline Param's maximum) bounds each task's try,
  a planned override waits ``PLANNED_WAIT`` (14 days and an hour) at most for its start and again for its end
  (deferred: no worker slot), and a run is stopped at twice the task try plus both waits (a late run keeps
  going, but not for ever);
- certificate watch and logo rotation: three task timeouts; the Slack outbox DAG: ``OUTBOX_RUN_TIMEOUT``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import pendulum
from airflow.sdk import DAG, Asset, Param, get_parsing_context, task
from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable

from aeops.notify.callbacks import on_failure_callback
from aeops.notify.send import drain
from aeops.schedules import JOBS, configured_stores, timetable
from aeops.secrets import get_logger
from aeops.urgent.form import MAX_DEADLINE_MINUTES
from aeops.urgent.request import PLANNED_MAX_DAYS

log = get_logger(__name__)

DEFAULT_TIMEZONE = "Asia/Shanghai"


def _minutes(name: str, default: float) -> timedelta:
    return timedelta(minutes=float(os.environ.get(name, default)))


TASK_TIMEOUT = _minutes("AEOPS_TASK_TIMEOUT_MINUTES", 60)
VERIFY_TIMEOUT = timedelta(hours=float(os.environ.get("AEOPS_VERIFY_TIMEOUT_HOURS", "6")))
LOCK_WAIT = _minutes("AEOPS_LOCK_WAIT_MINUTES", 30)
EXPORT_WAIT = _minutes("AEOPS_EXPORT_WAIT_MINUTES", 120)
LOCK_POKE_SECONDS = float(os.environ.get("AEOPS_LOCK_POKE_SECONDS", "30"))  # a waiting push tries this often
EXPORT_GUARD_WAIT = timedelta(hours=float(os.environ.get("AEOPS_EXPORT_GUARD_WAIT_HOURS", "6")))
"""How long a store's export the export guard holds waits for a person (then: skipped, nothing written)."""
SYNC_RUN_TIMEOUT = EXPORT_WAIT + VERIFY_TIMEOUT + LOCK_WAIT + EXPORT_GUARD_WAIT + 4 * TASK_TIMEOUT
URGENT_MAX_DEADLINE_MINUTES = MAX_DEADLINE_MINUTES  # the urgent form's deadline maximum (aeops.urgent.form)
URGENT_TASK_TIMEOUT = timedelta(minutes=URGENT_MAX_DEADLINE_MINUTES)
PLANNED_WAIT = timedelta(days=PLANNED_MAX_DAYS, hours=1)
"""Longest deferred wait of a planned urgent override for its start, and again for its end (no worker slot)."""
URGENT_RUN_TIMEOUT = 2 * URGENT_TASK_TIMEOUT + 2 * PLANNED_WAIT
COMPLIANCE_RUN_TIMEOUT = 3 * TASK_TIMEOUT
OUTBOX_TASK_TIMEOUT = timedelta(minutes=5)
OUTBOX_RUN_TIMEOUT = timedelta(minutes=10)
API_POOL = os.environ.get("AEOPS_API_POOL", "aliexpress_api")  # every marketplace call of the scheduled DAGs
URGENT_POOL = os.environ.get("AEOPS_URGENT_POOL", "aliexpress_urgent")  # urgent re-runs: their own slots
PLANNING_POOL = os.environ.get("AEOPS_PLANNING_POOL", "aeops_planning")  # the daily sync's plans: CPU and memory
AS_OF_DESCRIPTION = "Check as if today were this date (YYYY-MM-DD); empty: today in each store's time zone"


def drain_slack_at_run_start(context: Mapping[str, Any]) -> None:
    """``on_execute_callback`` of every aeops task: the run's first tasks (those without upstream) deliver what
    earlier runs left in the Slack outbox before they start. One query when the outbox is empty; never raises."""
    task = context.get("task")
    if task is None or getattr(task, "upstream_task_ids", None):
        return
    try:
        drain()
    except Exception as exc:  # noqa: BLE001 - Slack must never stop a run from starting
        log.warning("Slack outbox not drained at run start (%s: %s)", type(exc).__name__, exc)


def default_args(*, store: str | None = None, retry_delay: timedelta = timedelta(seconds=30),
                 **overrides: Any) -> dict[str, Any]:
    """Owner, retries with exponential back-off, a time limit per try, the Slack outbox drained at the run's
    start, and the run's one Slack page on a final failure."""
    args: dict[str, Any] = {
        "owner": "aeops",
        "retries": 2,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "execution_timeout": TASK_TIMEOUT,
        "on_execute_callback": drain_slack_at_run_start,
        "on_failure_callback": on_failure_callback(store=store),
    }
    args.update(overrides)
    return args


def failed_tasks(ti: Any) -> list[str]:
    """This run's task instances that failed, as Airflow records them (``task_id``, or ``task_id_<map index>``);
    for the run's verdict task (trigger rule ``all_done``), so a run whose work failed ends failed."""
    states = ti.get_task_states(dag_id=ti.dag_id, run_ids=[ti.run_id]).get(ti.run_id, {})
    return sorted(key for key, state in states.items() if str(getattr(state, "value", state)) == "failed")


def dag_variants(job: str) -> list[tuple[str, str | None, Any, str]]:
    """The DAGs of a per-store job (:data:`aeops.schedules.JOBS`), as ``(dag_id, store, schedule, time zone)``:
    first the all-store DAG (``store`` None; manual runs only, over the ``stores`` Param's stores), then one DAG
    ``<dag_id>__<store>`` per configured store at the store's crons in its time zone. A store whose schedule or
    time zone is unusable gets no DAG (a warning when the file is parsed; ``aeops doctor`` names it): the other
    stores' DAGs are still made.

    A task process parses the DAG file only to run one task of one DAG (Airflow's parsing context names it): it
    gets that DAG's variant alone, as Airflow's "Optimizing DAG parsing delays during execution" advises
    (docs/design.md). With 20 stores that is one DAG built instead of 21 for every task instance."""

    base = JOBS[job]
    wanted = get_parsing_context().dag_id
    variants: list[tuple[str, str | None, Any, str]] = []
    if wanted in (None, base.dag_id):
        variants.append((base.dag_id, None, None, os.environ.get(base.timezone_env, DEFAULT_TIMEZONE)))
        if wanted:
            return variants
    for store in configured_stores():
        if wanted and store.dag_id(job) != wanted:
            continue
        try:
            variants.append((store.dag_id(job), store.name, timetable(store.crons(job), store.timezone),
                             store.timezone))
        except Exception as exc:  # noqa: BLE001 - one store's bad schedule must not hide the other stores' DAGs
            log.warning("no DAG %s: schedule %s in %s not usable (%s)", store.dag_id(job), store.crons(job),
                        store.timezone, exc)
    return variants


def store_dag(dag_id: str, store: str | None, timezone: str, *, schedule: Any, run_timeout: timedelta,
              tags: list[str], doc_md: str | None, params: Mapping[str, Param]) -> DAG:
    """One variant of a per-store job (:func:`dag_variants`): the settings every job's DAGs share (no catch-up, one
    run at a time, the store's failure page and default args), its store's tag (``store:<name>``, or
    ``all-stores``), and the ``stores`` Param on the all-store DAG only."""
    return DAG(
        dag_id=dag_id,
        schedule=schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz=timezone),
        catchup=False,
        max_active_runs=1,
        dagrun_timeout=run_timeout,
        tags=["aeops", *tags, f"store:{store}" if store else "all-stores"],
        doc_md=doc_md,
        default_args=default_args(store=store),
        on_failure_callback=on_failure_callback(store=store),
        params={**({"stores": stores_param()} if store is None else {}), **params},
    )


def cron_schedule(*cron_env: tuple[str, str], timezone_env: str):
    """A cron timetable in the seller's time zone; each ``(ENV_NAME, default cron)`` may be overridden."""
    crons = [os.environ.get(name, default) for name, default in cron_env]
    timezone = os.environ.get(timezone_env, DEFAULT_TIMEZONE)
    if len(crons) == 1:
        return CronTriggerTimetable(crons[0], timezone=timezone)
    return MultipleCronTriggerTimetable(*crons, timezone=timezone)


CERT_REPLACE_TASK_TIMEOUT = TASK_TIMEOUT
CERT_APPROVAL_WAIT = timedelta(hours=float(os.environ.get("AEOPS_CERT_APPROVAL_WAIT_HOURS", "12")))
"""How long a certificate upload whose issuer or number changed waits for a person (then: nothing uploaded)."""
CERT_REPLACE_RUN_TIMEOUT = timedelta(hours=2) + CERT_APPROVAL_WAIT + 6 * TASK_TIMEOUT  # restore wait + approval + steps


def certificate_replacements_asset():
    """The Asset the certificate watch updates when a new certificate file replaced an older one in a store's
    folder (its replacement is requested in the aeops DB); ``aliexpress_certificate_replace`` is scheduled on it."""
    return Asset(name="aeops_certificate_replacements", uri="aeops://certificates/replacements",
                 group="aeops")


def stores_param() -> Param:
    """The ``stores`` Param of the DAGs that run per store; :func:`list_stores` reads it."""
    return Param([], type="array", title="Stores", description="Only these stores (empty: every store)")


def as_of_param(description: str = AS_OF_DESCRIPTION) -> Param:
    """The ``as_of`` Param (time travel: check as if today were this date), empty by default."""
    return Param(None, type=["null", "string"], format="date", title="As of", description=description)


# The first task of every per-store DAG: call it inside the DAG function (``per_store.expand(store=list_stores())``).
@task
def list_stores(params: Mapping[str, Any] | None = None) -> list[str]:
    """The stores of this run: those of the ``stores`` Param, or every configured store (an unknown name fails the
    run, naming it)."""
    from aeops.catalog.context import list_stores as configured_stores  # at run time: it loads SQLAlchemy

    return configured_stores((params or {}).get("stores"))
