"""The per-store write lock's rows: ``store_locks`` (one per store), ``store_lock_waiters`` (tasks waiting without a
worker slot) and ``store_lock_releases`` (a person's forced releases). The lock's policy (waiting, priority,
renewal, giving up) is :mod:`aeops.catalog.lock`'s; every state change here is a single conditional ``UPDATE`` or
an ``INSERT`` on the primary key, so acquiring is atomic on SQLite and PostgreSQL alike. Each method takes ``now``
from its caller: the policy's one clock decides what has expired, and that clock is the database's
(:meth:`StoreLocks.now`), so workers whose clocks disagree still agree on every lease.

Fencing: each time a lock is taken anew its ``generation`` goes up; a holder's :class:`LockToken` is the generation
it holds, and :func:`check_fence` (called inside the transaction that records a write before it is sent) refuses
with :class:`LockLost` once the row shows another holder or generation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aeops.store.models import StoreLock, StoreLockRelease, StoreLockWaiter, utcnow
from aeops.store.repos.base import Repository


@dataclass(frozen=True)
class LockToken:
    """What a holder holds: the store's lock, by ``holder``, at ``generation`` (the fencing token)."""

    store: str
    holder: str
    generation: int


class LockLost(RuntimeError):
    """The store's lock is no longer this holder's (its lease ran out and another run took it, or a person released
    it by force): nothing more may be written under it. ``lost_to``: who holds it now (None: nobody)."""

    def __init__(self, token: LockToken, lost_to: str | None) -> None:
        self.token, self.lost_to = token, lost_to
        super().__init__(f"store {token.store}: write lock lost to {lost_to or 'nobody (released or expired)'}; "
                         f"{token.holder} sends nothing more")


def check_fence(s: Session, token: LockToken) -> None:
    """:class:`LockLost` unless the store's lock row still shows ``token``'s holder and generation, read in the
    caller's transaction: on PostgreSQL ``FOR SHARE`` (a run taking the lock over waits until this transaction has
    committed its record); on SQLite call it after the transaction's first write (the database's write lock is
    then held: nobody takes the lock over in between)."""
    query = select(StoreLock.holder, StoreLock.generation, StoreLock.holds).where(StoreLock.store == token.store)
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True)
    row = s.execute(query).first()
    if row is None or row.holder != token.holder or row.generation != token.generation:
        raise LockLost(token, row.holder if row is not None and row.holds > 0 else None)


def _open_to(holder: str, now: datetime):
    """No one else is waiting with priority (or their mark went stale). A mark is ``waiting`` (who) with
    ``waiting_until``; clearing ``waiting`` clears the mark."""
    return or_(StoreLock.waiting.is_(None), StoreLock.waiting == holder, StoreLock.waiting_until <= now)


class StoreLocks(Repository):
    """``ledger.locks``: the rows of the per-store write lock."""

    def now(self) -> datetime:
        """The database's clock (UTC): every lease is measured on it, so workers whose clocks disagree agree on
        what has expired. SQLite is a file on this host: its clock is this host's."""
        with self._transaction() as s:
            if s.get_bind().dialect.name != "postgresql":
                return utcnow()
            return s.scalar(select(func.clock_timestamp())).astimezone(UTC)

    def token(self, store: str, holder: str, now: datetime) -> LockToken | None:
        """``holder``'s token of the store's lock while it holds it at ``now`` (None: it does not)."""
        with self._transaction() as s:
            generation = s.scalar(select(StoreLock.generation).where(
                StoreLock.store == store, StoreLock.holder == holder, StoreLock.expires_at > now))
        return None if generation is None else LockToken(store, holder, int(generation))

    def get(self, store: str) -> StoreLock | None:
        """The store's lock row, held or not (None: never locked)."""
        with self._transaction() as s:
            return s.get(StoreLock, store)

    def try_acquire(self, store: str, holder: str, ttl_s: float, now: datetime) -> bool:
        """Take (or join, for the same holder) the store's lock without waiting; True when held.

        Joining adds a hold and moves the expiry out to now + ``ttl_s`` (never in: another task's longer lease
        stands); taking a free lock (its expiry at or before now) starts it anew: one hold, acquired now, the mark
        of the priority waiter that takes it cleared, its generation one up (the fencing token). A store's first lock
        is its row's INSERT, generation 1 (of two racing inserts, the second fails on the primary key and loses)."""
        expires = now + timedelta(seconds=ttl_s)
        open_to_us = _open_to(holder, now)
        longer = StoreLock.expires_at < expires  # pragma: no mutate - `<=` would set an equal expiry: the same lock
        later = case((longer, expires), else_=StoreLock.expires_at)
        with self._transaction() as s:
            joined = s.execute(
                update(StoreLock)
                .where(StoreLock.store == store, StoreLock.holder == holder, StoreLock.expires_at > now, open_to_us)
                .values(holds=StoreLock.holds + 1, expires_at=later)
            ).rowcount
            if joined:
                return True
            taken = s.execute(
                update(StoreLock)
                .where(StoreLock.store == store, StoreLock.expires_at <= now, open_to_us)
                .values(holder=holder, holds=1, acquired_at=now, expires_at=expires, waiting=None,
                        generation=StoreLock.generation + 1)
            ).rowcount
            if taken:
                return True
            # held by another (or reserved): no INSERT that can only fail (it would fail on the key and return False
            # below all the same: this spares the database an error per poke, so its mutants change nothing)
            if s.scalar(select(StoreLock.store).where(StoreLock.store == store)) is not None:  # pragma: no mutate
                return False
        try:
            with self._transaction() as s:
                s.add(StoreLock(store=store, holder=holder, acquired_at=now, expires_at=expires))  # one hold: default
            return True
        except IntegrityError:  # another process inserted it first
            return False

    def mark_waiting(self, store: str, holder: str, grace_s: float, now: datetime) -> None:
        """``holder`` waits with priority: nobody else may (re-)acquire the lock for ``grace_s`` from now (unless
        another priority waiter's mark is still fresh)."""
        with self._transaction() as s:
            s.execute(
                update(StoreLock)
                .where(StoreLock.store == store,
                       or_(StoreLock.waiting.is_(None), StoreLock.waiting == holder, StoreLock.waiting_until <= now))
                .values(waiting=holder, waiting_until=now + timedelta(seconds=grace_s))
            )

    def release(self, store: str, holder: str, now: datetime, generation: int | None = None) -> None:
        """Give back one hold (of the lock at ``generation``, when given: a hold lost with its generation is not
        given back from the lock taken anew); the last one frees the store."""
        last = StoreLock.holds - 1 <= 0  # (the SET clause reads the row as it was before the UPDATE)
        where = [StoreLock.store == store, StoreLock.holder == holder]
        if generation is not None:
            where.append(StoreLock.generation == generation)
        with self._transaction() as s:  # a lock that expired meanwhile stays free: expiring it now changes nothing
            s.execute(update(StoreLock).where(*where)
                      .values(holds=StoreLock.holds - 1, expires_at=case((last, now), else_=StoreLock.expires_at)))

    def release_all(self, store: str, holder: str, now: datetime) -> bool:
        """Free the store if ``holder`` holds it, however many holds are left (a run's teardown)."""
        with self._transaction() as s:
            return bool(s.execute(update(StoreLock).where(StoreLock.store == store, StoreLock.holder == holder,
                                                          StoreLock.expires_at > now)
                                  .values(holds=0, expires_at=now)).rowcount)

    def renew(self, store: str, holder: str, ttl_s: float, now: datetime, generation: int | None = None) -> bool:
        """While ``holder`` still holds the lock (at ``generation``, when given), push its expiry out to now + ttl
        (never in: another task's longer lease stands); True while it holds it, False once it lost it (expired,
        taken anew, released by force)."""
        expires = now + timedelta(seconds=ttl_s)
        where = [StoreLock.store == store, StoreLock.holder == holder, StoreLock.expires_at > now]
        if generation is not None:
            where.append(StoreLock.generation == generation)
        with self._transaction() as s:
            return bool(s.execute(update(StoreLock).where(*where).values(
                expires_at=case((StoreLock.expires_at < expires, expires), else_=StoreLock.expires_at))).rowcount)

    def held(self, now: datetime) -> list[StoreLock]:
        """Every lock held at ``now``, by store."""
        with self._transaction() as s:
            return list(s.scalars(select(StoreLock).where(StoreLock.expires_at > now).order_by(StoreLock.store)))

    def force_release(self, store: str, *, holder: str | None, holds: int, by: str, reason: str,
                      now: datetime) -> None:
        """Free the store whoever holds it, and record who freed it, why, and what it freed (``holder`` None: it
        was free), in one transaction. The generation goes up: the holder it was taken from writes nothing more."""
        with self._transaction() as s:
            s.execute(update(StoreLock).where(StoreLock.store == store)  # its holder's generation ends here
                      .values(holds=0, expires_at=now, waiting=None, waiting_until=None,
                              generation=StoreLock.generation + 1))
            s.add(StoreLockRelease(store=store, holder=holder, holds=holds, released_by=by, reason=reason,
                                   released_at=now))

    def releases(self, store: str | None = None, limit: int = 20) -> list[StoreLockRelease]:
        """The newest forced releases (who, why, what), newest first."""
        with self._transaction() as s:
            query = select(StoreLockRelease)
            if store is not None:
                query = query.where(StoreLockRelease.store == store)
            return list(s.scalars(query.order_by(StoreLockRelease.id.desc()).limit(limit)))

    # ------------------------------------------------------------------------------------------- waiters
    def note_waiter(self, store: str, waiter: str, task: str, priority: bool, now: datetime) -> datetime:
        """``task`` (of ``waiter``) tried at ``now`` and waits on; returns since when it has waited (its first try)."""
        with self._transaction() as s:
            row = s.get(StoreLockWaiter, (store, waiter, task))
            if row is None:
                row = StoreLockWaiter(store=store, waiter=waiter, task=task, since=now)
                s.add(row)
            row.last_seen, row.priority = now, priority
            return row.since

    def forget_waiter(self, store: str, waiter: str, task: str) -> None:
        """``task`` waits no more (it holds the lock, gave up, or ended)."""
        with self._transaction() as s:
            s.execute(delete(StoreLockWaiter).where(StoreLockWaiter.store == store, StoreLockWaiter.waiter == waiter,
                                                    StoreLockWaiter.task == task))

    def waiters(self, store: str | None = None) -> list[StoreLockWaiter]:
        """Tasks waiting for a store's lock (of ``store`` when given), oldest first."""
        with self._transaction() as s:
            query = select(StoreLockWaiter)
            if store is not None:
                query = query.where(StoreLockWaiter.store == store)
            return list(s.scalars(query.order_by(StoreLockWaiter.since)))
