"""The logo-rotation DAG end to end: dag.test() over the sample logos and the Slack sink, time-travelling with
``as_of`` across two quarters."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from aeops.store import session_scope
from aeops.store.models import LogoChange, LogoReminder
from tests.e2e.harness import run_dag, task_states

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_logo_rotation"


def _messages(env, store: str) -> list[tuple[str, str]]:
    """(plain text, section text) of the logo messages for ``store``, oldest first."""
    out = []
    for message in env.slack_messages():
        if f"({store})" in message["text"]:
            body = "\n".join(b.get("text", {}).get("text", "") for b in message["blocks"]
                             if b.get("type") == "section" and "text" in b)
            out.append((message["text"], body))
    return out


def _run(as_of: str):
    dag_run = run_dag(DAG_ID, {"as_of": as_of})
    assert str(dag_run.state) == "success", task_states(dag_run)


def test_rotation_recorded_then_stale_reminders_once_each(embedded) -> None:
    env = embedded()

    _run("2026-11-26")  # the sample folder: a compliant PNG (a new rotation) and a 400x400 JPEG
    [(text, body)] = _messages(env, "demo")
    assert text.startswith("Store logo rotated for 2026Q4")
    assert "`store_logo_800.png` passes (800x800 PNG)" in body
    assert "`store_logo_old.jpg` fails: `LOGO-FORMAT` logo store_logo_old.jpg is JPEG, not PNG" in body
    assert "No text covers the logo: a logo the text detector reads text on (LOGO-TEXT) counts only once" in body
    assert len(_messages(env, "demo-kids")) == 1

    _run("2026-12-20")  # rotated this quarter, failing file already reported: silence
    assert len(_messages(env, "demo")) == 1

    _run("2027-01-01")  # a new quarter, nothing rotated: LOGO-STALE with spec and deadline
    text, body = _messages(env, "demo")[-1]
    assert text.startswith("LOGO-STALE: rotate the store logo by 2027-03-31 (quarterly reminder)")
    assert "last changed 2026-11-26" in body and "PNG, at least 800x800 px, no text covering the logo" in body
    assert "*Deadline: 2027-03-31* (89 day(s) left)" in body

    _run("2027-01-02")
    assert len(_messages(env, "demo")) == 2

    _run("2027-02-15")  # mid-quarter follow-up, once
    text, _ = _messages(env, "demo")[-1]
    assert "(mid-quarter follow-up)" in text
    _run("2027-02-16")
    assert len(_messages(env, "demo")) == 3

    with session_scope(env.db_url) as s:
        assert [c.file.rsplit("/", 1)[-1] for c in s.scalars(select(LogoChange).where(LogoChange.store == "demo"))] \
            == ["store_logo_800.png"]
        kinds = {(r.quarter, r.kind) for r in s.scalars(select(LogoReminder).where(LogoReminder.store == "demo"))
                 if not r.kind.startswith("file:")}
    assert kinds == {("2027Q1", "start"), ("2027Q1", "follow-up")}
