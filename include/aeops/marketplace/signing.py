"""Request signing for the AliExpress Open Platform (IOP), exactly as the platform documents it.

Algorithm (docs/aliexpress-api.md §1.2; Lazada/IOP "Signature algorithm" and "HTTP request sample"
pages, open.alitrip.com articleId=108068 / 108069):

1. take every request parameter except ``sign`` and file parameters;
2. sort by key (byte order) and concatenate ``key1value1key2value2...`` (raw values, not URL-encoded);
3. only for path-style ``/rest`` API names (the name contains ``/``) prepend the API path;
4. HMAC-SHA256 keyed with the app secret over the UTF-8 string, hex, UPPERCASE.

``None`` and empty-string values are dropped before signing *and* sending (the Java SDK's rule), so what is
signed is always exactly what is sent. Complex values are sent as compact JSON strings (:func:`compact_json`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def compact_json(value: Any) -> str:
    """A list/object as the compact JSON string the platform expects in one form field (and signs as sent).

    Decimals become strings (prices travel as strings); ints stay exact, whatever their size.
    """
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_default)


def to_param(value: Any) -> str | None:
    """One parameter value as the string that is both signed and sent; ``None``/``""`` mean "leave out"."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value or None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return format(Decimal(repr(value)), "f")
    if isinstance(value, list | tuple | dict):
        return compact_json(value)
    return str(value)


def clean_params(params: Mapping[str, Any]) -> dict[str, str]:
    """Parameters as sent: values converted with :func:`to_param`, ``None``/empty dropped."""
    out: dict[str, str] = {}
    for key, value in params.items():
        text = to_param(value)
        if text is not None:
            out[key] = text
    return out


def string_to_sign(api_name: str, params: Mapping[str, Any]) -> str:
    """The exact string the HMAC covers (useful when debugging an ``IncompleteSignature``)."""
    clean = clean_params({k: v for k, v in params.items() if k != "sign"})
    body = "".join(f"{k}{clean[k]}" for k in sorted(clean))
    return (api_name + body) if "/" in api_name else body


def sign(app_secret: str, api_name: str, params: Mapping[str, Any]) -> str:
    """HMAC-SHA256 signature (uppercase hex) of ``params`` for ``api_name``.

    ``api_name`` is a ``/rest`` path such as ``/auth/token/refresh`` (prefixed to the string) or a ``/sync``
    method such as ``aliexpress.solution.product.info.get`` (not prefixed; ``method`` is an ordinary param).
    Pass only text parameters: file parameters are never signed.
    """
    message = string_to_sign(api_name, params).encode("utf-8")
    return hmac.new(app_secret.encode("utf-8"), message, hashlib.sha256).hexdigest().upper()


def timestamp_ms(now: float | None = None) -> str:
    """Epoch milliseconds as a string (the platform accepts calls within 7200 s of its clock)."""
    return str(int((time.time() if now is None else now) * 1000))
