"""Answer human-in-the-loop requests of a ``dag.test()`` run through Airflow's real REST route.

``dag.test()`` blocks while a task is ``awaiting_input`` until something answers. :class:`Responder` runs in a
background thread: it polls the metadata DB for this DAG's ``awaiting_input`` task instances and answers each
with ``PATCH /api/v2/dags/{dag}/dagRuns/{run}/taskInstances/{task}/{map_index}/hitlDetails``, in process
through FastAPI's TestClient on Airflow's own API app (same metadata DB, same auth: every user is admin in the
embedded mode). Each expected request is a :class:`Step` (an optional action first, e.g. fixing the store page,
then the answer). A request nobody expected is answered with ``fallback`` so the run never hangs; the test then
fails on what the responder recorded. (No scheduler runs under ``dag.test()``, so Airflow 3.3.2's race between a
quick answer and the scheduler's stale executor event does not apply here.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Step:
    task_id: str
    choice: str
    before: Callable[[], None] | None = None
    params_input: dict[str, Any] = field(default_factory=dict)


@dataclass
class Answered:
    task_id: str
    map_index: int
    run_id: str
    choice: str
    detail: dict[str, Any]  # the hitlDetails GET before answering (subject, body, options, ...)
    status: int
    expected: bool


def api_client():
    """A TestClient on Airflow's core API app plus auth headers (create it in the main thread: slow, once)."""
    # import what the responder thread uses now: two threads importing the models at once can deadlock
    import airflow.models.taskinstance  # noqa: F401
    from airflow.api_fastapi.app import create_app
    from fastapi.testclient import TestClient

    client = TestClient(create_app(apps="core"), base_url="http://testserver")
    token = client.get("/auth/token").json()["access_token"]
    return client, {"Authorization": f"Bearer {token}"}


class Responder(threading.Thread):
    def __init__(self, client_headers: tuple[Any, dict[str, str]], dag_id: str, steps: list[Step], *,
                 fallback: str, timeout_s: float = 300) -> None:
        super().__init__(daemon=True, name=f"hitl-responder-{dag_id}")
        self.client, self.headers = client_headers
        self.dag_id, self.steps, self.fallback, self.timeout_s = dag_id, list(steps), fallback, timeout_s
        self.answered: list[Answered] = []
        self.errors: list[str] = []
        self.stop = threading.Event()

    def _awaiting(self) -> list[tuple[str, str, int]]:
        from airflow.models.taskinstance import TaskInstance as TI
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as s:
            rows = s.execute(select(TI.run_id, TI.task_id, TI.map_index).where(
                TI.dag_id == self.dag_id, TI.state == "awaiting_input")).all()
        return [(r[0], r[1], r[2]) for r in rows]

    def _answer(self, run_id: str, task_id: str, map_index: int, choice: str, params_input: dict[str, Any],
                expected: bool) -> None:
        path = (f"/api/v2/dags/{self.dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/hitlDetails")
        detail = self.client.get(path, headers=self.headers).json()
        answer = self.client.patch(path, headers=self.headers,
                                   json={"chosen_options": [choice], "params_input": params_input})
        self.answered.append(Answered(task_id, map_index, run_id, choice, detail, answer.status_code, expected))
        if answer.status_code != 200:
            self.errors.append(f"PATCH {task_id}: HTTP {answer.status_code} {answer.text[:300]}")

    def run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        seen: set[tuple[str, str, int]] = set()
        while not self.stop.is_set():
            try:
                for key in self._awaiting():
                    if key in seen:
                        continue
                    seen.add(key)
                    run_id, task_id, map_index = key
                    if self.steps and self.steps[0].task_id == task_id:
                        step = self.steps.pop(0)
                        try:
                            if step.before:
                                step.before()
                        except Exception as exc:  # noqa: BLE001 - recorded; the run must still be answered
                            self.errors.append(f"before {task_id}: {type(exc).__name__}: {exc}")
                        self._answer(run_id, task_id, map_index, step.choice, step.params_input, True)
                    else:
                        self.errors.append(f"unexpected request {task_id}[{map_index}]")
                        self._answer(run_id, task_id, map_index, self.fallback, {}, False)
            except Exception as exc:  # noqa: BLE001 - keep polling; the test asserts on errors
                self.errors.append(f"{type(exc).__name__}: {exc}")
            if self.steps and time.monotonic() > deadline:  # from now on every request gets the fallback
                self.errors.append(f"responder timed out waiting for {self.steps[0].task_id}")
                self.steps.clear()
            self.stop.wait(0.5)
