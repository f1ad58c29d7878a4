"""The daily sync's preflight: writes are decided by the platform's documented field or the operator's declaration
(each refusal names its reason, the decision is logged and kept for the run's report), the token is refreshed when
due, and rejected credentials name the connection."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from aeops.catalog.account import standing_of
from aeops.config import AeopsConfig, StoreConfig
from aeops.marketplace import ApiError, AuthError, MerchantProfile, ServerError, TokenInfo
from aeops.store.ledger import Ledger
from aeops.sync.errors import SyncError
from aeops.sync.preflight import preflight
from aeops.verify.fake import FakeMarketplace

DAG_ID, RUN_ID = "aliexpress_catalog_sync", "manual__2026-12-01"


class Seller(FakeMarketplace):
    """A marketplace whose two calls preflight makes are scripted: the profile and the token refresh."""

    seller_id = 2000000001

    def __init__(self, forbidden: bool | None = False, error: Exception | None = None) -> None:
        super().__init__()
        self.forbidden, self.error = forbidden, error
        self.access_token, self.refresh_token = "at-old", "rt-old"
        self.refreshed = 0

    def merchant_profile(self) -> MerchantProfile:
        if self.error is not None:
            raise self.error
        return MerchantProfile(self.seller_id, self.forbidden)

    def refresh_access_token(self, refresh_token: str | None = None) -> TokenInfo:
        self.refreshed += 1
        self.access_token, self.refresh_token = "at-new", "rt-new"
        expires = datetime.now(UTC) + timedelta(days=30)
        return TokenInfo("at-new", "rt-new", int(expires.timestamp() * 1000), None, 2000000001)


@pytest.fixture(autouse=True)
def _own_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)  # wins over database_url (the embedded env sets it)


def config(sqlite_url: str, **declared: object) -> AeopsConfig:
    return AeopsConfig(database_url=sqlite_url, stores=[StoreConfig(name="demo", **declared)])


def test_a_declared_standing_passes_and_is_kept_for_the_report(sqlite_url: str, caplog: pytest.LogCaptureFixture
                                                               ) -> None:
    cfg = config(sqlite_url, standing_checked_on=date(2026, 11, 30), merchant_type="enterprise")
    with caplog.at_level(logging.INFO):
        result = preflight("demo", client=Seller(), config=cfg, dag_id=DAG_ID, run_id=RUN_ID)
    assert result["seller_id"] == 2000000001
    assert (result["standing"]["reason"], result["standing"]["source"]) == ("declared", "declaration")
    assert "decided by: operator declaration" in caplog.text and "2026-11-30" in caplog.text
    ledger = Ledger(sqlite_url)
    recorded = standing_of(ledger.runs.get(ledger.runs.start("demo", DAG_ID, RUN_ID)))
    assert recorded is not None and recorded.allowed and recorded.source == "declaration"


def test_without_a_declaration_the_platform_field_decides(sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        result = preflight("demo", client=Seller(forbidden=False), config=config(sqlite_url))
    assert (result["standing"]["reason"], result["standing"]["source"]) == ("posting_allowed", "platform")
    assert "decided by: platform field" in caplog.text and "cannot be checked here" in caplog.text


def test_a_platform_that_forbids_posting_refuses_writes_with_its_reason(sqlite_url: str) -> None:
    cfg = config(sqlite_url, standing_checked_on=date(2026, 11, 30))
    with pytest.raises(SyncError, match="the platform forbids this seller to post products") as info:
        preflight("demo", client=Seller(forbidden=True), config=cfg, dag_id=DAG_ID, run_id=RUN_ID)
    assert str(info.value).startswith("demo: writes refused") and "product_posting_forbidden" in str(info.value)
    ledger = Ledger(sqlite_url)
    recorded = standing_of(ledger.runs.get(ledger.runs.start("demo", DAG_ID, RUN_ID)))
    assert recorded is not None and not recorded.allowed and recorded.source == "platform"


def test_nobody_saying_the_account_may_be_written_refuses(sqlite_url: str) -> None:
    """A profile answer that does not carry the field, and no declaration: refused, saying what to declare."""
    with pytest.raises(SyncError, match="standing_checked_on"):
        preflight("demo", client=Seller(forbidden=None), config=config(sqlite_url))


def test_a_profile_refused_by_a_business_error_leaves_the_declaration_to_decide(sqlite_url: str) -> None:
    seller = Seller(error=ApiError("The API does not exist", code="InvalidApi"))
    result = preflight("demo", client=seller, config=config(sqlite_url, standing_checked_on=date(2026, 11, 30)))
    assert result["standing"]["reason"] == "declared" and result["standing"]["posting_forbidden"] is None
    with pytest.raises(SyncError, match="neither the platform"):
        preflight("demo", client=seller, config=config(sqlite_url))


def test_a_server_error_fails_the_task_for_airflow_to_retry(sqlite_url: str) -> None:
    seller = Seller(error=ServerError("The request has failed", code="ServiceUnavailable"))
    with pytest.raises(ServerError):
        preflight("demo", client=seller, config=config(sqlite_url, standing_checked_on=date(2026, 11, 30)))


def test_rejected_credentials_name_the_connection(sqlite_url: str) -> None:
    refused = AuthError("The specified access token is invalid or expired", code="IllegalAccessToken")
    assert refused.token_refused
    with pytest.raises(SyncError, match="rejected the credentials of connection 'aliexpress_default'"):
        preflight("demo", client=Seller(error=refused), config=config(sqlite_url))


def test_a_token_about_to_expire_is_refreshed_and_kept(sqlite_url: str) -> None:
    cfg = config(sqlite_url)
    ledger = Ledger(sqlite_url)
    ledger.tokens.save("aliexpress_default", "at-stored", "rt-stored", datetime.now(UTC) + timedelta(days=1), None)
    seller = Seller()
    preflight("demo", client=seller, config=cfg)
    assert seller.refreshed == 1 and seller.access_token == "at-new"
    token = ledger.tokens.get("aliexpress_default")
    assert (token.access_token, token.refresh_token) == ("at-new", "rt-new")
    assert token.expires_at.replace(tzinfo=UTC) > datetime.now(UTC) + timedelta(days=29)
    # fresh now: the next preflight uses the stored token and does not refresh again
    again = Seller()
    preflight("demo", client=again, config=cfg)
    assert again.refreshed == 0 and again.access_token == "at-new"


def test_a_token_far_from_expiry_is_not_refreshed(sqlite_url: str) -> None:
    Ledger(sqlite_url).tokens.save("aliexpress_default", "at-stored", "rt-stored",
                                   datetime.now(UTC) + timedelta(days=20), None)
    seller = Seller()
    preflight("demo", client=seller, config=config(sqlite_url))
    assert seller.refreshed == 0 and seller.access_token == "at-stored"
