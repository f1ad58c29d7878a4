"""Store settings as code end to end: dag.test() of aliexpress_store_settings against the simulator's store
page, a person answering through Airflow's REST route (tests/e2e/hitl.py).

- The store name changed on the storefront: the DAG opens a task; "Done" while the page is still wrong
  reopens it naming the store name; after the page is fixed, "Done" closes it.
- A logo rotation is due: the same, closed once aeops_config and the storefront both carry the new logo.
- A new logo with text over it: the rotation stays open naming LOGO-TEXT until a person clears the text.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from aeops.demo import DEMO_SELLERS
from aeops.store import ensure_schema, session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import LogoChange, SettingsCheck
from aeops.store.repos.person_tasks import TaskView
from tests.e2e.harness import SAMPLE, Embedded, run_dag, task_states
from tests.e2e.hitl import Responder, Step, api_client

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_store_settings"
SELLER = DEMO_SELLERS["demo"][1]
LOGO_A = SAMPLE / "logo" / "store_logo_800.png"


@pytest.fixture(scope="module")
def api():
    return api_client()


def b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def set_page(env: Embedded, **changes) -> None:
    answer = httpx.post(f"{env.sim.url}/_sim/store/{SELLER}", json=changes, timeout=10)
    assert answer.status_code == 200, answer.text


def logo_b(tmp: Path) -> Path:
    """A second compliant logo (800x800 PNG), clearly another picture than the sample's."""
    from PIL import Image, ImageDraw

    im = Image.new("RGB", (800, 800), (20, 90, 200))
    ImageDraw.Draw(im).polygon([(400, 80), (720, 720), (80, 720)], fill=(250, 200, 0))
    folder = tmp / "logo-folder"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "store_logo_2027q1.png"
    im.save(path, "PNG")
    return path


def use_config(env: Embedded, monkeypatch, **store_changes) -> None:
    env.config["stores"][0].update(store_changes)
    monkeypatch.setenv("AIRFLOW_VAR_AEOPS_CONFIG", json.dumps(env.config))


def record_logo_change(env: Embedded, when: datetime, path: Path) -> None:
    import hashlib

    ensure_schema(env.db_url)
    with session_scope(env.db_url) as s:
        s.add(LogoChange(store="demo", changed_at=when, sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
                         file=str(path), source="storefront"))


def run(api, steps: list[Step], conf: dict):
    responder = Responder(api, DAG_ID, steps, fallback="Not done yet", timeout_s=240)
    responder.start()
    try:
        dag_run = run_dag(DAG_ID, {"stores": ["demo"], **conf})
    finally:
        responder.stop.set()
        responder.join(timeout=10)
    return dag_run, responder


def events(env: Embedded, kind: str) -> tuple[TaskView, list[dict]]:
    [task] = [t for t in Ledger(env.db_url).person_tasks.of_store("demo") if t.kind == kind]
    return task, Ledger(env.db_url).person_tasks.history(task.id)


def test_store_name_changed_opens_a_task_reopened_while_wrong_closed_once_fixed(embedded, api) -> None:
    env = embedded(profile="rich")  # the response time is tracked: the rich store page shows it
    store = env.config["stores"][0]
    assert store["name"] == "demo"
    set_page(env, name=store["store_name"], logo_b64=b64(LOGO_A), response_time_hours=12)
    record_logo_change(env, datetime.now(UTC), LOGO_A)  # rotated this quarter: only the name is at stake
    set_page(env, name="Cheap Stuff Outlet")  # someone changed it in the seller center

    dag_run, responder = run(api, [
        Step("store.ask_1", "Done", params_input={"note": "done, I think"}),  # ... but the page is still wrong
        Step("store.ask_2", "Done", before=lambda: set_page(env, name=store["store_name"])),
    ], {})

    states = task_states(dag_run)
    assert str(dag_run.state) == "success", (states, responder.errors)
    assert not responder.errors, responder.errors
    assert states["store.ask_3[0]"] == "skipped" and states["store.recheck_3[0]"] == "skipped"
    first, second = responder.answered
    assert "store name" in first.detail["body"] and "'Cheap Stuff Outlet'" in first.detail["body"]
    assert "Store settings → Store name: enter exactly 'aeops demo store'" in first.detail["body"]
    assert first.detail["options"] == ["Done", "Not done yet"]
    assert "still not right on the storefront (round 2)" in second.detail["subject"]
    assert "store name: desktop shows 'Cheap Stuff Outlet'" in second.detail["body"]

    task, history = events(env, "store_settings")
    assert task.status == "closed"
    assert [e["event"] for e in history] == ["opened", "asked", "answered", "reopened", "asked", "answered",
                                             "closed"]
    assert history[2]["detail"]["note"] == "done, I think"
    assert any("store name" in d for d in history[3]["detail"]["differences"])
    assert history[-1]["detail"]["confirmed_by"] == "storefront"
    with session_scope(env.db_url) as s:
        checks = [(c.matched, c.tracked) for c in s.scalars(select(SettingsCheck).order_by(SettingsCheck.id))]
    assert checks == [(2, 3), (2, 3), (3, 3)]  # name wrong, still wrong, fixed (logo and response time fine)
    texts = [m["text"] for m in env.slack_messages()]
    assert any("Information Accuracy" in t and "67%" in t for t in texts), texts


def test_due_logo_rotation_reopened_until_config_and_storefront_carry_a_new_logo(embedded, api, monkeypatch) -> None:
    env = embedded()
    store = env.config["stores"][0]
    new_logo = logo_b(env.tmp)
    use_config(env, monkeypatch, logo=new_logo.parent.as_uri())
    set_page(env, name=store["store_name"], logo_b64=b64(LOGO_A), response_time_hours=24)
    record_logo_change(env, datetime(2026, 11, 2, tzinfo=UTC), LOGO_A)  # last quarter's logo

    def rotate() -> None:
        use_config(env, monkeypatch, store_logo=str(new_logo))
        set_page(env, logo_b64=b64(new_logo))

    dag_run, responder = run(api, [
        Step("store.ask_1", "Done"),  # nothing changed yet
        Step("store.ask_2", "Done", before=rotate),
    ], {"as_of": "2027-01-05"})

    states = task_states(dag_run)
    assert str(dag_run.state) == "success", (states, responder.errors)
    assert not responder.errors, responder.errors
    first, second = responder.answered
    assert "Rotate the store logo of demo for 2027Q1" in first.detail["body"]
    assert "store_logo_2027q1.png" in first.detail["body"]  # the waiting file that passes the check
    assert "still the logo used before 2027Q1" in second.detail["body"]
    task, history = events(env, "logo_rotation")
    assert task.status == "closed" and task.key == "logo_rotation:2027Q1"
    assert [e["event"] for e in history] == ["opened", "asked", "answered", "reopened", "asked", "answered",
                                             "closed"]
    with session_scope(env.db_url) as s:
        newest = s.scalars(select(LogoChange).order_by(LogoChange.id.desc())).first()
    assert newest.source == "storefront" and newest.file == str(new_logo)


def test_a_new_logo_with_text_over_it_does_not_count_until_a_person_clears_the_text(embedded, api, monkeypatch) -> None:
    """The logo rules decide what counts for the quarter: the storefront shows the new logo, but the text detector
    reads text over it, so the rotation stays open naming LOGO-TEXT until a person confirms no text covers it."""
    from tests.unit.rules.detector_images import logo as logo_image

    env = embedded()
    store = env.config["stores"][0]
    texted = env.tmp / "logo-folder" / "store_logo_sale.png"
    texted.parent.mkdir(parents=True, exist_ok=True)
    logo_image(text="SALE 50%").save(texted, "PNG")
    set_page(env, name=store["store_name"], logo_b64=b64(LOGO_A), response_time_hours=24)
    record_logo_change(env, datetime(2026, 11, 2, tzinfo=UTC), LOGO_A)  # last quarter's logo

    def rotate() -> None:  # config and storefront both carry the new logo: only the logo rules stand in the way
        use_config(env, monkeypatch, store_logo=str(texted))
        set_page(env, logo_b64=b64(texted))

    dag_run, responder = run(api, [
        Step("store.ask_1", "Done", before=rotate),
        Step("store.ask_2", "Done"),  # the person looked: no text covers it (the detector was wrong)
    ], {"as_of": "2027-01-05"})

    states = task_states(dag_run)
    assert str(dag_run.state) == "success", (states, responder.errors)
    assert not responder.errors, responder.errors
    _first, second = responder.answered
    assert "the approved logo does not count for the quarter: LOGO-TEXT" in second.detail["body"]
    assert "Check the logo store_logo_sale.png of demo: text over it?" in second.detail["body"]
    rotation, history = events(env, "logo_rotation")
    assert rotation.status == "closed"
    assert [e["event"] for e in history] == ["opened", "asked", "answered", "reopened", "asked", "answered",
                                             "closed"]
    assert any("LOGO-TEXT" in d for d in history[3]["detail"]["differences"])
    review, _ = events(env, "image_review")
    assert review.status == "closed"
    with session_scope(env.db_url) as s:
        newest = s.scalars(select(LogoChange).order_by(LogoChange.id.desc())).first()
    assert newest.source == "storefront" and newest.file == str(texted)
