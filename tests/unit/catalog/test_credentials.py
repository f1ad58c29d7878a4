"""The one client factory (``client_for``) and the tokens it keeps fresh (``aeops.catalog.credentials``): the newest
token of ``token_state`` wins over the connection's, two tasks that need a refresh at once refresh once (SQLite and
PostgreSQL), a call refused for its access token is sent once more after a refresh, every token it loads is a
registered secret, and a refused refresh token fails with one line saying what to do."""

from __future__ import annotations

import json
import logging
import secrets
import threading
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.credentials import ReauthoriseNeeded
from aeops.config import AeopsConfig, StoreConfig
from aeops.marketplace import AuthError, SignatureError, SkuPrice
from aeops.secrets import get_logger, redact, registered_secrets
from aeops.store.ledger import Ledger

CONN_ID, APP_KEY = "aliexpress_default", "500001"
PROFILE = "aliexpress.solution.merchant.profile.get"
PRICES = "aliexpress.solution.batch.product.price.update"
REFUSED = {"error_response": {"type": "ISV", "code": "IllegalAccessToken",
                              "msg": "The specified access token is invalid or expired", "request_id": "r1"}}


def token(kind: str) -> str:
    """A token no other test has seen (so "registered" means registered by this test's code)."""
    return f"{kind}-{secrets.token_hex(8)}"


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class Platform:
    """The Open Platform's token behaviour behind httpx's MockTransport: the access and refresh tokens it accepts
    (as documented: an expired or unknown access token is ``IllegalAccessToken``; a refresh keeps the refresh token
    and issues a new access token for 30 days). A refresh takes ``refresh_s``, so two tasks asking at once overlap."""

    def __init__(self, access: set[str] = frozenset(), refresh: set[str] = frozenset(), refresh_s: float = 0.0,
                 refresh_error: dict | None = None) -> None:
        self.access, self.refresh = set(access), set(refresh)
        self.refresh_s, self.refresh_error = refresh_s, refresh_error
        self.calls: Counter[str] = Counter()
        self.refreshed_with: list[str] = []
        self.tokens_sent: list[str | None] = []
        self._lock = threading.Lock()

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        form = dict(urllib.parse.parse_qsl(request.content.decode()))
        if request.url.path == "/rest/auth/token/refresh":
            return self._refresh(form["refresh_token"])
        method, session = form["method"], form.get("session")
        with self._lock:
            self.calls[method] += 1
            self.tokens_sent.append(session)
        if session not in self.access:
            return httpx.Response(200, json=REFUSED)
        if method == PRICES:
            ids = json.loads(form["mutiple_product_update_list"])
            body = {"result": {"update_success": True,
                               "update_successful_list": [{"product_id": i["product_id"]} for i in ids]}}
        else:
            body = {"product_posting_forbidden": False}
        return httpx.Response(200, json={method.replace(".", "_") + "_response": {**body, "request_id": "r2"}})

    def _refresh(self, refresh_token: str) -> httpx.Response:
        with self._lock:
            self.calls["refresh"] += 1
            self.refreshed_with.append(refresh_token)
        time.sleep(self.refresh_s)
        if self.refresh_error is not None:
            return httpx.Response(200, json=self.refresh_error)
        if refresh_token not in self.refresh:
            return httpx.Response(200, json={"type": "ISV", "code": "IllegalRefreshToken",
                                             "message": "The refresh token has expired", "request_id": "r3"})
        new = token("platform-at")
        with self._lock:
            self.access.add(new)
        now = datetime.now(UTC)
        return httpx.Response(200, json={"access_token": new, "refresh_token": refresh_token, "code": "0",
                                         "expire_time": ms(now + timedelta(days=30)),
                                         "refresh_token_valid_time": ms(now + timedelta(days=40)),
                                         "seller_id": "2000000001", "request_id": "r4"})


@pytest.fixture
def conn_tokens(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The store's connection (the Airflow environment variable), with tokens of its own."""
    tokens = {"access_token": token("conn-at"), "refresh_token": token("conn-rt")}
    monkeypatch.setenv(f"AIRFLOW_CONN_{CONN_ID.upper()}", json.dumps({
        "conn_type": "aliexpress", "host": "http://marketplace.invalid", "login": APP_KEY,
        "password": "credentials-test-secret", "extra": {**tokens, "seller_id": 2000000001}}))
    return tokens


def ctx_for(url: str, monkeypatch: pytest.MonkeyPatch, **store: object) -> RunContext:
    monkeypatch.setenv("AEOPS_DATABASE_URL", url)  # wins over database_url (the embedded env sets it)
    return context("demo", AeopsConfig(database_url=url, stores=[StoreConfig(name="demo", **store)]))


def stored(ledger: Ledger, days: float, refresh_days: float | None = 40) -> tuple[str, str]:
    """token_state holds tokens that expire in ``days`` (refresh token in ``refresh_days``; None: not said)."""
    access, refresh = token("state-at"), token("state-rt")
    now = datetime.now(UTC)
    ledger.tokens.save(CONN_ID, access, refresh, now + timedelta(days=days),
                       None if refresh_days is None else now + timedelta(days=refresh_days))
    return access, refresh


# ------------------------------------------------------------------------------------------- the newest token
def test_the_newest_token_of_token_state_wins_over_the_connections(sqlite_url, monkeypatch, conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)
    access, _ = stored(ctx.ledger, days=20)
    platform = Platform(access={access, conn_tokens["access_token"]})

    client = client_for(ctx, transport=platform.transport())
    client.merchant_profile()

    assert platform.tokens_sent == [access] and platform.calls["refresh"] == 0


def test_without_token_state_the_connections_token_is_used(sqlite_url, monkeypatch, conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)
    platform = Platform(access={conn_tokens["access_token"]})

    client_for(ctx, transport=platform.transport()).merchant_profile()

    assert platform.tokens_sent == [conn_tokens["access_token"]] and ctx.ledger.tokens.get(CONN_ID) is None


def test_a_token_due_is_refreshed_and_kept_for_every_later_client(sqlite_url, monkeypatch, conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch, token_refresh_days=3)
    access, refresh = stored(ctx.ledger, days=1)
    platform = Platform(access={access}, refresh={refresh})

    first = client_for(ctx, transport=platform.transport())
    second = client_for(ctx, transport=platform.transport())

    assert platform.refreshed_with == [refresh]  # once: the second client found it fresh
    kept = ctx.ledger.tokens.get(CONN_ID)
    assert first.access_token == second.access_token == kept.access_token != access
    assert kept.refresh_token == refresh and kept.expires_at > datetime.now(UTC) + timedelta(days=29)
    assert kept.refresh_expires_at < datetime.now(UTC) + timedelta(days=41)  # the platform's, not extended


# ------------------------------------------------------------------------------------------- the lock
def test_two_tasks_due_at_once_refresh_once(db_url, monkeypatch, conn_tokens) -> None:
    """Both read a token due; the one that gets the lock refreshes, the other waits and takes its token."""
    ctx = ctx_for(db_url, monkeypatch)
    access, refresh = stored(ctx.ledger, days=1)
    platform = Platform(access={access}, refresh={refresh}, refresh_s=0.5)
    start, clients = threading.Barrier(2), []

    def task() -> None:
        start.wait()
        clients.append(client_for(ctx, transport=platform.transport()))

    threads = [threading.Thread(target=task) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert platform.calls["refresh"] == 1
    assert len(clients) == 2 and {c.access_token for c in clients} == {ctx.ledger.tokens.get(CONN_ID).access_token}


def test_two_tasks_refused_at_once_refresh_once(db_url, monkeypatch, conn_tokens) -> None:
    """The connection's token has expired and token_state is empty: both calls are refused, one refresh serves both,
    each call is sent once more and passes."""
    ctx = ctx_for(db_url, monkeypatch)
    platform = Platform(refresh={conn_tokens["refresh_token"]}, refresh_s=0.5)
    clients = [client_for(ctx, transport=platform.transport()) for _ in range(2)]
    start, answered = threading.Barrier(2), []

    def task(client) -> None:
        start.wait()
        answered.append(client.merchant_profile())

    threads = [threading.Thread(target=task, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert len(answered) == 2 and platform.calls["refresh"] == 1 and platform.calls[PROFILE] == 4
    new = ctx.ledger.tokens.get(CONN_ID).access_token
    assert platform.tokens_sent.count(conn_tokens["access_token"]) == 2 and platform.tokens_sent.count(new) == 2


# ------------------------------------------------------------------------------------------- refused calls
def test_a_write_refused_for_its_token_is_sent_once_more_after_a_refresh(sqlite_url, monkeypatch,
                                                                         conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)
    platform = Platform(refresh={conn_tokens["refresh_token"]})
    client = client_for(ctx, transport=platform.transport())

    result = client.update_prices_batch({1005001: [SkuPrice("SKU-1", Decimal("9.90"))]})

    assert result.outcomes[1005001].status == "success"
    assert platform.calls[PRICES] == 2 and platform.refreshed_with == [conn_tokens["refresh_token"]]
    assert platform.tokens_sent == [conn_tokens["access_token"], ctx.ledger.tokens.get(CONN_ID).access_token]


def test_a_token_refused_again_after_the_refresh_is_not_sent_a_third_time(sqlite_url, monkeypatch,
                                                                          conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)
    platform = Platform(refresh={conn_tokens["refresh_token"]})
    client = client_for(ctx, transport=platform.transport())
    platform.access = set()  # the platform refuses every token, even the new one (e.g. the app's access revoked)
    refresh = platform._refresh

    def refresh_without_access(refresh_token: str) -> httpx.Response:
        answer = refresh(refresh_token)
        platform.access.clear()
        return answer

    platform._refresh = refresh_without_access  # type: ignore[method-assign]
    with pytest.raises(AuthError) as refused:
        client.merchant_profile()
    assert refused.value.token_refused and platform.calls[PROFILE] == 2 and platform.calls["refresh"] == 1


# ------------------------------------------------------------------------------------------- secrets
def test_every_token_the_factory_loads_or_refreshes_is_redacted(sqlite_url, monkeypatch, conn_tokens,
                                                                caplog) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)
    access, refresh = stored(ctx.ledger, days=1)  # due: refreshed when the client is made
    assert access not in registered_secrets() and access in redact(f"token {access}")  # nothing masked it yet
    platform = Platform(access={access}, refresh={refresh})

    client = client_for(ctx, transport=platform.transport())

    new = client.access_token
    assert new != access
    for value in (access, refresh, new, conn_tokens["access_token"], conn_tokens["refresh_token"]):
        assert value in registered_secrets()
        assert value not in redact(f"answer for {value}")
    with caplog.at_level(logging.INFO):
        get_logger("aeops.tests.credentials").info("tokens %s %s %s", access, refresh, new)
    assert access not in caplog.text and refresh not in caplog.text and new not in caplog.text


# ------------------------------------------------------------------------------------------- re-authorising
def test_an_expired_refresh_token_asks_to_re_authorise_the_app_naming_the_store(sqlite_url, monkeypatch,
                                                                                conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch, language="en")
    access, refresh = stored(ctx.ledger, days=-1, refresh_days=-0.5)  # both expired
    platform = Platform()  # accepts neither the stored tokens nor the connection's

    with pytest.raises(ReauthoriseNeeded) as failed:
        client_for(ctx, transport=platform.transport())

    message = str(failed.value)
    assert message.startswith("re-authorise the app for demo: the platform refused its refresh token")
    assert f"authorise app {APP_KEY} again" in message and f"connection {CONN_ID}" in message
    assert "\n" not in message and len(f"ReauthoriseNeeded: {message}") <= 300  # one line on the run's page
    # the stored refresh token was known expired: only the connection's was tried
    assert platform.refreshed_with == [conn_tokens["refresh_token"]]
    assert ctx.ledger.tokens.get(CONN_ID).access_token == access


def test_a_client_that_met_the_refused_refresh_token_asks_the_platform_no_more(sqlite_url, monkeypatch,
                                                                              conn_tokens) -> None:
    """Each product query of a verification pass would otherwise try a refresh the platform refuses."""
    ctx = ctx_for(sqlite_url, monkeypatch, language="en")
    platform = Platform()  # refuses the connection's access and refresh tokens
    client = client_for(ctx, transport=platform.transport())

    for _ in range(3):
        with pytest.raises(ReauthoriseNeeded, match="re-authorise the app for demo"):
            client.merchant_profile()
    assert platform.calls["refresh"] == 1 and platform.calls[PROFILE] == 3


def test_the_re_authorise_message_is_in_the_stores_language(sqlite_url, monkeypatch, conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)  # zh-CN, the default
    stored(ctx.ledger, days=-1, refresh_days=None)  # the platform never said when the refresh token expires

    with pytest.raises(ReauthoriseNeeded, match="重新授权") as failed:
        client_for(ctx, transport=Platform().transport())
    assert "demo" in str(failed.value) and CONN_ID in str(failed.value) and "IllegalRefreshToken" in str(failed.value)


def test_after_re_authorising_the_connections_new_tokens_are_taken(sqlite_url, monkeypatch, conn_tokens) -> None:
    """token_state still holds the expired tokens; the person put new ones in the connection."""
    ctx = ctx_for(sqlite_url, monkeypatch)
    stored(ctx.ledger, days=-1, refresh_days=-0.5)
    platform = Platform(access={conn_tokens["access_token"]}, refresh={conn_tokens["refresh_token"]})

    client = client_for(ctx, transport=platform.transport())
    client.merchant_profile()

    kept = ctx.ledger.tokens.get(CONN_ID)
    assert platform.refreshed_with == [conn_tokens["refresh_token"]]
    assert platform.tokens_sent == [kept.access_token] and kept.refresh_token == conn_tokens["refresh_token"]


def test_a_refused_refresh_while_the_access_token_works_is_a_warning(sqlite_url, monkeypatch, conn_tokens,
                                                                     caplog) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch, token_refresh_days=3)
    access, _ = stored(ctx.ledger, days=1)
    platform = Platform(access={access})  # refuses every refresh token

    with caplog.at_level(logging.WARNING):
        client_for(ctx, transport=platform.transport()).merchant_profile()

    assert platform.tokens_sent == [access] and "re-authorise the app before then" in caplog.text


def test_a_refresh_refused_for_the_apps_own_credentials_is_not_a_re_authorisation(sqlite_url, monkeypatch,
                                                                                  conn_tokens) -> None:
    ctx = ctx_for(sqlite_url, monkeypatch)
    stored(ctx.ledger, days=-1)
    platform = Platform(refresh_error={"type": "ISV", "code": "IncompleteSignature",
                                       "message": "The request signature does not conform to platform standards"})

    with pytest.raises(SignatureError):
        client_for(ctx, transport=platform.transport())
    assert platform.calls["refresh"] == 1  # the connection's refresh token is not tried: it would fail the same
