"""Fixtures for end-to-end runs of the DAGs (see harness.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import Embedded, start_embedded


@pytest.fixture
def embedded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Embedded]]:
    """Factory: ``embedded(faults="throttle=0.1", seed=True)`` -> a running simulator + Slack sink + env."""
    started: list[Embedded] = []

    def start(**kwargs) -> Embedded:
        env = start_embedded(tmp_path / f"embedded-{len(started)}", monkeypatch, **kwargs)
        started.append(env)
        return env

    yield start
    for env in started:
        env.sim.stop()
        env.sink.stop()
