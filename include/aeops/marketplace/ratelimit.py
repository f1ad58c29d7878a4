"""Per-seller client-side rate limits (calls per second) that can hold across processes.

All limiters pace calls with the same rule (GCRA, a token bucket written as "the next free slot"): a call
takes the slot ``max(now, next_free)`` and moves ``next_free`` on by ``1/qps``; up to ``burst`` calls may
start back to back. ``reserve(key, within)`` takes the same slot only when it starts within ``within`` seconds
and returns the wait without sleeping, else None with nothing moved: a caller with a deadline (the storefront
pacer of a verification poke, :mod:`aeops.verify.politeness`) never pushes back the callers after it with a slot
it will not use. Backends:

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


class SlotReserver(Protocol):
    """A limiter that also reserves a slot only when it starts before a deadline (every backend here)."""

    interval: float

    def reserve(self, key: str, within: float) -> float | None:
        """Take ``key``'s next slot if it starts within ``within`` seconds from now and return the seconds until it
        (not slept); None, with nothing reserved, when it would start later."""
        ...


def _next_slot(tat: float | None, now: float, interval: float, burst: int) -> tuple[float, float]:
    """GCRA: the start of the next slot and the theoretical arrival time after it, from the stored ``tat``."""
    tat = max(tat if tat is not None else now, now)
    return max(now, tat - interval * (burst - 1)), tat + interval


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
            start, self._next[key] = _next_slot(self._next.get(key), now, self.interval, self.burst)
        wait = start - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def reserve(self, key: str, within: float) -> float | None:
        """Take ``key``'s next slot if it starts within ``within`` seconds; the seconds until it, else None (nothing
        moved)."""
        with self._lock:
            now = self._clock()
            start, tat = _next_slot(self._next.get(key), now, self.interval, self.burst)
            if start - now > within:
                return None
            self._next[key] = tat
        return start - now


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

    def _take(self, key: str, within: float | None) -> float | None:
        """Under the key's file lock: the seconds until the next slot, reserved unless it starts after ``within``
        seconds (then None and the file is left as it was)."""
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).decode() or "0"
            now = time.time()  # wall clock: comparable across processes
            start, tat = _next_slot(float(raw), now, self.interval, self.burst)
            if within is not None and start - now > within:
                return None
            os.pwrite(fd, _slot_text(tat), 0)
        finally:
            os.close(fd)  # closing releases the lock
        return start - now

    def acquire(self, key: str) -> float:
        """Wait for a slot for ``key`` shared by every process on this machine (a locked file); returns the seconds
        waited."""
        wait = self._take(key, None) or 0.0
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def reserve(self, key: str, within: float) -> float | None:
        """Take ``key``'s next slot (shared by this machine's processes) if it starts within ``within`` seconds; the
        seconds until it, else None (nothing moved)."""
        return self._take(key, within)


# GCRA on the Redis clock: the key's next slot; with ARGV[3] taken only when it starts within that many seconds of
# now, else nil and nothing moved (``reserve``); without it always taken (``acquire``).
_REDIS_SLOT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local within = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local start = tat - interval * (burst - 1)
if start < now then start = now end
if within and start - now > within then return false end
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
        self._script = self._redis.register_script(_REDIS_SLOT)
        self._sleep = sleep

    def acquire(self, key: str) -> float:
        """Wait for a slot for ``key`` shared through Redis; returns the seconds waited."""
        wait = float(self._script(keys=[self.prefix + key], args=[self.interval, self.burst]))
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def reserve(self, key: str, within: float) -> float | None:
        """Take ``key``'s next slot (shared through Redis, on the Redis clock) if it starts within ``within``
        seconds; the seconds until it, else None (nothing moved)."""
        answer = self._script(keys=[self.prefix + key], args=[self.interval, self.burst, repr(float(within))])
        return None if answer is None else float(answer)


def make_rate_limiter(spec: str | None, qps: float, burst: int = 1) -> InProcessRateLimiter | FileRateLimiter | \
        RedisRateLimiter:
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
