"""The one secret registry: what aeops must never write to a log, a Slack message, a report or an XCom.

Every secret aeops opens is registered here (:func:`register_secret`): the marketplace hook registers the
app secret and the seller tokens of each connection it reads, the client every refreshed token, the Slack
sender the bot token. Inside an Airflow task each value also goes to Airflow's own secrets masker
(``airflow.sdk.log.mask_secret``), which masks task log lines.

Ways out, one registry:

- :func:`redact` for log lines and error texts: registered values and ``sign=``/``session=``/token
  parameters become ``***``; :func:`redact_value` does the same for the strings inside a report's rows or a
  task's return value (checksums and ids stay readable);
- :func:`scrub` / :func:`scrub_text` for Slack payloads, the strictest: registered values, Slack tokens and
  webhook paths, ``Bearer`` credentials, ``key=value`` / ``"key": "value"`` pairs whose key names a secret,
  and long opaque strings (40+ mixed letters and digits) become ``[redacted]``;
- :func:`get_logger`: every aeops module's logger, with :class:`RedactingFilter` on it, so each log line
  goes through :func:`redact` before any handler (Airflow's, the CLI's) sees it.

A leaf module: it imports nothing of aeops, and Airflow only when it is already loaded.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)  # this module's own: it must not filter itself

LOG_MASK = "***"
MASK = "[redacted]"
MIN_SECRET_LENGTH = 6  # shorter values would mask ordinary words

_registered: set[str] = set()
_lock = threading.Lock()

_PARAM_RE = re.compile(r"(?i)(\b(?:sign|session|access_token|refresh_token|app_secret)\b[=\"':\s]+)([^&\"'\s,}]+)")
_SECRET_KEYS = (
    r"access_?token|refresh_?token|app_?secret|client_?secret|secret|password|passwd|api_?key|"
    r"app_?key_?secret|token|sign|signature|authorization"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:xox[abposer]|xapp)-[A-Za-z0-9-]+"), MASK),
    (re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9/_-]+"), "hooks.slack.com/services/" + MASK),
    (re.compile(r"(?i)\bBearer\s+[A-Za-z0-9._~+/=-]+"), "Bearer " + MASK),
    # "access_token": "abc"  /  'app_secret': 'abc'
    (re.compile(rf"(?i)([\"']?(?:{_SECRET_KEYS})[\"']?[ \t]*:[ \t]*)([\"'])[^\"']*\2"), rf"\1\2{MASK}\2"),
    # access_token=abc  /  password: abc  (stops at whitespace, & , ; and quotes)
    (re.compile(rf"(?i)\b((?:{_SECRET_KEYS})[ \t]*[=:][ \t]*)(?![\"'\[])[^\s&,;\"']+"), rf"\1{MASK}"),
    # long opaque tokens: 40+ letters/digits containing both
    (re.compile(r"\b(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{40,}\b"), MASK),
)


def _airflow_mask(value: str) -> None:
    if "airflow" not in sys.modules:  # outside Airflow: nothing to tell, and never import it here
        return
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - older layouts
        return
    try:
        mask_secret(value)
    except Exception:  # noqa: BLE001 - masking must never break a call
        log.debug("could not register a secret with Airflow's masker")


def register_secret(value: str | None) -> None:
    """Mask ``value`` everywhere from now on (values shorter than 6 characters are ignored)."""
    if not value or len(value) < MIN_SECRET_LENGTH:
        return
    with _lock:
        if value in _registered:
            return
        _registered.add(value)
    _airflow_mask(value)


def registered_secrets() -> frozenset[str]:
    """Every secret registered so far (what log lines are redacted of)."""
    with _lock:
        return frozenset(_registered)


def _exact(text: str, extra: Iterable[str], mask: str) -> str:
    values = {s for s in extra if s and len(s) >= MIN_SECRET_LENGTH} | registered_secrets()
    for value in sorted(values, key=len, reverse=True):
        if value in text:
            text = text.replace(value, mask)
    return text


def redact(text: object, secrets: Iterable[str] = ()) -> str:
    """``text`` for a log line: registered values and signature/token parameters replaced by ``***``."""
    out = _exact(str(text), secrets, LOG_MASK)
    return _PARAM_RE.sub(lambda m: m.group(1) + LOG_MASK, out)


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` for a person: registered values and anything that looks like a credential masked."""
    text = _exact(text, secrets, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _walk(value: Any, text: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return text(value)
    if isinstance(value, dict):
        return {key: _walk(item, text) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_walk(item, text) for item in value]
    return value


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Recursively mask secrets in the strings of dicts/lists/tuples (a Block Kit payload); other values pass."""
    secrets = tuple(secrets)
    return _walk(value, lambda text: scrub_text(text, secrets))


def redact_value(value: Any) -> Any:
    """Recursively :func:`redact` the strings of dicts/lists/tuples (a task's return value, a report's cells):
    registered secrets and credential parameters go, checksums and ids stay readable."""
    return _walk(value, redact)


class RedactingFilter(logging.Filter):
    """A logging filter that passes every record's final message (and traceback) through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact registered secrets from the record's message and traceback; never drops a record."""
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's problem, not ours
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip("\n"))
        return True


_FILTER = RedactingFilter()


def get_logger(name: str) -> logging.Logger:
    """``logging.getLogger(name)`` whose records are redacted before any handler sees them (every aeops module
    logs through one of these, so a secret never reaches a log line whoever configured the handlers)."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger
