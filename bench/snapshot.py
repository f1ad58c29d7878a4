"""bench/stores.py ``--snapshot DIR``: a first run's end state, kept and restored for the measured (day-2) runs.

At 10,000 products a store the first run (every price and stock written blind, every product verified) takes
20-40 minutes at 20 stores; it only prepares the state the measured run starts from. A snapshot keeps that state
(the work folder and the aeops DB) per N and per every option that shapes it, so a change can be measured again in
minutes. The PostgreSQL aeops DB is kept as a database ``aeops_snap_*`` used as a template (``CREATE DATABASE ...
TEMPLATE``); SQLite's file is in the work folder.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

BENCH_FERNET_KEY = "u5nBKt3GOKuQ6DZfxyj3x7I8NbAFlx1j2UGcNlVzrhk="  # a snapshot's aeops DB was written with it


def fernet_key() -> str:
    """The aeops DB's Fernet key of every bench run (``AEOPS_FERNET_KEY``, else a fixed one): a snapshot's DB and
    the run restored from it must use the same."""
    return os.environ.get("AEOPS_FERNET_KEY") or BENCH_FERNET_KEY


def folder(args: argparse.Namespace, n: int) -> Path:
    """Where N's snapshot lives: one per N and per everything that shapes the first run's end state."""
    key = json.dumps([args.products, args.skus, args.changed, args.qps, args.faults, args.app_qps,
                      args.storefront_pps, args.workers, bool(args.db)])
    return Path(args.snapshot) / f"n{n}-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def modules_file(args: argparse.Namespace) -> Path:
    """The modules the latest first run's workers had loaded (any N: the same steps), loaded by the measured run's
    workers before they start, as a worker that ran the first run itself had them."""
    return Path(args.snapshot) / "modules.json"


def database(snap: Path) -> str:
    """The PostgreSQL database holding a snapshot's aeops DB (a template copied for each measured run)."""
    return "aeops_snap_" + snap.name.replace("-", "_")


def save(snap: Path, work: Path, db: str | None, port: int) -> None:
    """Keep the first run's end state in ``snap``: the work folder (the simulator's state, the exports with day 2's
    written, the images), the simulator's port (its URL is in what the aeops DB holds) and the aeops DB (a copy of
    the PostgreSQL database as a template, or SQLite's file in the folder)."""
    shutil.rmtree(snap, ignore_errors=True)
    shutil.copytree(work, snap / "work")
    (snap / "port.json").write_text(json.dumps(port))
    if db:
        with admin_db(db) as (conn, name):
            conn.execute(text_(f'DROP DATABASE IF EXISTS "{database(snap)}"'))
            conn.execute(text_(f'CREATE DATABASE "{database(snap)}" TEMPLATE "{name}"'))
    (snap / "done").write_text(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def restore(snap: Path, work: Path, db: str | None) -> None:
    """The first run's end state back: the work folder, and the aeops DB from the snapshot's template."""
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(snap / "work", work)
    for stale in [*work.glob("worker*.json"), work / "limits", work / "pools"]:
        shutil.rmtree(stale, ignore_errors=True) if stale.is_dir() else stale.unlink(missing_ok=True)
    if db:
        restore_database(snap, db)


def restore_database(snap: Path, db: str) -> None:
    """The PostgreSQL database of ``db`` made afresh from the snapshot's template (what it held is gone)."""
    with admin_db(db) as (conn, name):
        conn.execute(text_(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text_(f'CREATE DATABASE "{name}" TEMPLATE "{database(snap)}"'))


@contextlib.contextmanager
def admin_db(url: str) -> Iterator[tuple[Any, str]]:
    """A connection to the server's ``postgres`` database (outside a transaction, for CREATE/DROP DATABASE) and the
    name of ``url``'s database, none of whose sessions are left open."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text_("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name AND "
                               "pid <> pg_backend_pid()"), {"name": target.database})
            yield conn, str(target.database)
    finally:
        engine.dispose()


def text_(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)
