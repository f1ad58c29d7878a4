#!/usr/bin/env python
"""One step of a store's daily sync, as a task of dags/aliexpress_catalog_sync.py runs it (bench/stores.py).

:data:`STEPS` holds each step as bench/stores.py calls it, in its worker process or, with ``--task-processes``, in
a fresh process of its own, as Airflow runs every task (and every poke of a sensor):

    python bench/task_step.py SPEC.json STEP STORE RUN_ID ARG_JSON

imports the Task SDK first (a task process has it loaded before the task's first line), then only what the step
itself imports, runs the step and prints one JSON line: its answer, the API calls and aeops-DB statements it made,
its CPU seconds and the process's peak RSS (the kernel's ``VmHWM``: the whole task process, imports included).
"""

from __future__ import annotations

import contextlib
import cProfile
import json
import logging
import resource
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

DAG_ID = "aliexpress_catalog_sync"


def _client(store: str, cfg: Any) -> Any:
    from aeops.catalog.context import client_for, context

    return client_for(context(store, cfg))


def _preflight(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.preflight import preflight

    preflight(store, client=client, config=cfg)
    return store


def _pull_export(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.intake import pull_export

    pull_export(store, f"{DAG_ID}__{store}", run_id, config=cfg)
    return store


def _validate(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.validate import validate

    validate(store, f"{DAG_ID}__{store}", run_id, client=client, config=cfg)
    return store


def _plan(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.planning import plan

    return plan(store, f"{DAG_ID}__{store}", run_id, client=client, config=cfg)


def _collect_chunks(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.pushing import collect_chunks

    return collect_chunks(f"{DAG_ID}__{store}", run_id, config=cfg)


def _push_chunk(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.pushing import push_chunk

    index, chunk = arg
    return push_chunk(chunk, client=client, config=cfg, task=f"push_chunk[{index}] of {DAG_ID}__{store} {run_id}")


def _verify_poke(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.verify.runner import poke

    return poke(store, f"{DAG_ID}__{store}", run_id, client=client, config=cfg).done


def _finish(store: str, run_id: str, cfg: Any, client: Any, arg: Any) -> Any:
    from aeops.sync.finish import finish

    summary = finish(store, f"{DAG_ID}__{store}", run_id, client=client, config=cfg)
    return {"status": summary.get("status")}


Step = Callable[[str, str, Any, Any, Any], Any]
# step -> (the function, whether it takes the store's marketplace client)
STEPS: dict[str, tuple[Step, bool]] = {
    "preflight": (_preflight, True), "pull_export": (_pull_export, False), "validate": (_validate, True),
    "plan": (_plan, True), "collect_chunks": (_collect_chunks, False), "push_chunk": (_push_chunk, True),
    "verify_poke": (_verify_poke, True), "finish": (_finish, True),
}


def preload(modules: list[str]) -> None:
    """Import what every step imports, and ``modules`` (those a first run's worker had loaded): a worker process
    that runs only the measured run then spends its CPU on the steps' work, as after a first run in the same
    process. What a process builds on first use (SQL statement cache, translation catalogs, report templates) is
    not warmed: the measured run pays it once, as every task process does."""
    import importlib

    for name in modules:
        if name.startswith(("aeops", "airflow", "sqlalchemy", "pandas", "polars", "pyarrow", "httpx", "jinja2", "babel",
                            "alembic", "PIL", "imagehash", "numpy", "psycopg2", "lxml", "defusedxml", "slack_sdk")):
            with contextlib.suppress(Exception):
                importlib.import_module(name)
    import aeops.catalog.context  # noqa: F401
    import aeops.exports.reader  # noqa: F401
    import aeops.sync.finish  # noqa: F401
    import aeops.sync.intake  # noqa: F401
    import aeops.sync.planning  # noqa: F401
    import aeops.sync.preflight  # noqa: F401
    import aeops.sync.pushing  # noqa: F401
    import aeops.sync.validate  # noqa: F401
    import aeops.verify.runner  # noqa: F401
    from aeops.store.db import configure_models

    configure_models()  # as a task process forked from a scheduler or a preloaded Celery worker has them


def run(step: str, store: str, run_id: str, cfg: Any, arg: Any = None, client: Any = None) -> Any:
    """Run one step here (the worker's own process; ``client`` shared by its steps, so it counts their calls)."""
    fn, needs_client = STEPS[step]
    return fn(store, run_id, cfg, client if needs_client else None, arg)


POOLS: dict[str, Any] = {}  # the worker spec's "pools": {"planning": slots (0: none), "dir": the slot files}


@contextlib.contextmanager
def pool_slot(pool: str, wall: dict[str, float]) -> Iterator[None]:
    """One of the Airflow pool ``pool``'s slots, across every worker process (a lock file a slot, ``fcntl``):
    waits, as a queued task does, until one is free. No slots configured: no pool."""
    slots = int(POOLS.get(pool) or 0)
    if slots <= 0:
        yield
        return
    import fcntl

    folder = Path(POOLS["dir"])
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    while True:
        for k in range(slots):
            handle = (folder / f"{pool}-{k}").open("a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                continue
            wall[f"{pool} pool wait"] = wall.get(f"{pool} pool wait", 0.0) + time.perf_counter() - started
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        time.sleep(0.05)


def profile_threads() -> list[Any]:
    """A cProfile of this thread and of every thread started from now on (cProfile sees only the thread that
    enables it): the returned list grows by one profile per thread; merge them with ``pstats.Stats(*list)``."""
    profilers: list[Any] = []

    def start(*_a: Any) -> None:  # threading's profile hook: runs first in each new thread
        sys.setprofile(None)
        profiler = cProfile.Profile(time.thread_time)  # the thread's CPU, not the wall: waits cost nothing
        profilers.append(profiler)
        profiler.enable()

    start()
    threading.setprofile(start)
    return profilers


def vm_kb(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, in kB, from /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class Counters:
    """What a process's steps did, for the bench's columns: aeops-DB statements, and storefront pages read per
    language site (the slots each page took of the shared storefront budget)."""

    def __init__(self) -> None:
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        from aeops.verify import politeness

        self.statements = 0
        self.pages: dict[str, int] = {}
        self._lock = threading.Lock()
        event.listen(Engine, "before_cursor_execute", self._statement)
        take = politeness.SitePacer.slot

        def counted_slot(pacer: Any, site: str) -> bool:
            taken = take(pacer, site)
            if taken:
                with self._lock:
                    self.pages[site] = self.pages.get(site, 0) + 1
            return taken

        politeness.SitePacer.slot = counted_slot

    def _statement(self, *_a: Any) -> None:
        with self._lock:
            self.statements += 1

    def add(self, statements: int, pages: dict[str, int]) -> None:
        """Add a task process's counts."""
        with self._lock:
            self.statements += statements
            for site, n in pages.items():
                self.pages[site] = self.pages.get(site, 0) + n

    def reset(self) -> None:
        """Start counting again (the measured run)."""
        with self._lock:
            self.statements, self.pages = 0, {}


def quiet_logs() -> None:
    """Only errors from the libraries; no Slack here: the summaries stay in the outbox."""
    for name in ("aeops", "alembic", "httpx", "airflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    logging.getLogger("aeops.notify").setLevel(logging.CRITICAL)


def main() -> None:
    """The step of the command line in this (fresh) process; one JSON line on stdout."""
    spec_path, step, store, run_id, arg_json = sys.argv[1:6]
    import airflow.sdk  # noqa: F401 - a task process has the Task SDK loaded before the task's first line

    quiet_logs()
    from aeops.config import parse_config

    counters = Counters()
    spec = json.loads(Path(spec_path).read_text())
    cfg = parse_config(spec["config"])
    client = _client(store, cfg) if STEPS[step][1] else None
    answer = run(step, store, run_id, cfg, json.loads(arg_json), client)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"answer": answer, "calls": getattr(client, "calls", 0), "statements": counters.statements,
                      "pages": counters.pages, "cpu_s": usage.ru_utime + usage.ru_stime,
                      "peak_mb": vm_kb("VmHWM") / 1024}, default=str))


if __name__ == "__main__":
    main()
