"""Polite storefront reading: at most so many pages a second per language site, inside one poke's reading window.

The live site has strong anti-bot protection (docs/aliexpress-api.md §2.13): a reader that fires hundreds of
pages a second is answered with punish pages. Verification therefore reads at ``storefront_pages_per_second``
per language site (default 1; the embedded simulator allows more) and spends at most ``storefront_page_budget``
pages a run (:func:`aeops.verify.sampling.budget_plan`).

A poke reads only during its window (``SitePacer.until``): a page whose turn falls after it is *deferred*
(no request is sent) and read by the next poke of the reschedule sensor, so no worker slot is held waiting for
a budget that does not fit into one poke. Waits inside the window are at most one interval per page queued for a
site.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SitePacer:
    """Hands out page slots per language site: one every ``1 / rate`` seconds, none after the window."""

    def __init__(self, rate: float, window_s: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._clock, self._sleep = clock, sleep
        self.until = clock() + max(0.0, window_s)
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()
        self.deferred = 0  # pages not read this poke: their turn fell after the window

    def slot(self, site: str) -> bool:
        """Wait for ``site``'s next turn and take it; False (at once, no request) when the turn is after the
        window: the page is read by the next poke."""
        with self._lock:
            now = self._clock()
            at = max(now, self._next.get(site, now))
            if at > self.until:
                self.deferred += 1
                return False
            self._next[site] = at + self.interval
        wait = at - self._clock()
        if wait > 0:
            self._sleep(wait)
        return True
