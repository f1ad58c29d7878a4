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

The notifier is a thin ``airflow.sdk.BaseNotifier``: it builds :func:`failure_alert`, writes it to the
outbox and delivers through the provider's ``SlackHook``. It never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import BaseNotifier

from aeops.notify.messages import failure_alert
from aeops.notify.send import DEFAULT_CONN_ID, SendResult, language_of, send
from aeops.secrets import get_logger

log = get_logger(__name__)


def is_final_failure(context: Mapping[str, Any]) -> bool:
    """False only when the context's task instance will be retried (state ``up_for_retry``)."""
    ti = context.get("ti") or context.get("task_instance")
    state = getattr(ti, "state", None)
    return str(getattr(state, "value", state) or "").lower() != "up_for_retry"


def _store_param(context: Mapping[str, Any]) -> str | None:
    params = context.get("params") or {}
    try:
        return params.get("store") or None
    except AttributeError:
        return None


class SlackFailureNotifier(BaseNotifier):
    """Posts a failure alert for ``store`` through the outbox (folded, ordered, never lost)."""

    template_fields = ("store",)

    def __init__(
        self,
        *,
        store: str | None = None,
        slack_conn_id: str = DEFAULT_CONN_ID,
        db_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.slack_conn_id = slack_conn_id
        self.db_url = db_url
        self.last_result: SendResult | None = None

    def notify(self, context: Any) -> None:
        try:
            if not is_final_failure(context):
                log.info("Slack: task will be retried; no alert")
                return
            store = self.store or None
            message = failure_alert(context, store=store, lang=language_of(store or _store_param(context)))
            self.last_result = send(message, store=message.store, db_url=self.db_url, conn_id=self.slack_conn_id)
        except Exception as exc:  # noqa: BLE001 - a callback must never fail the run's bookkeeping
            log.error("Slack: failure alert could not be prepared (%s: %s)", type(exc).__name__, exc)


def on_failure_callback(
    store: str | None = None, *, slack_conn_id: str = DEFAULT_CONN_ID, db_url: str | None = None
) -> SlackFailureNotifier:
    """A failure callback for DAGs and tasks; ``store`` may be a Jinja template (``{{ params.store }}``)."""
    return SlackFailureNotifier(store=store, slack_conn_id=slack_conn_id, db_url=db_url)
