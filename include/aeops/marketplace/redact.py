"""Keep the app secret, tokens and signatures out of logs.

:func:`register_secret` remembers a value for :func:`redact` and, when running inside an Airflow task,
also hands it to Airflow's secrets masker (``airflow.sdk.log.mask_secret``, which also tells the supervisor
process; the ``airflow.sdk.execution_time.secrets_masker`` path is the deprecated compatibility name).
"""

from __future__ import annotations

import logging
import re
import sys
import threading

log = logging.getLogger(__name__)
MASK = "***"
_SECRETS: set[str] = set()
_LOCK = threading.Lock()
_SIGN_RE = re.compile(r"(?i)(\b(?:sign|session|access_token|refresh_token|app_secret)\b[=\"':\s]+)([^&\"'\s,}]+)")


def _airflow_mask(value: str) -> None:
    if "airflow" not in sys.modules:  # outside Airflow: nothing to register, and never import it here
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older layouts
        try:
            from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
        except ImportError:
            return
    try:
        mask_secret(value)
    except Exception:  # noqa: BLE001 - masking must never break a call
        log.debug("could not register a secret with Airflow's masker")


def register_secret(value: str | None) -> None:
    """Mask ``value`` wherever :func:`redact` runs (and in Airflow task logs). Short values are ignored."""
    if not value or len(value) < 4:
        return
    with _LOCK:
        if value in _SECRETS:
            return
        _SECRETS.add(value)
    _airflow_mask(value)


def redact(text: object) -> str:
    """``text`` with every registered secret and every ``sign=``/``session=``/token value replaced by ``***``."""
    out = str(text)
    with _LOCK:
        secrets = sorted(_SECRETS, key=len, reverse=True)
    for secret in secrets:
        if secret in out:
            out = out.replace(secret, MASK)
    return _SIGN_RE.sub(lambda m: m.group(1) + MASK, out)
