"""Per-seller request rates from the metered simulator's call log (see metered_simulator.py)."""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.distributed.metered_simulator import token_fingerprint


def read_calls(path: Path) -> list[dict[str, Any]]:
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    return [json.loads(line) for line in lines if line.strip()]


def max_in_window(times: Iterable[float], window: float) -> int:
    """The most arrivals inside any half-open interval ``[t, t + window)``."""
    ordered = sorted(times)
    best = 0
    for i, start in enumerate(ordered):
        best = max(best, bisect_left(ordered, start + window, lo=i) - i)
    return best


@dataclass(frozen=True)
class SellerRate:
    seller_id: int
    calls: int
    throttled: int  # answered ApiCallLimit (the client waited and retried)
    max_per_second: int  # most arrivals in any 1 s window
    max_per_window: int  # most arrivals in any ``window`` s window (the asserted figure)
    window: float


def seller_rates(calls: list[dict[str, Any]], sellers: dict[str, Any], window: float) -> dict[int, SellerRate]:
    """Calls grouped by seller (token fingerprints resolved through the simulator's ``sellers`` state)."""
    owner: dict[str, int] = {}
    for seller in sellers.values():
        for token in seller.get("access_tokens", {}):
            owner[token_fingerprint(token)] = int(seller["seller_id"])
    grouped: dict[int, list[dict[str, Any]]] = {}
    for call in calls:
        seller_id = owner.get(call.get("token") or "")
        if seller_id is not None:
            grouped.setdefault(seller_id, []).append(call)
    return {
        seller_id: SellerRate(
            seller_id=seller_id,
            calls=len(items),
            throttled=sum(bool(c["throttled"]) for c in items),
            max_per_second=max_in_window((c["t"] for c in items), 1.0),
            max_per_window=max_in_window((c["t"] for c in items), window),
            window=window,
        )
        for seller_id, items in grouped.items()
    }
