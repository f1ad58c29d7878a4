"""``aeops db``: create, upgrade and inspect the aeops database schema."""

from __future__ import annotations

import argparse

from aeops.config import load_config
from aeops.errors import CommandError
from aeops.secrets import get_logger
from aeops.store.crypto import KeyMissing, TokenUnreadable
from aeops.store.db import current_revision, head_revision, redact_url, schema_lock, upgrade
from aeops.store.ledger import Ledger

log = get_logger(__name__)


def db_command(args: argparse.Namespace) -> int:
    """``aeops db upgrade|current|rotate-tokens``: migrate the aeops DB, print its revision, re-encrypt tokens."""
    url = load_config().resolved_database_url()
    try:
        if args.action == "upgrade":
            with schema_lock(url):  # never beside a first task's own upgrade (PostgreSQL)
                upgrade(url)
            print(f"aeops DB {redact_url(url)} is at revision {current_revision(url)} (head {head_revision()})")
        elif args.action == "rotate-tokens":
            count = Ledger(url).tokens.rotate_keys()
            print(f"re-encrypted the tokens of {count} connection(s) under the first configured Fernet key")
        else:
            print(current_revision(url) or "(empty: run 'aeops db upgrade')")
    except (KeyMissing, TokenUnreadable) as exc:
        raise CommandError(str(exc)) from None
    return 0
