"""Per-seller rate limits, in one process and shared across limiter instances (as across processes)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from aeops.marketplace.ratelimit import FileRateLimiter, InProcessRateLimiter, RedisRateLimiter, make_rate_limiter


def test_in_process_bucket_paces_calls_per_key() -> None:
    now = [100.0]
    sleeps: list[float] = []
    limiter = InProcessRateLimiter(10, clock=lambda: now[0], sleep=sleeps.append)
    for _ in range(3):
        limiter.acquire("seller-a")
    limiter.acquire("seller-b")
    assert sleeps == pytest.approx([0.1, 0.2])  # seller-b has its own bucket


def test_burst_allows_back_to_back_calls() -> None:
    sleeps: list[float] = []
    limiter = InProcessRateLimiter(10, burst=3, clock=lambda: 5.0, sleep=sleeps.append)
    for _ in range(4):
        limiter.acquire("k")
    assert sleeps == pytest.approx([0.1])


def test_file_limiter_is_shared_between_instances(tmp_path: Path) -> None:
    sleeps: list[float] = []
    first = FileRateLimiter(0.5, tmp_path, sleep=sleeps.append)  # one call per 2 s
    second = FileRateLimiter(0.5, tmp_path, sleep=sleeps.append)  # e.g. another Celery worker
    first.acquire("seller")
    assert second.acquire("seller") > 1.0  # the second process must wait for the first one's slot


def test_redis_limiter_is_shared_between_instances() -> None:
    key = f"test-{uuid.uuid4().hex}"
    sleeps: list[float] = []
    first = RedisRateLimiter(0.5, "redis://127.0.0.1:6379/15", sleep=sleeps.append)
    second = RedisRateLimiter(0.5, "redis://127.0.0.1:6379/15", sleep=sleeps.append)
    first.acquire(key)
    assert second.acquire(key) > 1.0


def test_spec_selects_backend(tmp_path: Path) -> None:
    assert isinstance(make_rate_limiter("memory", 5), InProcessRateLimiter)
    assert isinstance(make_rate_limiter(f"file://{tmp_path}", 5), FileRateLimiter)
    with pytest.raises(ValueError, match="unknown rate limit backend"):
        make_rate_limiter("zookeeper://x", 5)


def test_the_client_paces_five_percent_under_the_stores_qps(tmp_path: Path) -> None:
    """A call granted on time may arrive late and the next on time: at exactly the limit the platform's strict
    sliding second would count qps + 1 and answer ApiCallLimit."""
    from aeops.marketplace.client import AliExpressClient

    for spec in ("memory", f"file://{tmp_path}"):
        client = AliExpressClient("http://127.0.0.1:9", "ratelimit-test-key", "ratelimit-test-secret-7f3a", qps=20,
                                  rate_limit=spec)
        try:
            assert client._limiter.interval == pytest.approx(1 / 19)  # 52.6 ms, not 50
        finally:
            client.close()
