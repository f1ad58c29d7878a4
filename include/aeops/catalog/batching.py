"""How planned changes are cut into platform calls and into push tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from aeops.marketplace import MAX_PRODUCTS_PER_CALL

CHUNK_BATCHES = 10  # platform calls one daily push task sends


def batch_size(kind: str) -> int:
    """Products per platform call: the batch price/inventory calls take 20, a product edit (or qualification) one."""
    return 1 if kind in ("edit", "qualification") else MAX_PRODUCTS_PER_CALL


def batches(change_ids: Sequence[int], kind: str) -> list[list[int]]:
    """Change ids (in product order) in calls of :func:`batch_size`."""
    size = batch_size(kind)
    return [list(change_ids[i : i + size]) for i in range(0, len(change_ids), size)]


def chunks(store: str, sync_run_id: int, kind: str, change_ids: Sequence[int],
           chunk_batches: int = CHUNK_BATCHES) -> list[dict[str, Any]]:
    """Push-task payloads: each up to ``chunk_batches`` calls of one store's run and one kind (JSON-able)."""
    calls = batches(change_ids, kind)
    return [{"store": store, "sync_run_id": sync_run_id, "kind": kind, "batches": calls[i : i + chunk_batches]}
            for i in range(0, len(calls), max(1, chunk_batches))]
