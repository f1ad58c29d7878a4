"""A per-store write lock in the aeops DB: an urgent re-run and the daily sync never write one store at once.

Chosen over a one-slot Airflow pool because a pool is per deployment, not per store, and would stall every
store's daily push behind one urgent run; the lock is per store, survives across tasks and workers (it is a
row in ``store_locks``), and expires by itself if its holder dies.

Semantics (all state changes are single conditional ``UPDATE``s or an ``INSERT`` on the primary key, so
acquiring is atomic on SQLite and PostgreSQL alike; the rows and their SQL are :mod:`aeops.store.repos.store_locks`'s,
the policy is this module's):

- *free* when ``expires_at`` is at or before now; acquiring a free lock sets ``holder``, ``holds = 1`` and
  ``expires_at = now + ttl``;
- *shared by one holder*: the holder is a run (:func:`run_holder`), so the parallel push chunks of one run
  acquire it together (``holds`` counts them; each acquire pushes ``expires_at`` out); the last release frees it;
- *priority*: a waiter with ``priority=True`` (the urgent re-run) marks the row ``waiting``; while that mark is
  fresh nobody else may acquire or re-acquire it, so a daily sync's chunks drain and the urgent run goes next;
- *expiry*: a holder that dies without releasing frees the store after ``ttl``; :func:`store_lock` renews the
  expiry from a background thread while its block runs, so a long block never loses its lock. Every lease is
  measured on the database's clock (:func:`database_now`), never a worker's own;
- *fencing*: each time the lock is taken anew its ``generation`` goes up. :func:`held_lock` yields a
  :class:`LockHold` carrying the generation it holds (its :class:`LockToken`); a renewal that finds the lock lost
  (expired, taken over, released by force) marks the hold lost, and each push batch checks the token in the same
  transaction that records the batch before sending it (:func:`aeops.store.repos.store_locks.check_fence`): a
  holder that stalled past its lease while another run took the store stops with :class:`LockLost` ("lock lost to
  <holder>", :func:`lost_message`) and sends nothing more.

Waiting never holds a worker slot: a task that finds the store locked returns from :func:`poke` at once (the
DAGs wait in reschedule-mode sensors that poke again later) and is listed in ``store_lock_waiters`` meanwhile
(``aeops lock show``); it gives up with :class:`StoreBusy` once it has waited ``max_wait_s`` since its first poke.
A person can free a store by force (``aeops lock release STORE --force --reason ...``): :func:`force_release`
records who and why in ``store_lock_releases``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from aeops.i18n import translator
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import StoreLockRelease
from aeops.store.repos.store_locks import LockLost, LockToken

log = get_logger(__name__)

DEFAULT_TTL_S = 600.0
POLL_S = 0.5


class StoreBusy(RuntimeError):
    """The store's lock is held by another run for longer than we may wait."""


@dataclass(frozen=True)
class LockInfo:
    """A store's write lock as held now: its holder and how many of its tasks share it, since, until, next waiter."""
    store: str
    holder: str
    holds: int
    acquired_at: datetime
    expires_at: datetime
    waiting: str | None


def database_now(ledger: Ledger) -> datetime:
    """Now on the aeops DB's clock: the one clock every lease is measured on (tests replace it)."""
    return ledger.locks.now()


def lost_message(exc: LockLost, lang: str) -> str:
    """What a push stopped by a lost lock says, in the store's language."""
    _ = translator(lang)
    if exc.lost_to:
        text = _("store {store}: write lock lost to {holder}; this push stopped and sent nothing more")
    else:
        text = _("store {store}: write lock lost (released or expired, nobody holds it now); this push stopped and "
                 "sent nothing more")
    return text.format(store=exc.token.store, holder=exc.lost_to)


def run_holder(sync_run_id: int) -> str:
    """The holder name of one aeops run (``sync_runs.id``): every task of the run shares it."""
    return f"sync-run-{int(sync_run_id)}"


def inspect_lock(ledger: Ledger, store: str) -> LockInfo | None:
    """The store's lock while it is held (None when free)."""
    row = ledger.locks.get(store)
    if row is None or row.expires_at <= database_now(ledger):
        return None
    return LockInfo(row.store, row.holder, row.holds, row.acquired_at, row.expires_at, row.waiting)


def try_acquire(ledger: Ledger, store: str, holder: str, ttl_s: float = DEFAULT_TTL_S) -> bool:
    """Take (or join, for the same holder) the store's lock without waiting; True when held.

    Joining adds a hold and moves the expiry out to now + ``ttl_s`` (never in: another task's longer lease
    stands); taking a free lock (its expiry at or before now) starts it anew: one hold, acquired now, the mark of
    the priority waiter that takes it cleared (:meth:`aeops.store.repos.store_locks.StoreLocks.try_acquire`)."""
    return ledger.locks.try_acquire(store, holder, ttl_s, database_now(ledger))


def _mark_waiting(ledger: Ledger, store: str, holder: str, grace_s: float) -> None:
    ledger.locks.mark_waiting(store, holder, grace_s, database_now(ledger))


def acquire(ledger: Ledger, store: str, holder: str, ttl_s: float = DEFAULT_TTL_S, *, wait_s: float = 0.0,
            priority: bool = False, poll_s: float = POLL_S, sleep=time.sleep, clock=time.monotonic) -> None:
    """Take the store's lock, waiting up to ``wait_s`` seconds; StoreBusy (naming the holder) otherwise.

    ``priority=True`` marks the lock as wanted so the current holder's tasks drain and no one else gets in.
    """
    deadline = clock() + wait_s
    if try_acquire(ledger, store, holder, ttl_s):
        return
    log.info("store %s is locked by %s; waiting up to %.0f s%s", store, getattr(inspect_lock(ledger, store), "holder", "nobody now"), wait_s, " (priority)" if priority else "")  # noqa: E501 - one line: log lines are not mutated (docs/testing.md)
    while True:
        if priority:
            _mark_waiting(ledger, store, holder, grace_s=max(5 * poll_s, 5.0))
        if clock() >= deadline:
            info = inspect_lock(ledger, store)
            who = (f"held by {info.holder} ({info.holds} task(s)) since {info.acquired_at:%H:%M:%S} UTC, "
                   f"until {info.expires_at:%H:%M:%S} UTC at the latest") if info else "busy"
            raise StoreBusy(f"store {store} is {who}; waited {wait_s:.0f} s")
        sleep(poll_s)
        if try_acquire(ledger, store, holder, ttl_s):
            return


def release(ledger: Ledger, store: str, holder: str, generation: int | None = None) -> None:
    """Give back one hold (of the lock at ``generation``, when given); the last one frees the store."""
    ledger.locks.release(store, holder, database_now(ledger), generation)


def release_all(ledger: Ledger, store: str, holder: str) -> bool:
    """Free the store if ``holder`` holds it, however many holds are left (a run's teardown)."""
    return ledger.locks.release_all(store, holder, database_now(ledger))


def renew(ledger: Ledger, store: str, holder: str, ttl_s: float, generation: int | None = None) -> bool:
    """Push the expiry out to now + ttl (never in) while ``holder`` still holds the lock (at ``generation``, when
    given); False once it has lost it."""
    return ledger.locks.renew(store, holder, ttl_s, database_now(ledger), generation)


@contextmanager
def store_lock(ledger: Ledger, store: str, holder: str, ttl: float = DEFAULT_TTL_S, *, wait: float = 0.0,
               priority: bool = False) -> Iterator[LockHold]:
    """Hold the store's write lock for the block (re-entrant for the same holder, renewed while the block runs).

    ``ttl`` (seconds) bounds how long a crashed holder blocks the store; ``wait`` how long to wait for it here
    (default 0: StoreBusy at once; tasks wait with :func:`poke` in reschedule mode instead of sleeping);
    ``priority`` lets the caller jump the queue (see the module docstring). Yields the :class:`LockHold`.
    """
    acquire(ledger, store, holder, ttl, wait_s=wait, priority=priority)
    with held_lock(ledger, store, holder, ttl) as hold:
        yield hold


def _renewal_due(stop: threading.Event, interval_s: float) -> bool:
    """Wait until the next renewal is due; True when the block ended instead (tests drive renewals by events)."""
    return stop.wait(interval_s)


@dataclass
class LockHold:
    """A hold on a store's lock inside :func:`held_lock`: its fencing ``token``, and whether a renewal found it
    lost (``lost``; ``lost_to``: who holds the store now, None for nobody)."""

    token: LockToken
    lost: threading.Event = field(default_factory=threading.Event)
    lost_to: str | None = None

    def check(self) -> None:
        """:class:`LockLost` once a renewal found the lock lost (each batch also checks the token in the database,
        in the transaction that records it)."""
        if self.lost.is_set():
            raise LockLost(self.token, self.lost_to)


@contextmanager
def held_lock(ledger: Ledger, store: str, holder: str, ttl: float = DEFAULT_TTL_S) -> Iterator[LockHold]:
    """For a lock ``holder`` already holds (one hold, e.g. taken by :func:`poke`): renew it while the block runs,
    give the hold back after. Yields the :class:`LockHold` (its token fences each write); a renewal that finds the
    lock lost marks the hold lost and stops renewing. :class:`LockLost` at once when it is not held at all."""
    token = ledger.locks.token(store, holder, database_now(ledger))
    if token is None:
        current = inspect_lock(ledger, store)
        raise LockLost(LockToken(store, holder, 0), current.holder if current else None)
    hold = LockHold(token)
    stop = threading.Event()

    def keep_alive() -> None:
        while not _renewal_due(stop, max(ttl / 3, 0.05)):
            try:
                still_held = renew(ledger, store, holder, ttl, token.generation)
            except Exception as exc:  # noqa: BLE001 - the next renewal or the ttl covers a blip
                log.warning("store lock %s: renewal failed (%s)", store, type(exc).__name__)
                continue
            if not still_held:
                current = inspect_lock(ledger, store)
                hold.lost_to = current.holder if current else None
                hold.lost.set()
                log.error("store lock %s of %s LOST (now held by %s): the push stops before its next batch", store,
                          holder, hold.lost_to or "nobody")
                return

    renewer = threading.Thread(target=keep_alive, name=f"store-lock-{store}", daemon=True)
    renewer.start()
    try:
        yield hold
    finally:
        stop.set()
        renewer.join(timeout=5)
        release(ledger, store, holder, token.generation)


# ------------------------------------------------------------------------------------ waiting without a slot
@dataclass(frozen=True)
class WaiterInfo:
    """A task waiting for a store's write lock (a priority waiter goes first)."""
    store: str
    waiter: str
    task: str
    priority: bool
    since: datetime
    last_seen: datetime


def poke(ledger: Ledger, store: str, holder: str, *, task: str, ttl_s: float = DEFAULT_TTL_S,
         priority: bool = False, max_wait_s: float = 1800.0, poke_s: float = 30.0) -> bool:
    """One try for the store's lock, never sleeping: True when ``holder`` now holds it (one hold, release it);
    False when it is busy, after recording ``task`` as a waiter (and, with ``priority``, marking the lock wanted
    for three poke intervals, so it stays reserved between pokes). StoreBusy (naming the holder) once ``task``
    has waited ``max_wait_s`` since its first poke."""
    now = database_now(ledger)
    if try_acquire(ledger, store, holder, ttl_s):
        ledger.locks.forget_waiter(store, holder, task)
        return True
    if priority:
        _mark_waiting(ledger, store, holder, grace_s=max(3 * poke_s, 5.0))
    waited = (now - ledger.locks.note_waiter(store, holder, task, priority, now)).total_seconds()
    info = inspect_lock(ledger, store)
    who = f"held by {info.holder} ({info.holds} task(s)) since {info.acquired_at:%H:%M:%S} UTC" if info else "busy"
    if waited >= max_wait_s:
        ledger.locks.forget_waiter(store, holder, task)
        raise StoreBusy(f"store {store} is {who}; waited {waited / 60:.0f} min for it (at most {max_wait_s / 60:.0f}); "
                        "'aeops lock show' lists locks and waiters")
    log.info("store %s is %s; %s waits (%.0f s so far%s), holding no worker slot", store, who, task, waited,
             ", with priority" if priority else "")
    return False


def locks(ledger: Ledger) -> list[LockInfo]:
    """Every store lock that is held now."""
    return [LockInfo(r.store, r.holder, r.holds, r.acquired_at, r.expires_at, r.waiting)
            for r in ledger.locks.held(database_now(ledger))]


def waiters(ledger: Ledger, store: str | None = None) -> list[WaiterInfo]:
    """Tasks waiting for a store's lock (oldest first); one not seen for a while may have given up or died."""
    return [WaiterInfo(r.store, r.waiter, r.task, r.priority, r.since, r.last_seen)
            for r in ledger.locks.waiters(store)]


def forget_waiter(ledger: Ledger, store: str, holder: str, task: str) -> None:
    """A waiting task ended without the lock (failed, timed out): take it off the list."""
    ledger.locks.forget_waiter(store, holder, task)


def force_release(ledger: Ledger, store: str, *, by: str, reason: str) -> LockInfo | None:
    """Free the store whoever holds it (a person's decision: a holder is stuck or gone) and record who and why.
    Returns what was released (None: it was free; the release is recorded all the same)."""
    if not reason.strip():
        raise ValueError("a reason is required to release a store lock by force")
    now = database_now(ledger)
    held = inspect_lock(ledger, store)
    ledger.locks.force_release(store, holder=held.holder if held else None, holds=held.holds if held else 0, by=by,
                               reason=reason.strip(), now=now)
    log.warning("store %s: lock %s released by force by %s: %s", store,
                f"of {held.holder} ({held.holds} hold(s))" if held else "(already free)", by, reason.strip())
    return held


def releases(ledger: Ledger, store: str | None = None, limit: int = 20) -> list[StoreLockRelease]:
    """The newest forced releases (who, why, what), newest first."""
    return ledger.locks.releases(store, limit)
