"""Typed errors for the AliExpress Open Platform and the parser that maps all three error shapes to them.

Shapes (docs/aliexpress-api.md §3.2):

1. ``/sync``: ``{"error_response": {"type": "ISV|ISP|SYSTEM", "code": "IncompleteSignature", "msg": ...}}``
2. ``/rest``: top level ``{"type": ..., "code": "IllegalAccessToken", "message": ..., "request_id": ...}``,
   ``code == "0"`` on success
3. legacy TOP: ``{"error_response": {"code": 15, "msg": ..., "sub_code": "isv.xxx", "sub_msg": ...}}``
"""

from __future__ import annotations

import re
from typing import Any

_BAN_RE = re.compile(r"ban will last (?:for )?(\d+)(?: more)? seconds?", re.IGNORECASE)

AUTH_CODES = {
    "IllegalAccessToken", "IllegalRefreshToken", "InvalidAccessToken", "AccessTokenExpired",
    "InvalidSession", "SessionExpired",
    "InvalidAppKey", "AppKeyNotExist", "InsufficientPermission", "AppNotAuthorized",
}
SIGNATURE_CODES = {"IncompleteSignature", "InvalidSignature"}
THROTTLE_CODES = {"ApiCallLimit", "AppCallLimit", "SellerCallLimit", "FrequencyLimit"}
SERVER_CODES = {"ServiceUnavailable", "InternalError", "ServiceTimeout", "SystemError"}
TOP_AUTH = {"11", "26", "27", "28", "29"}  # ip whitelist / invalid or expired session / invalid app key
TOP_SIGNATURE = {"25"}
TOP_THROTTLE = {"7"}
TOP_SERVER = {"1", "15"}  # 15 only with an isp.* sub code


class ApiError(Exception):
    """The platform answered with an error. ``code``/``sub_code``/``error_type``/``request_id`` as received."""

    retryable = False

    def __init__(self, message: str, *, code: str | None = None, sub_code: str | None = None,
                 error_type: str | None = None, request_id: str | None = None, api: str | None = None,
                 http_status: int | None = None) -> None:
        self.message = message
        self.code = code
        self.sub_code = sub_code
        self.error_type = error_type
        self.request_id = request_id
        self.api = api
        self.http_status = http_status
        where = f"{api}: " if api else ""
        codes = "/".join(c for c in (code, sub_code) if c)
        super().__init__(f"{where}{codes + ' ' if codes else ''}{message}".strip())


TOKEN_CODES = {"IllegalAccessToken", "InvalidAccessToken", "AccessTokenExpired", "InvalidSession", "SessionExpired",
               "26", "27"}
"""Codes of an access token the platform refused (invalid or expired): the documented ``IllegalAccessToken``
("The specified access token is invalid or expired", §3.2) and the legacy TOP session codes."""


class AuthError(ApiError):
    """App key, token, permission or IP-whitelist problem: stop, refresh the token once or re-authorise."""

    @property
    def token_refused(self) -> bool:
        """The platform refused the access token itself (invalid or expired): a refreshed token may pass."""
        return (self.code or "") in TOKEN_CODES


class SignatureError(AuthError):
    """``IncompleteSignature``: the signature did not match (often a wrong app secret)."""


class QuotaExhausted(ApiError):
    """The app's daily call quota is used up (ban until 24:00 Beijing time): stop the run cleanly."""


class Throttled(ApiError):
    """``ApiCallLimit``: too many calls per second; wait ``ban_seconds + 1`` and try again."""

    retryable = True

    def __init__(self, message: str, *, ban_seconds: int = 1, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.ban_seconds = ban_seconds


class ServerError(ApiError):
    """A platform-side failure (``SYSTEM``/``ISP`` type, TOP 15 ``isp.*``, HTTP 5xx). Retried with backoff.

    ``answered`` is True when the platform itself returned an error envelope (the call was rejected, so a
    write can be retried); False for a bare HTTP 5xx from a gateway (a write's fate is unknown).
    """

    retryable = True

    def __init__(self, message: str, *, answered: bool = True, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.answered = answered


class OutcomeUnknown(Exception):
    """A write was sent but its answer was lost: re-read the products before deciding to retry."""


def _ban_seconds(text: str) -> int:
    match = _BAN_RE.search(text or "")
    return int(match.group(1)) if match else 1


def _is_daily(code: str, sub_code: str, msg: str) -> bool:
    low = f"{code} {sub_code} {msg}".lower()
    return "limited-by-app-access-count" in low or "daily" in low or "quota" in low


def classify(code: Any, msg: str, *, sub_code: str | None = None, error_type: str | None = None,
             request_id: str | None = None, api: str | None = None,
             http_status: int | None = None) -> ApiError:
    """The typed exception for one platform error (never raises itself)."""
    code_s = "" if code is None else str(code)
    sub = sub_code or ""
    kw: dict[str, Any] = {"code": code_s or None, "sub_code": sub_code, "error_type": error_type,
                          "request_id": request_id, "api": api, "http_status": http_status}
    text = f"{msg} {sub}"
    if code_s in SIGNATURE_CODES or code_s in TOP_SIGNATURE or "signature" in sub.lower():
        return SignatureError(msg, **kw)
    if code_s in THROTTLE_CODES or code_s in TOP_THROTTLE or sub.startswith("accesscontrol."):
        if _is_daily(code_s, sub, msg):
            return QuotaExhausted(msg, **kw)
        return Throttled(msg, ban_seconds=_ban_seconds(text), **kw)
    if code_s in AUTH_CODES or code_s in TOP_AUTH or any(w in sub.lower() for w in ("permission", "session", "token")):
        return AuthError(msg, **kw)
    if (error_type or "").upper() in {"SYSTEM", "ISP"} or code_s in SERVER_CODES or sub.startswith("isp."):
        return ServerError(msg, **kw)
    if code_s in TOP_SERVER and not sub.startswith("isv."):
        return ServerError(msg, **kw)
    return ApiError(msg, **kw)


def error_from_payload(payload: Any, *, api: str | None = None, http_status: int | None = None) -> ApiError | None:
    """The error carried by a decoded response body, or ``None`` if the body is not an error."""
    if not isinstance(payload, dict):
        return None
    err = payload.get("error_response")
    if isinstance(err, dict):  # shapes 1 (/sync) and 3 (legacy TOP)
        return classify(err.get("code"), str(err.get("sub_msg") or err.get("msg") or err.get("message") or ""),
                        sub_code=err.get("sub_code"), error_type=err.get("type"),
                        request_id=err.get("request_id"), api=api, http_status=http_status)
    code = payload.get("code")
    if code is not None and str(code) != "0":  # shape 2 (/rest)
        return classify(code, str(payload.get("message") or payload.get("msg") or ""),
                        sub_code=payload.get("sub_code"), error_type=payload.get("type"),
                        request_id=payload.get("request_id"), api=api, http_status=http_status)
    return None
