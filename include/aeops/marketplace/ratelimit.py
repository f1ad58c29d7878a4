"""Per-seller client-side rate limits (calls per second) that can hold across processes.

All limiters pace calls with the same rule (GCRA, a token bucket written as "the next free slot"): a call
takes the slot ``max(now, next_free)`` and moves ``next_free`` on by ``1/qps``; up to ``burst`` calls may
start back to back. Backends:

* :class:`InProcessRateLimiter` (default): one process, thread-safe.
* :class:`FileRateLimiter`: processes on one host share a small state file under ``fcntl`` lock.
* :class:`RedisRateLimiter`: processes on any host share a Redis key (atomic Lua script, Redis clock);
  what two Celery workers against one seller need.

:func:`make_rate_limiter` builds one from a spec string: ``"memory"``, ``"file:///path/dir"`` or
``"redis://127.0.0.1:6379/0"``.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from aeops.secrets import register_secret


class RateLimiter(Protocol):
    """Something that blocks until the caller may make one more call for ``key`` (a seller)."""

    def acquire(self, key: str) -> float:
        """Wait for a slot; return the seconds waited."""
        ...


class InProcessRateLimiter:
    """Token bucket per key inside one process."""

    def __init__(self, qps: float, burst: int = 1, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if qps <= 0:
            raise ValueError("qps must be positive")
        self.interval = 1.0 / qps
        self.burst = max(1, burst)
        self._clock, self._sleep = clock, sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float:
        """Wait for a slot for ``key`` (GCRA within this process); returns the seconds waited."""
        with self._lock:
            now = self._clock()
            tat = max(self._next.get(key, now), now)  # theoretical arrival time
            start = max(now, tat - self.interval * (self.burst - 1))
            self._next[key] = tat + self.interval
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


SLOT_WIDTH = 32
"""Bytes a slot file's number is written in, space-padded: one write replaces the last value, whatever its length
(no truncation, which costs ~0.1 ms of CPU a call here); readers strip the padding."""


def _slot_text(value: float | int) -> bytes:
    return repr(value).encode().ljust(SLOT_WIDTH)


class FileRateLimiter:
    """Token bucket per key shared by processes on one host through a locked file per key."""

    def __init__(self, qps: float, directory: str | os.PathLike[str], burst: int = 1, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if qps <= 0:
            raise ValueError("qps must be positive")
        self.interval = 1.0 / qps
        self.burst = max(1, burst)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._sleep = sleep

    def _path(self, key: str) -> Path:
        return self.directory / f"ratelimit-{hashlib.sha1(key.encode()).hexdigest()[:16]}.slot"

    def acquire(self, key: str) -> float:
        """Wait for a slot for ``key`` shared by every process on this machine (a locked file); returns the seconds
        waited."""
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).decode() or "0"
            now = time.time()  # wall clock: comparable across processes
            tat = max(float(raw), now)
            start = max(now, tat - self.interval * (self.burst - 1))
            os.pwrite(fd, _slot_text(tat + self.interval), 0)
        finally:
            os.close(fd)  # closing releases the lock
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


_REDIS_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local start = tat - interval * (burst - 1)
if start < now then start = now end
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((tat + interval - now) * 1000) + 1000)
return tostring(start - now)
"""


class RedisRateLimiter:
    """Token bucket per key in Redis, shared by every process and host that uses the same Redis."""

    def __init__(self, qps: float, url: str = "redis://127.0.0.1:6379/0", burst: int = 1, *,
                 prefix: str = "aeops:ratelimit:", sleep: Callable[[float], None] = time.sleep) -> None:
        import redis  # lazy: only this backend needs it

        if qps <= 0:
            raise ValueError("qps must be positive")
        self.interval = 1.0 / qps
        self.burst = max(1, burst)
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(_REDIS_GCRA)
        self._sleep = sleep

    def acquire(self, key: str) -> float:
        """Wait for a slot for ``key`` shared through Redis; returns the seconds waited."""
        wait = float(self._script(keys=[self.prefix + key], args=[self.interval, self.burst]))
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)


def make_rate_limiter(spec: str | None, qps: float, burst: int = 1) -> RateLimiter:
    """A limiter from ``"memory"`` (default), ``"file:///dir"`` or ``"redis://[:password@]host:port/db"`` (the
    password is registered as a secret: masked in every log, report and message from then on)."""
    if not spec or spec == "memory":
        return InProcessRateLimiter(qps, burst)
    if spec.startswith("file://"):
        return FileRateLimiter(qps, spec[len("file://"):], burst)
    if spec.startswith(("redis://", "rediss://", "unix://")):
        register_secret(urlsplit(spec).password)
        return RedisRateLimiter(qps, spec, burst)
    scheme = spec.split("://", 1)[0] if "://" in spec else spec  # never the rest: it may hold a password
    raise ValueError(f"unknown rate limit backend {scheme!r} (use memory, file:///dir or redis://host:port/db)")
