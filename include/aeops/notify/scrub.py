"""The last guard before anything reaches Slack: mask whatever looks like a secret.

Message builders already avoid secrets; :func:`scrub` runs again on every payload the outbox stores
and on every payload it sends, so a token that slipped into an error message (``invalid token
xoxb-...``) is masked, not posted. Masked values become ``[redacted]``.

What is masked:

- Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``, ``xoxr-``, ``xoxs-``, ``xapp-``) and Slack webhook paths;
- ``Bearer ...`` credentials and ``key=value`` / ``"key": "value"`` pairs whose key names a secret
  (``access_token``, ``refresh_token``, ``app_secret``, ``client_secret``, ``password``, ``sign``, ...);
- long opaque strings (40+ letters and digits, mixed) such as AliExpress access tokens;
- every exact value passed in ``secrets`` or registered with :func:`register_secret` (for example the
  app secret and seller tokens read from the ``aliexpress_*`` connections).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any

MASK = "[redacted]"

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

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember an exact secret value (app secret, seller token) to mask in every later message."""
    if value and len(value) >= 6:
        with _lock:
            _registered.add(value)


def registered_secrets() -> frozenset[str]:
    with _lock:
        return frozenset(_registered)


def scrub_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with exact ``secrets`` (and registered ones) and token-like strings masked."""
    values = {s for s in secrets if s and len(s) >= 6} | registered_secrets()
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """Recursively mask secrets in strings inside dicts/lists (a Block Kit payload); other values pass."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {key: scrub(item, secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(item, secrets) for item in value]
    return value
