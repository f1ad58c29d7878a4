"""### Slack outbox

**What it does.** Posts the Slack messages earlier runs could not deliver (Slack down or rate-limited). Every
aeops run also drains the outbox when it starts; this DAG covers the hours when nothing runs.

**When it runs.** Every 10 minutes (`AEOPS_SLACK_DRAIN_CRON`, `AEOPS_SLACK_DRAIN_TIMEZONE`).

**What you see.** The late messages in Slack. When Slack refuses the bot token (`invalid_auth`) the `drain`
task fails and says what to fix: every message waits, none is lost, and the failures fold into one alert across
runs. Operators: `aeops slack list|flush|drop ID`.

**Where the logic lives.** `aeops.notify.send.drain_or_fail`; docs/slack.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import dag, task

from aeops.dag_defaults import OUTBOX_RUN_TIMEOUT, OUTBOX_TASK_TIMEOUT, cron_schedule, default_args
from aeops.notify.callbacks import on_failure_callback

# Every 10 minutes by default; deployments change it through the environment.
SCHEDULE = cron_schedule(("AEOPS_SLACK_DRAIN_CRON", "*/10 * * * *"), timezone_env="AEOPS_SLACK_DRAIN_TIMEZONE")


@dag(
    dag_id="aeops_slack_outbox",
    schedule=SCHEDULE,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=OUTBOX_RUN_TIMEOUT,
    tags=["aeops", "slack", "operations"],
    doc_md=__doc__,
    default_args=default_args(retries=0, execution_timeout=OUTBOX_TASK_TIMEOUT,
                              on_failure_callback=on_failure_callback(per_run=False)),
    on_failure_callback=on_failure_callback(per_run=False),
)
def aeops_slack_outbox():
    @task
    def drain() -> dict:
        """Deliver every message that is due; fail, saying what to fix, when Slack refuses the bot token."""
        from airflow.sdk.exceptions import AirflowFailException

        from aeops.notify.send import OutboxBlocked, drain_or_fail

        try:
            return drain_or_fail().to_dict()
        except OutboxBlocked as exc:
            raise AirflowFailException(str(exc)) from None

    drain()


aeops_slack_outbox()
