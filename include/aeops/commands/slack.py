"""``aeops slack list|flush|drop ID``: the Slack outbox for an operator.

``list`` shows what waits (and whether Slack refuses the bot token: the queue is blocked), ``flush`` delivers
everything now ignoring back-offs (after Slack or its token was fixed), ``drop ID`` takes one message out of the
queue for good (the row stays, marked ``dropped`` with who and why). The database is the aeops DB
(``AEOPS_DATABASE_URL``, the ``aeops_db`` connection, ...); the Slack connection is ``slack_api_default``, read
like Airflow's own CLI reads connections (environment, secrets backend, metadata DB).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import socket
import sys

from aeops.config import load_config
from aeops.errors import CommandError
from aeops.notify import outbox_admin
from aeops.notify.send import flush
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger

log = get_logger(__name__)


def operator() -> str:
    """Who runs the command (for the record): ``user@host``."""
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        user = os.environ.get("USER") or "unknown"
    return f"{user}@{socket.gethostname()}"


def _db_url() -> str:
    url = load_config().resolved_database_url()
    Ledger(url)  # the aeops DB's schema brought up to date before the outbox is read
    return url


def _list(url: str, args: argparse.Namespace) -> int:
    health = outbox_admin.outbox_health(url)
    rows = outbox_admin.list_rows(url, include_done=args.all)
    if args.json:
        json.dump({"health": health.to_dict(), "messages": [
            {"id": r.id, "status": r.status, "store": r.store, "channel": r.channel, "kind": r.kind,
             "attempts": r.attempts, "created_at": r.created_at.isoformat(),
             "next_attempt_at": r.next_attempt_at.isoformat() if r.next_attempt_at else None,
             "last_error": r.last_error, "text": r.text} for r in rows]}, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    print(health.describe())
    if not rows:
        return 0
    print(f"{'id':>6}  {'status':<8} {'store':<12} {'channel':<16} {'kind':<8} {'tries':>5}  {'created (UTC)':<16}  "
          "text / last error")
    for r in rows:
        text = r.text.replace("\n", " ")
        line = (f"{r.id:>6}  {r.status:<8} {(r.store or '-'):<12} {r.channel:<16} {r.kind:<8} {r.attempts:>5}  "
                f"{r.created_at:%Y-%m-%d %H:%M}  {text[:70]}")
        print(line + (f"\n{'':>8}last error: {r.last_error}" if r.last_error and r.status != "sent" else ""))
    return 0


def _flush(url: str) -> int:
    # like `airflow connections ...`: read connections as a server process does (metadata DB included)
    previous = os.environ.get("_AIRFLOW_PROCESS_CONTEXT")
    os.environ["_AIRFLOW_PROCESS_CONTEXT"] = previous or "server"
    try:
        report = flush(url)
    finally:
        if previous is None:
            os.environ.pop("_AIRFLOW_PROCESS_CONTEXT", None)
    health = outbox_admin.outbox_health(url)
    if report is None:
        raise CommandError("no Slack client could be made from connection slack_api_default (see the log); "
                           f"{health.pending} message(s) still wait")
    print(f"sent {report.sent}, updated {report.updated}, refused by Slack {report.failed}; {health.describe()}")
    return 1 if health.pending else 0


def _drop(url: str, args: argparse.Namespace) -> int:
    try:
        row = outbox_admin.drop(url, args.id, by=operator(), reason=args.reason)
    except outbox_admin.NotDroppable as exc:
        raise CommandError(str(exc)) from None
    print(f"dropped #{row.id} ({row.channel}, {row.kind}): {row.text[:100]}")
    return 0


def slack_command(args: argparse.Namespace) -> int:
    """``aeops slack list|flush|drop ID``: the Slack outbox's waiting messages, deliver now, drop one."""
    url = _db_url()
    if args.action == "list":
        return _list(url, args)
    if args.action == "flush":
        return _flush(url)
    if args.id is None:
        raise CommandError("drop needs the message id (see 'aeops slack list')")
    return _drop(url, args)
