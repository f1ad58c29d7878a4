#!/usr/bin/env python3
"""Write the production stack's ``.env`` with fresh secrets (``make secrets``; docs/production.md). Stdlib only.

docker-compose.yaml holds no secret and refuses to start without these (``${VAR:?...}``): ``AIRFLOW_JWT_SECRET``
(signs every API and UI token), ``AIRFLOW_FERNET_KEY`` (encrypts connections, variables and aeops' stored tokens),
``AIRFLOW_ADMIN_PASSWORD``, ``POSTGRES_PASSWORD``, ``REDIS_PASSWORD``, ``FLOWER_PASSWORD``; also ``AIRFLOW_UID``.

An existing ``.env`` is never overwritten: the keys it lacks are added (and named), the ones it has are kept.
A ``.env`` of the old names (``FERNET_KEY``, ``AIRFLOW__API_AUTH__JWT_SECRET``, ``_AIRFLOW_WWW_USER_*``)
keeps its values under the new names: a new Fernet key would make every stored secret unreadable. ``--force``
moves the old file aside (``.env.bak-<UTC time>``) and writes a fresh one; mind that the Fernet key then changes.
Passwords are URL-safe (they go into database and broker URLs).
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

REQUIRED = ("AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD", "POSTGRES_PASSWORD",
            "REDIS_PASSWORD", "FLOWER_PASSWORD")
"""The secrets docker-compose.yaml requires from .env (tests/unit/test_compose.py keeps the two lists equal)."""
LEGACY = {"AIRFLOW_FERNET_KEY": "FERNET_KEY", "AIRFLOW_JWT_SECRET": "AIRFLOW__API_AUTH__JWT_SECRET",
          "AIRFLOW_ADMIN_PASSWORD": "_AIRFLOW_WWW_USER_PASSWORD"}


def fresh(key: str) -> str:
    """A new random value for ``key``: a Fernet key (32 random bytes, URL-safe base64) or a URL-safe secret."""
    if key == "AIRFLOW_FERNET_KEY":
        return base64.urlsafe_b64encode(os.urandom(32)).decode()
    return secrets.token_urlsafe(48 if key == "AIRFLOW_JWT_SECRET" else 24)


def read_env(path: Path) -> dict[str, str]:
    """``KEY=value`` lines of an env file (comments and blank lines skipped)."""
    values = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$", line)
        if match:
            values[match.group(1)] = match.group(2).strip().strip("'\"")
    return values


def missing_lines(existing: dict[str, str], uid: int) -> list[tuple[str, str, str]]:
    """(key, value, where it came from) for every required key ``existing`` lacks."""
    out = []
    if "AIRFLOW_UID" not in existing:
        out.append(("AIRFLOW_UID", str(uid), "this user's id"))
    if "AIRFLOW_ADMIN_USER" not in existing and existing.get("_AIRFLOW_WWW_USER_USERNAME"):
        out.append(("AIRFLOW_ADMIN_USER", existing["_AIRFLOW_WWW_USER_USERNAME"],
                    "kept from _AIRFLOW_WWW_USER_USERNAME"))
    for key in REQUIRED:
        if existing.get(key):
            continue
        old = LEGACY.get(key)
        if old and existing.get(old):
            out.append((key, existing[old], f"kept from {old}"))
        else:
            out.append((key, fresh(key), "new"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--env-file", type=Path, default=Path(".env"))
    parser.add_argument("--force", action="store_true", help="move an existing file aside and write a fresh one")
    args = parser.parse_args(argv)
    path: Path = args.env_file
    existing: dict[str, str] = {}
    if path.exists() and args.force:
        backup = path.with_name(f"{path.name}.bak-{datetime.now(UTC):%Y%m%dT%H%M%SZ}")
        path.rename(backup)
        print(f"{path}: moved to {backup} (its Fernet key no longer applies: secrets it encrypted need it)")
    elif path.exists():
        existing = read_env(path)
    lines = missing_lines(existing, os.getuid() if hasattr(os, "getuid") else 50000)
    if existing and not lines:
        print(f"{path}: exists and has every secret; nothing changed (make secrets FORCE=1 writes a fresh one)")
        return 0
    header = [] if existing else ["# The aeops stack's secrets (make secrets; docs/production.md). Never commit it."]
    text = "".join(f"{line}\n" for line in header + [f"{key}={value}" for key, value, _ in lines])
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as out:
        if existing and not path.read_text(encoding="utf-8").endswith("\n"):
            out.write("\n")
        out.write(text)
    os.chmod(path, 0o600)
    verb = "added to the existing" if existing else "written to a new"
    print(f"{path}: {verb} file: " + ", ".join(f"{key} ({where})" for key, _, where in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
