"""Polite storefront reading: at most so many pages a second per language site over every store of the deployment,
inside one poke's reading window.

The live site has strong anti-bot protection (docs/aliexpress-api.md §2.13): a reader that fires hundreds of
pages a second is answered with punish pages, and every store of a deployment reads aliexpress.com from the same
hosts. Verification therefore reads at most the deployment's ``storefront_pages_per_second`` (top level of
``aeops_config``, default 1) per language site *over all stores together*: every page takes a slot of its site
from one shared limiter (:func:`shared_limiter`, the backend of ``rate_limit_backend``: ``memory`` for the threads
of one process, ``file:///dir`` for the processes of one host, ``redis://...`` for every Celery worker). A store's
own ``storefront_pages_per_second`` (default 1; the embedded simulator allows more) caps that store further: when
it is lower than the shared rate, the store also waits for its own turn (within the poke) before it asks for the
shared slot, so a shared slot is never held by a store that is not ready for it. Each poke spends at most
``storefront_page_budget`` pages a run (:func:`aeops.verify.sampling.budget_plan`).

A poke reads only during its window (``SitePacer.until``): a page whose turn falls after it is *deferred*
(no request is sent, no shared slot is taken: the next store is not pushed back by it) and read by the next poke
of the reschedule sensor, so no worker slot is held waiting for a budget that does not fit into one poke.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from aeops.marketplace.ratelimit import InProcessRateLimiter, SlotReserver, make_rate_limiter

SHARED_KEY = "storefront:{site}"
"""The shared limiter's key of a language site's pages (one budget per site for the whole deployment)."""

_shared: dict[tuple[str, float], SlotReserver] = {}
_shared_lock = threading.Lock()


def shared_limiter(backend: str | None, rate: float) -> SlotReserver:
    """The process's one storefront limiter for ``backend`` (``rate_limit_backend``; empty: ``$AEOPS_RATE_LIMIT``,
    else ``memory``) at ``rate`` pages a second per site: every store's pacer in this process takes its slots, and
    through a file or Redis backend every other process's too."""
    spec = backend or os.environ.get("AEOPS_RATE_LIMIT") or "memory"
    with _shared_lock:
        if (spec, rate) not in _shared:
            _shared[(spec, rate)] = make_rate_limiter(spec, rate)
        return _shared[(spec, rate)]


class SitePacer:
    """Hands out page slots per language site for one poke of one store: the shared slot of the site (when
    ``shared`` is given), after the store's own turn at ``rate`` when that is slower; none after the window."""

    def __init__(self, rate: float, window_s: float, *, shared: SlotReserver | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self.until = clock() + max(0.0, window_s)
        self._shared = shared
        # the store's own pace within this poke; not needed when the shared rate is as slow or slower
        own_needed = rate > 0 and (shared is None or shared.interval < self.interval)
        self._own: SlotReserver | None = InProcessRateLimiter(rate, clock=clock) if own_needed else None
        self._lock = threading.Lock()
        self.deferred = 0  # pages not read this poke: their turn fell after the window

    def _take(self, limiter: SlotReserver, key: str) -> bool:
        wait = limiter.reserve(key, self.until - self._clock())
        if wait is None:
            with self._lock:
                self.deferred += 1
            return False
        if wait > 0:
            self._sleep(wait)
        return True

    def slot(self, site: str) -> bool:
        """Wait for ``site``'s next turn and take it; False (no request) when the turn is after the window: the
        page is read by the next poke."""
        if self._own is not None and not self._take(self._own, site):
            return False
        return self._shared is None or self._take(self._shared, SHARED_KEY.format(site=site))
