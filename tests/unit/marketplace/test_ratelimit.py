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


def test_redis_limiter_is_shared_between_instances(redis_url: str) -> None:
    key = f"test-{uuid.uuid4().hex}"
    sleeps: list[float] = []
    first = RedisRateLimiter(0.5, redis_url, sleep=sleeps.append)
    second = RedisRateLimiter(0.5, redis_url, sleep=sleeps.append)
    first.acquire(key)
    assert second.acquire(key) > 1.0


def test_a_slot_is_reserved_only_when_it_starts_before_the_deadline_in_memory() -> None:
    now = [100.0]
    limiter = InProcessRateLimiter(1, clock=lambda: now[0], sleep=pytest.fail)  # reserve never sleeps
    assert limiter.reserve("site", within=0.0) == 0.0
    assert limiter.reserve("site", within=0.5) is None  # its slot is 1 s away: refused ...
    assert limiter.reserve("site", within=0.5) is None
    assert limiter.reserve("site", within=1.0) == pytest.approx(1.0)  # ... and moved nothing: still 1 s away
    assert limiter.reserve("other", within=0.0) == 0.0  # another key's slots are its own
    now[0] = 110.0
    assert limiter.reserve("site", within=0.0) == 0.0  # the queue has drained


def test_a_refused_reservation_moves_nothing_in_the_shared_file(tmp_path: Path) -> None:
    first = FileRateLimiter(0.1, tmp_path, sleep=pytest.fail)  # one call per 10 s
    second = FileRateLimiter(0.1, tmp_path, sleep=pytest.fail)  # another process of the host
    assert first.reserve("site", within=0.0) == pytest.approx(0.0, abs=1.0)
    assert second.reserve("site", within=5.0) is None  # the next slot is ~10 s away
    wait = second.reserve("site", within=60.0)
    assert wait is not None and 5.0 < wait <= 10.0  # not pushed back by the refusal: the first slot after it
    assert second.acquire("other") == 0.0  # acquire still paces (and sleeps) as before; a new key starts at once


def test_a_refused_reservation_moves_nothing_in_redis(redis_url: str) -> None:
    key = f"test-{uuid.uuid4().hex}"
    first = RedisRateLimiter(0.1, redis_url, sleep=pytest.fail)
    second = RedisRateLimiter(0.1, redis_url, sleep=pytest.fail)
    assert first.reserve(key, within=0.0) == pytest.approx(0.0, abs=1.0)
    assert second.reserve(key, within=5.0) is None
    wait = second.reserve(key, within=60.0)
    assert wait is not None and 5.0 < wait <= 10.0


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
