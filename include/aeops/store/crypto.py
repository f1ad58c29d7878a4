"""Secrets at rest in the aeops DB: Fernet encryption of the marketplace tokens aeops refreshes (``token_state``).

Keys, first match wins (each a comma-separated list; the **first key encrypts, every key decrypts**, so a key is
rotated by putting the new one in front, running ``aeops db rotate-tokens`` and then dropping the old one):

1. ``AEOPS_FERNET_KEY``: aeops' own key (the embedded mode's ``scripts/embedded-env`` makes one per Airflow home);
2. Airflow's ``[core] fernet_key`` (``AIRFLOW__CORE__FERNET_KEY``), the key Airflow encrypts connections with.

No key configured is an error with one line saying what to set (:class:`KeyMissing`); aeops never writes a
token in clear. A value no configured key opens is :class:`TokenUnreadable` (a key was dropped too early).
:class:`EncryptedText` is the column type that applies this to every read and write of a model column.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from sqlalchemy import Text
from sqlalchemy.types import TypeDecorator

ENV_KEY = "AEOPS_FERNET_KEY"
MISSING = ("no Fernet key configured for the aeops DB's tokens: set AIRFLOW__CORE__FERNET_KEY (Airflow's key) "
           f"or {ENV_KEY} (comma-separated, the first encrypts); generate one with python -c \"from "
           "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())\"")


class KeyMissing(RuntimeError):
    """No usable Fernet key is configured."""


class TokenUnreadable(RuntimeError):
    """A stored value is not readable with any configured key."""


def _split(keys: str | None) -> list[str]:
    # Airflow's SDK config returns its unexpanded default '{FERNET_KEY}' when nothing is configured
    return [k.strip() for k in (keys or "").split(",") if k.strip() and not k.strip().startswith("{")]


def configured_keys() -> list[str]:
    """``AEOPS_FERNET_KEY``, else Airflow's ``[core] fernet_key`` (both comma-separated); [] when neither is set."""
    keys = _split(os.environ.get(ENV_KEY))
    if keys:
        return keys
    try:
        from airflow.sdk import conf

        return _split(conf.get("core", "fernet_key", fallback=""))
    except Exception:  # noqa: BLE001 - no Airflow config at all: no key
        return []


@lru_cache(maxsize=4)
def _cipher(keys: tuple[str, ...]):
    from cryptography.fernet import Fernet, MultiFernet  # lazy: cryptography only when a secret is encrypted or read

    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise KeyMissing(f"a configured Fernet key is not usable ({exc}); {MISSING}") from None


def cipher():
    """The ``MultiFernet`` of the configured keys; :class:`KeyMissing` when there is none."""
    keys = configured_keys()
    if not keys:
        raise KeyMissing(MISSING)
    return _cipher(tuple(keys))


def encrypt(text: str) -> str:
    """``text`` encrypted with the first configured Fernet key."""
    return cipher().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """A stored token decrypted with any configured Fernet key; TokenUnreadable when none opens it."""
    from cryptography.fernet import InvalidToken  # lazy: cryptography only when a secret is encrypted or read

    try:
        return cipher().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError):
        raise TokenUnreadable("a stored token cannot be decrypted with the configured Fernet keys (was a key "
                              f"dropped before 'aeops db rotate-tokens' ran? keep the old key after the new one in "
                              f"{ENV_KEY} or AIRFLOW__CORE__FERNET_KEY)") from None


def readable(token: str) -> bool:
    """True when ``token`` is a Fernet token one of the configured keys opens."""
    try:
        decrypt(token)
    except TokenUnreadable:
        return False
    return True


def rotate(token: str) -> str:
    """The same secret encrypted under the first (newest) key."""
    return cipher().rotate(token.encode("ascii")).decode("ascii")


class EncryptedText(TypeDecorator):
    """A text column stored as a Fernet token: encrypted on write, decrypted on read (``None`` stays ``None``)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        """Encrypt a value on its way into the aeops DB."""
        return None if value is None else encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        """Decrypt a value read from the aeops DB."""
        return None if value is None else decrypt(str(value))
