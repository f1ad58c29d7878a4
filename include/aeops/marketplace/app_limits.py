"""The Open Platform's per-app limits, shared by every store (seller) of the app: one call rate for the app, one
per API, and the app's daily call quota (which resets at 24:00 Beijing time, docs/aliexpress-api.md).

One :class:`AppLimits` per process and settings (:func:`app_limits`): every client of every store in the process
asks it before each call, after its own seller's slot. The backend is the per-seller limiter's
(:mod:`aeops.marketplace.ratelimit`): ``memory`` (one process: the embedded default's threads), ``file:///dir``
(every process of one host: LocalExecutor's task processes) or ``redis://...`` (every worker on any host: Celery).
A call beyond the quota raises :class:`~aeops.marketplace.errors.QuotaExhausted` before it is sent, like the
platform's own refusal, so no store burns the calls another store's run still needs.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aeops.marketplace.errors import QuotaExhausted
from aeops.marketplace.ratelimit import SLOT_WIDTH, RateLimiter, make_rate_limiter

BEIJING = timedelta(hours=8)


def quota_day(now: datetime | None = None) -> str:
    """The app quota's day: the date in Beijing time (the quota resets at 24:00 GMT+8)."""
    return ((now or datetime.now(UTC)) + BEIJING).strftime("%Y%m%d")


class QuotaCounter:
    """Counts an app's calls of a day, shared like the backend: ``take(key)`` returns the call's number."""

    def __init__(self, spec: str | None) -> None:
        self.spec = spec or "memory"
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._redis = None
        if self.spec.startswith(("redis://", "rediss://", "unix://")):
            import redis  # lazy: only this backend needs it

            self._redis = redis.Redis.from_url(self.spec)
        elif self.spec.startswith("file://"):
            self._dir = Path(self.spec[len("file://"):])
            self._dir.mkdir(parents=True, exist_ok=True)

    def take(self, key: str) -> int:
        """Count one call for ``key``; returns how many calls ``key`` has now."""
        if self._redis is not None:
            pipe = self._redis.pipeline()
            pipe.incr(f"aeops:quota:{key}")
            pipe.expire(f"aeops:quota:{key}", 2 * 24 * 3600)
            return int(pipe.execute()[0])
        if self.spec.startswith("file://"):
            fd = os.open(self._dir / f"quota-{key.replace(':', '_')}.count", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                count = int(os.pread(fd, 32, 0).decode() or "0") + 1
                os.pwrite(fd, str(count).encode().ljust(SLOT_WIDTH), 0)  # padded: no truncation (ratelimit)
                return count
            finally:
                os.close(fd)
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1
            return self._counts[key]


class AppLimits:
    """The app's shared limits: ``app_qps`` for every call, ``api_qps`` per API, ``daily_quota`` calls a day."""

    def __init__(self, backend: str | None, *, app_qps: float | None = None,
                 api_qps: Mapping[str, float] | None = None, daily_quota: int | None = None) -> None:
        self.backend = backend or "memory"
        self.daily_quota = daily_quota
        self._app: RateLimiter | None = make_rate_limiter(self.backend, app_qps) if app_qps else None
        self._apis: dict[str, RateLimiter] = {api: make_rate_limiter(self.backend, qps)
                                              for api, qps in (api_qps or {}).items() if qps}
        self._quota = QuotaCounter(self.backend) if daily_quota else None

    @property
    def active(self) -> bool:
        """True when any limit is set."""
        return bool(self._app or self._apis or self._quota)

    def acquire(self, app_key: str, api: str) -> float:
        """Wait for the app's (and the API's) next slot and count the call against the day's quota; returns the
        seconds waited. QuotaExhausted (nothing sent) once the quota is used up."""
        if self._quota is not None and self._quota.take(f"{app_key}:{quota_day()}") > int(self.daily_quota or 0):
            raise QuotaExhausted(f"the app's daily call quota ({self.daily_quota}, shared by every store) is used up "
                                 "until 24:00 Beijing time", code="AppCallLimit", api=api)
        waited = self._app.acquire(f"app:{app_key}") if self._app is not None else 0.0
        limiter = self._apis.get(api)
        if limiter is not None:
            waited += limiter.acquire(f"app:{app_key}:{api}")
        return waited


_shared: dict[tuple, AppLimits] = {}
_shared_lock = threading.Lock()


def app_limits(backend: str | None, *, app_qps: float | None, api_qps: Mapping[str, float] | None,
               daily_quota: int | None) -> AppLimits | None:
    """The process's one :class:`AppLimits` for these settings (None when no limit is set), shared by every client
    built with them."""
    key = (backend or "memory", app_qps, tuple(sorted((api_qps or {}).items())), daily_quota)
    with _shared_lock:
        if key not in _shared:
            _shared[key] = AppLimits(backend, app_qps=app_qps, api_qps=api_qps, daily_quota=daily_quota)
        limits = _shared[key]
    return limits if limits.active else None
