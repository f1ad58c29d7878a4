"""``aeops planned``: the planned price overrides in the reader's language; ``--json`` the same in every language."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aeops.cli import main
from aeops.store.ledger import Ledger


@pytest.fixture
def planned_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    monkeypatch.setenv("AEOPS_CONFIG", json.dumps({"database_url": url, "stores": [{"name": "demo"}]}))
    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)
    monkeypatch.delenv("AEOPS_LANGUAGE", raising=False)
    ledger = Ledger(url)
    run = ledger.runs.start("demo", "aliexpress_urgent_rerun", "black-friday", kind="urgent")
    ledger.runs.update(run, artifacts={
        "request": {"mode": "price_override", "reason": "Black Friday", "start_at": "2099-11-27T00:00+00:00",
                    "end_at": "2099-11-28T00:00+00:00"},
        "deadline": {"triggered_at": "2099-11-27T00:00:00+00:00", "deadline_minutes": 15}})
    ledger.runs.add_milestone(run, "approval-asked", {})
    ledger.runs.add_milestone(run, "approval", {"decision": "approved"})


@pytest.mark.parametrize(("lang", "said"), [
    ("zh-CN", "demo：开始"),
    ("en", "demo: starts 2099-11-27 00:00 UTC, ends 2099-11-28 00:00 UTC; approval: approved; waiting for its start; "
           "run black-friday: Black Friday"),
])
def test_a_planned_override_is_listed_in_the_readers_language(planned_store, capsys, lang: str, said: str) -> None:
    assert main(["planned", "--lang", lang]) == 0
    out = capsys.readouterr().out
    assert said in out
    if lang == "zh-CN":
        assert "approval" not in out and "waiting for its start" not in out


def test_the_json_list_is_the_same_in_every_language(planned_store, capsys) -> None:
    assert main(["planned", "demo", "--json", "--lang", "zh-CN"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(p["store"], p["run_id"], p["approval"], p["phase"]) for p in listed] == [
        ("demo", "black-friday", "approved", "waiting")]


def test_an_unknown_store_is_one_error_line(planned_store, capsys) -> None:
    assert main(["planned", "nope"]) == 2
    assert "nope" in capsys.readouterr().err
