"""The simulated platform's protocol: app key, timestamp window, signature, token, QPS and faults, then the
method handlers of :mod:`aeops.marketplace.simulator.api` (the FastAPI app only moves bytes)."""

from __future__ import annotations

import collections
import threading
import time
import uuid
from datetime import datetime
from typing import Any

from aeops.marketplace.signing import sign
from aeops.marketplace.simulator import photobank, punish
from aeops.marketplace.simulator.api import SYNC_METHODS
from aeops.marketplace.simulator.errors import AnswerDropped, SimError
from aeops.marketplace.simulator.faults import Faults
from aeops.marketplace.simulator.item_pages import completion_rate, item_page
from aeops.marketplace.simulator.products import now_ms
from aeops.marketplace.simulator.profiles import RICH, Profile
from aeops.marketplace.simulator.state import SimState

TIMESTAMP_WINDOW_MS = 7200 * 1000
FILE_PARAMS = {"image_bytes"}
AUTH_CODE_TTL_MS = 10 * 60 * 1000  # assumed: how long an authorisation code from the consent page stays usable
TOKEN_REFUSED = "The specified access token is invalid or expired"  # the platform's words (docs/aliexpress-api.md §3.2)


def request_id() -> str:
    """A request id shaped like the platform's."""
    return uuid.uuid4().hex[:13]


class Simulator:
    """The protocol logic, independent of the web framework (the FastAPI app only moves bytes)."""

    def __init__(self, state: SimState, faults: Faults | None = None, *,
                 public_url: str = "http://127.0.0.1", profile: Profile = RICH) -> None:
        self.state = state
        self.faults = faults or Faults()
        self.public_url = public_url
        self.profile = profile
        if profile.cap_tokens:
            state.cap_tokens(now_ms(), int(profile.access_ttl_s * 1000), int(profile.refresh_ttl_s * 1000))
        self._rng = self.faults.rng()
        self._rng_lock = threading.Lock()
        self._calls: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)
        self._app_calls: collections.Counter[str] = collections.Counter()
        self._meter_lock = threading.Lock()
        self._api_calls: collections.Counter[str] = collections.Counter()  # GET /_sim/calls

    # ------------------------------------------------------------------ call counts (tests)
    def count_call(self, api: str) -> None:
        """Count one call of ``api`` (the health figure's call counts)."""
        with self._meter_lock:
            self._api_calls[api] += 1

    def calls(self) -> dict[str, int]:
        """API name -> requests received since start (or the last :meth:`reset_calls`), answered or not."""
        with self._meter_lock:
            return dict(sorted(self._api_calls.items()))

    def reset_calls(self) -> None:
        """Forget the counted calls."""
        with self._meter_lock:
            self._api_calls.clear()

    def draw(self, probability: float) -> bool:
        """One seeded draw: True with ``probability`` (the faults' shared random stream)."""
        return self._draw(probability)

    def _draw(self, probability: float) -> bool:
        if probability <= 0:
            return False
        with self._rng_lock:
            return self._rng.random() < probability

    # ------------------------------------------------------------------ checks
    def _authenticate(self, api: str, params: dict[str, str], shape: str) -> dict[str, Any] | None:
        app = self.state.app(params.get("app_key", ""))
        if app is None:
            raise SimError("InvalidAppKey", "The app key is invalid or does not exist", shape=shape)
        raw_ts = params.get("timestamp", "")
        try:
            ts = int(raw_ts) if raw_ts.isdigit() else int(
                datetime.fromisoformat(raw_ts.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            raise SimError("InvalidTimestamp", f"Invalid timestamp {raw_ts!r}", shape=shape) from None
        if abs(now_ms() - ts) > TIMESTAMP_WINDOW_MS:
            raise SimError("InvalidTimestamp", "The timestamp is more than 7200 s away from the platform clock",
                           shape=shape)
        if params.get("sign_method", "sha256").lower() != "sha256":
            raise SimError("IncompleteSignature", "Unsupported sign_method; use sha256", shape=shape)
        signed = {k: v for k, v in params.items() if k != "sign" and k not in FILE_PARAMS}
        if sign(app["secret"], api, signed) != params.get("sign", "").upper():
            raise SimError("IncompleteSignature", "The request signature does not conform to platform standards",
                           shape=shape)
        token = params.get("session") or params.get("access_token")
        if token is None or api.startswith("/auth/token/"):  # token calls: the code or refresh token is the proof
            return None
        for seller in self.state.sellers().values():
            expiry = seller["access_tokens"].get(token)
            if expiry is not None and seller["app_key"] == params["app_key"]:
                if expiry < now_ms():
                    raise SimError("IllegalAccessToken", TOKEN_REFUSED, shape=shape)
                return seller
        raise SimError("IllegalAccessToken", TOKEN_REFUSED, shape=shape)

    def _meter(self, app_key: str, seller_id: int | None) -> None:
        faults = self.faults
        with self._meter_lock:
            self._app_calls[app_key] += 1
            if faults.daily_quota and self._app_calls[app_key] > faults.daily_quota:
                raise SimError("AppCallLimit", "App call limit exceeded: daily quota used up; ban until 24:00 "
                               "(GMT+8)", sub_code="accesscontrol.limited-by-app-access-count")
            if faults.qps and seller_id is not None:
                window = self._calls[str(seller_id)]
                now = time.monotonic()
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= faults.qps:
                    raise SimError("ApiCallLimit", "Api access frequency exceeds the limit. this ban will last "
                                   "1 seconds")
                window.append(now)
        if self._draw(faults.throttle):
            raise SimError("ApiCallLimit", "Api access frequency exceeds the limit. this ban will last 1 seconds")
        if self._draw(faults.server_error):
            raise SimError("ServiceUnavailable", "The request has failed due to a temporary failure of the server",
                           err_type="SYSTEM")

    # ------------------------------------------------------------------ entry points
    def handle_sync(self, params: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
        """Answer one /sync call: authenticate, meter, dispatch to the method; SimError for a refused call."""
        method = params.get("method", "")
        self.count_call(method)
        seller = self._authenticate(method, params, "sync")
        if seller is None:
            raise SimError("MissingParameter", "session (access token) is required")
        self._meter(params["app_key"], seller["seller_id"])
        handler = SYNC_METHODS.get(method)
        if handler is None:
            raise SimError("InvalidApi", f"The API {method!r} does not exist")
        self.state.settle_reviews(now_ms(), seller_id=int(seller["seller_id"]))
        body = handler(self, seller, params, files)
        body["request_id"] = request_id()
        if self._draw(self.faults.lost_response):
            raise AnswerDropped()
        return {method.replace(".", "_") + "_response": body}

    def handle_rest(self, path: str, params: dict[str, str]) -> dict[str, Any]:
        """``/auth/token/create`` (``code``) and ``/auth/token/refresh`` (``refresh_token``): the documented token
        fields, lifetimes from the profile (a refresh renews the access token only, §3.3)."""
        self.count_call(path)
        self._authenticate(path, params, "rest")
        self._meter(params["app_key"], None)
        if path == "/auth/token/create":
            answer = self._create_tokens(params.get("code", ""), params["app_key"])
        elif path == "/auth/token/refresh":
            answer = self._refresh_tokens(params.get("refresh_token", ""), params["app_key"])
        else:
            raise SimError("InvalidApiPath", f"The API path {path!r} does not exist", shape="rest")
        if self._draw(self.faults.lost_response):
            raise AnswerDropped()
        return answer

    def _create_tokens(self, code: str, app_key: str) -> dict[str, Any]:
        at = now_ms()
        with self.state.write() as tx:
            for seller in tx.sellers().values():
                expiry = (seller.get("auth_codes") or {}).get(code)
                if expiry is None or seller["app_key"] != app_key:
                    continue
                del seller["auth_codes"][code]  # one use
                if expiry < at:
                    break
                access, refresh = "sim-at-" + uuid.uuid4().hex, "sim-rt-" + uuid.uuid4().hex
                access_expiry = at + int(self.profile.access_ttl_s * 1000)
                refresh_expiry = at + int(self.profile.refresh_ttl_s * 1000)
                seller["access_tokens"][access] = access_expiry
                seller["refresh_tokens"][refresh] = refresh_expiry
                return _token_answer(seller["seller_id"], access, refresh, access_expiry, refresh_expiry, at)
        raise SimError("InvalidCode", "The authorization code is invalid or expired; authorize the app again",
                       shape="rest")

    def _refresh_tokens(self, token: str, app_key: str) -> dict[str, Any]:
        at = now_ms()
        with self.state.write() as tx:
            for seller in tx.sellers().values():
                expiry = seller["refresh_tokens"].get(token)
                if expiry is None or seller["app_key"] != app_key:
                    continue
                if expiry < at:
                    raise SimError("IllegalRefreshToken", "The refresh token has expired; re-authorise",
                                   shape="rest")
                new_access = "sim-at-" + uuid.uuid4().hex
                access_expiry = at + int(self.profile.access_ttl_s * 1000)
                seller["access_tokens"][new_access] = access_expiry
                return _token_answer(seller["seller_id"], new_access, token, access_expiry, expiry, at)
        raise SimError("15", "Remote service error", shape="top", sub_code="isv.refresh-token-invalid")

    def authorization_code(self, seller_id: int) -> str:
        """A one-time code for ``/auth/token/create``, as the consent page hands the app after the seller agrees
        (``POST /_sim/oauth/{seller_id}/code``: the test stand-in for that page)."""
        code = "sim-code-" + uuid.uuid4().hex
        with self.state.write() as tx:
            seller = tx.sellers().get(str(int(seller_id)))
            if seller is None:
                raise KeyError(f"no seller {seller_id}")
            seller.setdefault("auth_codes", {})[code] = now_ms() + AUTH_CODE_TTL_MS
        return code

    # ------------------------------------------------------------------ storefront and data center
    def storefront(self, site: str, product_id: int, device: str) -> str | None:
        """The storefront page of a product on ``site`` for ``device`` (None: no page)."""
        answer = self.storefront_answer(site, product_id, device)
        return None if answer is None else answer[0]

    def storefront_answer(self, site: str, product_id: int, device: str) -> tuple[str, dict[str, str]] | None:
        """(page, extra headers) of an item page request: the anti-bot page when ``antibot_site`` is this site or
        the ``antibot`` draw says so (an assumed behaviour, documented in docs/simulator.md), else the item page."""
        if self.faults.antibot_site == site or self._draw(self.faults.antibot):
            return punish.punish_page(site, product_id, now_ms()), dict(punish.HEADERS)
        self.state.settle_reviews(now_ms(), product_id=product_id)
        page = item_page(self.state, self.faults, site, product_id, device, public_url=self.public_url,
                         assumed=self.profile.assumed)
        return None if page is None else (page, {})

    def completion_rate(self, seller_id: int) -> dict[str, Any] | None:
        """The data center's figure (None in the ``documented`` profile: the real one is behind the seller login)."""
        if not self.profile.assumed:
            return None
        self.state.settle_reviews(now_ms(), seller_id=seller_id)
        return completion_rate(self.state, self.faults, seller_id)

    def photo(self, path: str) -> tuple[str, bytes] | None:
        """(content type, bytes) of a photobank image by any URL path form of it (``/kf/...``)."""
        found = self.state.photo(path)
        return None if found is None else (photobank.content_type(found[1]), found[2])


def _token_answer(seller_id: Any, access: str, refresh: str, access_expiry: int, refresh_expiry: int,
                  at: int) -> dict[str, Any]:
    """The documented answer of ``/auth/token/create`` and ``/auth/token/refresh`` (§3.3): seconds left and the
    expiry times in epoch milliseconds."""
    return {"access_token": access, "refresh_token": refresh, "expires_in": (access_expiry - at) // 1000,
            "refresh_expires_in": (refresh_expiry - at) // 1000, "expire_time": access_expiry,
            "refresh_token_valid_time": refresh_expiry, "seller_id": str(seller_id), "user_id": str(seller_id),
            "havana_id": str(seller_id), "user_nick": f"seller{seller_id}", "account": f"seller{seller_id}",
            "account_platform": "seller_center", "sp": "ae", "locale": "en_US", "code": "0",
            "request_id": request_id()}


def error_body(err: SimError) -> dict[str, Any]:
    """The error body the platform sends for ``err``, in its protocol's shape (rest, top or sync)."""
    rid = request_id()
    if err.shape == "rest":
        return {"type": err.err_type, "code": err.code, "message": err.msg, "request_id": rid}
    if err.shape == "top":
        return {"error_response": {"code": int(err.code), "msg": err.msg, "sub_code": err.sub_code,
                                   "sub_msg": "refresh_token is invalid", "request_id": rid}}
    body = {"type": err.err_type, "code": err.code, "msg": err.msg, "request_id": rid, "_trace_id_": rid}
    if err.sub_code:
        body["sub_code"] = err.sub_code
    return {"error_response": body}


