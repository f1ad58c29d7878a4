"""Airflow failure callbacks that page Slack once per real failure.

Use the same object at DAG level and task level (``default_args``)::

    from aeops.notify.callbacks import on_failure_callback

    @dag(..., on_failure_callback=on_failure_callback(store="demo"),
         default_args={"retries": 2, "on_failure_callback": on_failure_callback(store="demo")})

Retries that later succeed page nobody: in Airflow 3 the task runner calls ``on_failure_callback``
only when the task ends FAILED; a failed try that will be retried ends UP_FOR_RETRY and runs
``on_retry_callback`` instead (``airflow.sdk.execution_time.task_runner.finalize``), which aeops does
not use for paging. As a second guard, a context whose task instance is ``up_for_retry`` is ignored.
We do not compare ``try_number`` with ``max_tries``: a retry policy may fail a task for good before its
retries are used up, and that failure must page.

One page per failing run: a task's callback records its failure (``run_failures``) and (re)sends the run's
page (:mod:`aeops.notify.pages`); the verdict task failing and the DAG-level callback do the same, so the run
makes one Slack message listing every failing task and store, edited in place. ``per_run=False`` (the Slack
outbox's own DAG) keeps the older alert that folds identical failures across runs instead.

The notifier is a thin ``airflow.sdk.BaseNotifier``: it writes to the outbox and delivers through the
provider's ``SlackHook``. It never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier

from aeops.notify import pages
from aeops.notify.messages import failure_alert, one_line
from aeops.notify.send import DEFAULT_CONN_ID, SendResult, language_of, resolve_config, send
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger

log = get_logger(__name__)

# Why Airflow failed a whole run (the DAG-level callback's "reason"), in words
RUN_REASONS = {
    "timed_out": "the run timed out (dagrun_timeout) and Airflow stopped it",
    "all_tasks_deadlocked": "no task could run any more (deadlocked dependencies)",
}


def is_final_failure(context: Mapping[str, Any]) -> bool:
    """False only when the context's task instance will be retried (state ``up_for_retry``)."""
    ti = context.get("ti") or context.get("task_instance")
    state = getattr(ti, "state", None)
    return str(getattr(state, "value", state) or "").lower() != "up_for_retry"


def store_of_task(context: Mapping[str, Any]) -> str | None:
    """The store a failing task worked on: its ``store`` argument (first positional or keyword), or the ``store`` of
    a dict argument (a push chunk, a scan result), or the run's ``store`` Param."""
    task = context.get("task")
    kwargs = getattr(task, "op_kwargs", None) or {}
    args = list(getattr(task, "op_args", None) or ())
    if isinstance(kwargs.get("store"), str) and kwargs["store"]:
        return kwargs["store"]
    for value in [*args, *kwargs.values()]:
        if isinstance(value, Mapping) and isinstance(value.get("store"), str):
            return value["store"]
    if args and isinstance(args[0], str) and args[0]:
        return args[0]
    params = context.get("params") or {}
    try:
        store = params.get("store")
    except AttributeError:
        store = None
    return str(store) if store else None


def failure_of(context: Mapping[str, Any], store: str | None = None) -> tuple[str, str, pages.Failure | None, bool]:
    """(dag_id, run_id, the failure to record or None, DAG-level?) of a failure callback's context."""
    ti = context.get("ti") or context.get("task_instance")
    dag_run, dag = context.get("dag_run"), context.get("dag")
    dag_id = getattr(ti, "dag_id", None) or getattr(dag_run, "dag_id", None) or getattr(dag, "dag_id", None) or "?"
    run_id = context.get("run_id") or getattr(dag_run, "run_id", None) or getattr(ti, "run_id", None) or "?"
    # a DAG-level context has a "reason" (and the run's last task instance as "ti") but no "exception"
    dag_level = ti is None or (context.get("reason") is not None and context.get("exception") is None)
    if dag_level:
        reason = context.get("reason")
        if reason in (None, "task_failure"):  # the failing tasks' own callbacks recorded them
            return dag_id, run_id, None, True
        return dag_id, run_id, pages.Failure(pages.RUN, -1, store, RUN_REASONS.get(str(reason), str(reason))), True
    error = context.get("exception") or "failed"
    map_index = getattr(ti, "map_index", -1)
    failure = pages.Failure(str(getattr(ti, "task_id", "?")), -1 if map_index is None else int(map_index),
                            store or store_of_task(context), one_line(error), getattr(ti, "try_number", None))
    return dag_id, run_id, failure, False


def record_and_page(context: Mapping[str, Any], *, store: str | None = None, db_url: str | None = None,
                    conn_id: str = DEFAULT_CONN_ID) -> SendResult:
    """Record this failure of the run and send the run's one page (every failure so far). Raises on trouble with
    the aeops DB (the notifier logs it)."""
    cfg = resolve_config(None)
    url = db_url or cfg.resolved_database_url()
    Ledger(url)  # the aeops DB's schema brought up to date, once per process
    dag_id, run_id, failure, dag_level = failure_of(context, store)
    if failure is not None:
        pages.record(url, dag_id, run_id, failure)
    failures = pages.failures_of_run(url, dag_id, run_id)
    if not failures:  # no task callback got through: name what Airflow says failed last
        ti = context.get("ti") or context.get("task_instance")
        last = getattr(ti, "task_id", None)
        failures = [pages.Failure(str(last) if last else pages.RUN, -1, store, "failed (see its log)")]
    page_store = store if dag_level else None
    lang = language_of(page_store or next((f.store for f in failures if f.store), None), cfg)
    message = pages.failure_page(dag_id, run_id, failures, store=page_store, lang=lang)
    return send(message, store=message.store, config=cfg, db_url=url, conn_id=conn_id)


class SlackFailureNotifier(BaseNotifier):
    """Records a final failure and posts (or updates) the run's one Slack page through the outbox."""

    template_fields = ("store",)

    def __init__(
        self,
        *,
        store: str | None = None,
        slack_conn_id: str = DEFAULT_CONN_ID,
        db_url: str | None = None,
        per_run: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.slack_conn_id = slack_conn_id
        self.db_url = db_url
        self.per_run = per_run
        self.last_result: SendResult | None = None

    def notify(self, context: Any) -> None:
        """Record the failed task and page Slack once per run (retries and non-final failures page nobody)."""
        try:
            if not is_final_failure(context):
                log.info("Slack: task will be retried; no alert")
                return
            if self.per_run:
                self.last_result = record_and_page(context, store=self.store or None, db_url=self.db_url,
                                                   conn_id=self.slack_conn_id)
                return
            store = self.store or None
            message = failure_alert(context, store=store, lang=language_of(store or store_of_task(context)))
            self.last_result = send(message, store=message.store, db_url=self.db_url, conn_id=self.slack_conn_id)
        except Exception as exc:  # noqa: BLE001 - a callback must never fail the run's bookkeeping
            log.error("Slack: failure alert could not be prepared (%s: %s)", type(exc).__name__, exc)


def on_failure_callback(
    store: str | None = None, *, slack_conn_id: str = DEFAULT_CONN_ID, db_url: str | None = None,
    per_run: bool = True,
) -> SlackFailureNotifier:
    """A failure callback for DAGs and tasks; ``store`` may be a Jinja template (``{{ params.store }}``).
    ``per_run=False``: fold identical failures across runs instead of one page per run."""
    return SlackFailureNotifier(store=store, slack_conn_id=slack_conn_id, db_url=db_url, per_run=per_run)
