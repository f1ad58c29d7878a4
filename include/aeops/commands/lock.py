"""``aeops lock show`` and ``aeops lock release STORE --force --reason TEXT``: the per-store write locks.

``show`` lists the locks held now (holder, holds, since, until, a priority waiter) and the tasks waiting for
them (waiting in reschedule mode, so they hold no worker slot), and the last forced releases. ``release``
frees a store whoever holds it — for a stuck or dead holder — and records who (``user@host``) and why.
"""

from __future__ import annotations

import argparse

from aeops.catalog import lock
from aeops.commands.slack import operator
from aeops.config import load_config
from aeops.errors import CommandError
from aeops.store.ledger import Ledger
from aeops.store.models import utcnow


def _ago(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


def _show(ledger: Ledger, store: str | None) -> int:
    held = [info for info in lock.locks(ledger) if store in (None, info.store)]
    waiting = lock.waiters(ledger, store)
    now = utcnow()
    if not held:
        print("no store lock is held" + (f" for {store}" if store else ""))
    for info in held:
        wanted = f"; wanted with priority by {info.waiting}" if info.waiting else ""
        print(f"{info.store}: held by {info.holder} ({info.holds} task(s)) since {info.acquired_at:%Y-%m-%d %H:%M:%S} "
              f"UTC, until {info.expires_at:%H:%M:%S} UTC at the latest{wanted}")
    if waiting:
        print("waiting (no worker slot held):")
        for w in waiting:
            stale = " (not seen lately: gave up or died?)" if (now - w.last_seen).total_seconds() > 600 else ""
            print(f"  {w.store}: {w.task} as {w.waiter}{' with priority' if w.priority else ''}, waiting "
                  f"{_ago((now - w.since).total_seconds())}, last try {_ago((now - w.last_seen).total_seconds())} "
                  f"ago{stale}")
    recent = lock.releases(ledger, store, limit=5)
    if recent:
        print("forced releases:")
        for r in recent:
            print(f"  {r.released_at:%Y-%m-%d %H:%M} UTC {r.store}: {r.holder or '(was free)'} released by "
                  f"{r.released_by}: {r.reason}")
    return 0


def _release(ledger: Ledger, args: argparse.Namespace) -> int:
    if not args.force:
        raise CommandError("releasing a store lock someone holds needs --force (and --reason)")
    if not (args.reason or "").strip():
        raise CommandError("say why with --reason TEXT (it is recorded with your name)")
    released = lock.force_release(ledger, args.store, by=operator(), reason=args.reason)
    if released is None:
        print(f"{args.store}: the lock was not held; the release is recorded all the same")
    else:
        print(f"{args.store}: released the lock of {released.holder} ({released.holds} hold(s)); recorded as "
              f"released by {operator()}")
    return 0


def lock_command(args: argparse.Namespace) -> int:
    """``aeops lock show [STORE]`` or ``aeops lock release STORE --force --reason TEXT``."""
    ledger = Ledger(load_config().resolved_database_url())
    if args.action == "show":
        return _show(ledger, args.store)
    if not args.store:
        raise CommandError("release needs the store name (see 'aeops lock show')")
    return _release(ledger, args)
