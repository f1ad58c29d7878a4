"""One page per failing run and the run's verdict, without Slack: what is recorded, what the page says, which
store a failing task belongs to, and which tasks drain the outbox when a run starts."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from aeops import dag_defaults
from aeops.notify import pages
from aeops.notify.callbacks import failure_of, store_of_task
from aeops.notify.messages import notice
from aeops.notify.outbox import choose_channel
from aeops.store import upgrade
from aeops.urgent import progress

DAG_ID, RUN_ID = "aliexpress_catalog_sync", "scheduled__2026-11-29T02:00:00+00:00"


@pytest.fixture
def db(sqlite_url: str) -> str:
    upgrade(sqlite_url)
    return sqlite_url


def test_a_failure_is_recorded_once_per_task_instance_and_a_later_try_updates_it(db: str) -> None:
    assert pages.record(db, DAG_ID, RUN_ID, pages.Failure("prepare.preflight", 1, "demo-kids", "first error", 1))
    assert not pages.record(db, DAG_ID, RUN_ID, pages.Failure("prepare.preflight", 1, None, "final error", 3))
    assert pages.record(db, DAG_ID, RUN_ID, pages.Failure("collect_chunks", -1, None, "db down"))
    [preflight, chunks] = pages.failures_of_run(db, DAG_ID, RUN_ID)
    assert (preflight.label, preflight.store, preflight.error, preflight.try_number) == (
        "prepare.preflight[1]", "demo-kids", "final error", 3)
    assert chunks.key == "collect_chunks" and preflight.key == "prepare.preflight_1"
    assert pages.reasons(db, DAG_ID, RUN_ID, "demo") == ["collect_chunks: db down"]  # no store: every store's
    assert pages.reasons(db, DAG_ID, "another-run") == []


def test_the_verdict_trusts_airflows_states_and_names_what_failed(db: str) -> None:
    pages.record(db, DAG_ID, RUN_ID, pages.Failure("prepare.plan", 0, "demo", "ApiError: quota"))
    pages.record(db, DAG_ID, RUN_ID, pages.Failure("push_chunk", 2, "demo", "cleared and re-run since"))
    assert pages.verdict(db, DAG_ID, RUN_ID, []) is None  # nothing failed in the end
    assert pages.verdict(db, DAG_ID, RUN_ID, ["prepare.plan_0", "verify_1"], ["store(s) demo could not be synced"]) == (
        "store(s) demo could not be synced; prepare.plan[0] (store demo): ApiError: quota; "
        "verify_1: failed (see its log)")


def test_the_page_lists_every_failing_task_and_store_under_one_key_per_run() -> None:
    failures = [pages.Failure("prepare.preflight", 1, "demo-kids", "SyncError: credentials rejected", 3),
                pages.Failure("outcome", -1, None, "SyncError: store(s) demo-kids could not be synced")]
    page = pages.failure_page(DAG_ID, RUN_ID, failures, base_url="https://airflow.example.com")
    assert page.fold == "replace" and page.kind == "alert" and page.severity == "error"
    assert page.dedupe_key == pages.page_key(DAG_ID, RUN_ID) != pages.page_key(DAG_ID, "another")
    assert page.text.startswith(f"Run of {DAG_ID} failed for store demo-kids: prepare.preflight[1] (store demo-kids)")
    body = str(page.blocks)
    assert "2 failing tasks" in body and "/tasks/prepare.preflight/mapped/1?try_number=3" in body


def test_the_store_of_a_failing_task_comes_from_its_arguments_or_the_runs_param() -> None:
    def ctx(*args, params=None, **kwargs):
        return {"task": SimpleNamespace(op_args=args, op_kwargs=kwargs), "params": params or {}}

    assert store_of_task(ctx("demo-kids")) == "demo-kids"  # preflight(store)
    assert store_of_task(ctx(chunk={"store": "demo", "batches": []})) == "demo"  # push_chunk(chunk)
    assert store_of_task(ctx(store="demo")) == "demo"  # check_logo.expand(store=...)
    assert store_of_task(ctx(params={"store": "demo"})) == "demo"  # the urgent run's Param
    assert store_of_task(ctx([{"store": "x"}])) is None


def test_a_dag_level_context_records_only_what_airflow_itself_stopped() -> None:
    ti = SimpleNamespace(dag_id=DAG_ID, task_id="outcome", run_id=RUN_ID, map_index=-1, try_number=1)
    _, _, failure, dag_level = failure_of({"ti": ti, "run_id": RUN_ID, "reason": "task_failure"})
    assert dag_level and failure is None  # the failing tasks' own callbacks recorded them
    _, _, failure, _ = failure_of({"ti": ti, "run_id": RUN_ID, "reason": "timed_out"}, store="demo")
    assert failure.label == "(the run)" and "dagrun_timeout" in failure.error


def test_summaries_go_to_reports_and_a_failed_urgent_run_says_what_stopped_it() -> None:
    deadline = progress.Deadline(datetime(2026, 11, 27, 1, 0, tzinfo=UTC), 15)
    final = progress.final(store="demo", run_id="manual__1", what="price override from prices.csv", reason="BF",
                           status="failed", counts={}, deadline=deadline, now=deadline.triggered_at,
                           mode="price_override", dry_run=False,
                           stopped_by=["plan (store demo): line 2 price 'abc' is not a number"])
    assert final.text.startswith("Urgent re-run FAILED") and "line 2 price 'abc' is not a number" in final.text
    assert choose_channel(final, "#alerts", "#reports") == "#reports"  # the page is the one alert
    late = progress.late(store="demo", run_id="manual__1", done=1, total=9, deadline=deadline, now=deadline.due_at)
    assert late.fold == "replace" and late.dedupe_key == pages.page_key(progress.DAG_ID, "manual__1")
    assert choose_channel(notice(title="t", text="x", severity="warning"), "#alerts", "#reports") == "#alerts"


def test_only_the_first_tasks_of_a_run_drain_the_slack_outbox(monkeypatch: pytest.MonkeyPatch) -> None:
    drained: list[bool] = []
    monkeypatch.setattr(dag_defaults, "drain", lambda **_: drained.append(True))
    dag_defaults.drain_slack_at_run_start({"task": SimpleNamespace(upstream_task_ids=set())})
    dag_defaults.drain_slack_at_run_start({"task": SimpleNamespace(upstream_task_ids={"list_stores"})})
    assert drained == [True]

    def broken(**_):
        raise RuntimeError("aeops DB unreachable")

    monkeypatch.setattr(dag_defaults, "drain", broken)  # Slack trouble never stops a run from starting
    dag_defaults.drain_slack_at_run_start({"task": SimpleNamespace(upstream_task_ids=set())})
