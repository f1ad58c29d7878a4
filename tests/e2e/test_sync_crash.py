"""Crash test: the push process is killed (SIGKILL) half-way, the push is retried.

The final marketplace state must be correct, no product may be written twice with different values, and every
outcome must be recorded (the write in flight at the kill is closed as ``interrupted`` and its products re-read).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from sqlalchemy import func, select

from aeops.catalog.context import client_for, context
from aeops.config import parse_config
from aeops.store import session_scope
from aeops.store.models import ApiWrite, Change
from aeops.sync.intake import pull_export
from aeops.sync.planning import plan
from aeops.sync.preflight import preflight
from aeops.sync.pushing import collect_chunks, push_chunk
from aeops.sync.validate import validate
from tests.e2e.test_catalog_sync import assert_marketplace_matches_export

pytestmark = pytest.mark.e2e
DAG_ID, RUN_ID = "aliexpress_catalog_sync", "crash-test"
PUSH_SCRIPT = """
import json, sys
from aeops.config import parse_config
from aeops.sync.pushing import push_chunk
config = parse_config(json.loads(sys.argv[1]))
for chunk in json.loads(sys.argv[2]):
    push_chunk(chunk, config=config)
"""


def edit_writes(db_url: str) -> int:
    with session_scope(db_url) as s:
        return s.scalar(select(func.count()).select_from(ApiWrite).where(ApiWrite.api.like("%product.edit")))


def test_push_killed_half_way_then_retried(embedded) -> None:
    env = embedded(faults="latency_ms=150")
    config = parse_config(env.config)
    store = "demo"
    preflight(store, config=config, client=client_for(context(store, config)))
    pull_export(store, DAG_ID, RUN_ID, config=config)
    client = client_for(context(store, config))
    validate(store, DAG_ID, RUN_ID, config=config, client=client)
    plan(store, DAG_ID, RUN_ID, config=config, client=client)
    chunks = collect_chunks(DAG_ID, RUN_ID, config=config)
    edits = [c for c in chunks if c["kind"] == "edit"]
    total_edits = sum(len(b) for c in edits for b in c["batches"])
    assert total_edits >= 6, "the sample should plan several product edits"

    # Push the edits (one product per call) in another process and kill it half-way.
    proc = subprocess.Popen([sys.executable, "-c", PUSH_SCRIPT, json.dumps(env.config), json.dumps(edits)],
                            env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while edit_writes(env.db_url) < total_edits // 2:
        assert proc.poll() is None, "the push finished before it could be killed"
        assert time.monotonic() < deadline, "the push made no progress"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with session_scope(env.db_url) as s:
        left = Counter(c.status for c in s.scalars(select(Change).where(Change.kind == "edit")))
    assert left["planned"] > 0, left  # really half-way: some edits were never sent

    # The retry (a new task try) pushes everything that is left, including the other kinds.
    for chunk in chunks:
        push_chunk(chunk, config=config, client=client)

    with session_scope(env.db_url) as s:
        changes = s.scalars(select(Change)).all()
        writes = s.scalars(select(ApiWrite)).all()
    assert {c.status for c in changes} == {"confirmed"}
    outcomes = Counter(w.outcome for w in writes)
    # The kill landed while a call was in flight (it had just been logged): that record is closed, not left open.
    assert set(outcomes) == {"answered", "interrupted"} and outcomes["interrupted"] == 1, outcomes
    # Each product's edit was sent at most twice (only if the killed call never reached the marketplace), and
    # always with the same payload: the change row holds the one payload every attempt sends.
    per_product = Counter(pid for w in writes if w.api.endswith("product.edit") for pid in w.product_ids)
    assert max(per_product.values()) <= 2
    assert sum(n == 2 for n in per_product.values()) <= 1
    assert set(per_product) == {c.product_id for c in changes if c.kind == "edit"}
    assert_marketplace_matches_export(env, store)
