"""What every aeops DAG shares: default task arguments, schedules from the environment, the stores Param.

Imported by the DAG files at parse time, so it stays light (Airflow's SDK and the failure notifier only).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from airflow.sdk import Param

from aeops.notify.callbacks import on_failure_callback

DEFAULT_TIMEZONE = "Asia/Shanghai"


def default_args(*, store: str | None = None, retry_delay: timedelta = timedelta(seconds=30),
                 **overrides: Any) -> dict[str, Any]:
    """Owner, retries with exponential back-off, and the Slack failure alert (final failures only)."""
    args: dict[str, Any] = {
        "owner": "aeops",
        "retries": 2,
        "retry_delay": retry_delay,
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": on_failure_callback(store=store),
    }
    args.update(overrides)
    return args


def cron_schedule(*cron_env: tuple[str, str], timezone_env: str):
    """A cron timetable in the seller's time zone; each ``(ENV_NAME, default cron)`` may be overridden."""
    from airflow.timetables.trigger import CronTriggerTimetable, MultipleCronTriggerTimetable

    crons = [os.environ.get(name, default) for name, default in cron_env]
    timezone = os.environ.get(timezone_env, DEFAULT_TIMEZONE)
    if len(crons) == 1:
        return CronTriggerTimetable(crons[0], timezone=timezone)
    return MultipleCronTriggerTimetable(*crons, timezone=timezone)


def stores_param() -> Param:
    return Param([], type="array", title="Stores", description="Only these stores (empty: every store)")
