"""The daily sync's preflight: each refusal names its reason, the token is refreshed when due; the compliance side's
account check refuses individual merchants."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aeops.catalog.account import AccountRefused, compliance_allowed, require_compliance_rights
from aeops.config import AeopsConfig
from aeops.marketplace import AccountStanding, AuthError, TokenInfo
from aeops.store.ledger import Ledger
from aeops.sync.errors import SyncError
from aeops.sync.preflight import preflight
from aeops.verify.fake import FakeMarketplace


class Seller(FakeMarketplace):
    """A marketplace whose two calls preflight makes are scripted: the profile and the token refresh."""

    def __init__(self, status: str | None = "normal", merchant_type: str | None = "enterprise",
                 auth_error: bool = False) -> None:
        super().__init__()
        self.status, self.merchant_type, self.auth_error = status, merchant_type, auth_error
        self.access_token, self.refresh_token = "at-old", "rt-old"
        self.refreshed = 0

    def account_standing(self) -> AccountStanding:
        if self.auth_error:
            raise AuthError("The specified access token is invalid or expired", code="IllegalAccessToken")
        status = self.status or "unknown"
        return AccountStanding(2000000001, status, status == "normal", {}, self.merchant_type)

    def refresh_access_token(self, refresh_token: str | None = None) -> TokenInfo:
        self.refreshed += 1
        self.access_token, self.refresh_token = "at-new", "rt-new"
        expires = datetime.now(UTC) + timedelta(days=30)
        return TokenInfo("at-new", "rt-new", int(expires.timestamp() * 1000), None, 2000000001)


@pytest.fixture(autouse=True)
def _own_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)  # wins over database_url (the embedded env sets it)


def config(sqlite_url: str) -> AeopsConfig:
    return AeopsConfig(database_url=sqlite_url)


def test_a_normal_account_passes(sqlite_url: str) -> None:
    result = preflight("demo", client=Seller(), config=config(sqlite_url))
    assert result == {"seller_id": 2000000001, "status": "normal", "merchant_type": "enterprise"}


@pytest.mark.parametrize(("status", "says"), [
    ("frozen", "standing is 'frozen', not 'normal'"),
    ("restricted", "standing is 'restricted', not 'normal'"),
    (None, "does not state the account's standing"),
    ("unknown", "does not state the account's standing"),
])
def test_a_non_normal_or_unknown_standing_is_refused_with_the_reason(sqlite_url: str, status: Any, says: str
                                                                      ) -> None:
    with pytest.raises(SyncError, match=says) as info:
        preflight("demo", client=Seller(status), config=config(sqlite_url))
    assert str(info.value).startswith("demo: ")


def test_rejected_credentials_name_the_connection(sqlite_url: str) -> None:
    with pytest.raises(SyncError, match="rejected the credentials of connection 'aliexpress_default'"):
        preflight("demo", client=Seller(auth_error=True), config=config(sqlite_url))


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


def test_compliance_changes_need_an_enterprise_account() -> None:
    assert compliance_allowed(Seller(), "demo").merchant_type == "enterprise"
    with pytest.raises(AccountRefused, match="individual merchant") as info:
        compliance_allowed(Seller(merchant_type="individual"), "demo")
    assert info.value.reason == "individual"
    with pytest.raises(AccountRefused, match="does not say whether the account is enterprise-verified") as info:
        require_compliance_rights(Seller(merchant_type=None).account_standing(), "demo")
    assert info.value.reason == "unknown_merchant_type"
    with pytest.raises(AccountRefused, match="'frozen'") as info:  # an enterprise account must still be normal
        compliance_allowed(Seller("frozen"), "demo")
    assert info.value.reason == "standing"
