"""The seller account's decision table: writes and compliance files are decided by the platform's documented
``product_posting_forbidden`` and the operator's declaration in ``aeops_config``, never by an assumed field, and
every decision names the source that made it."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from aeops.catalog.account import (
    AccountRefused,
    Decision,
    compliance_allowed,
    decide_compliance,
    decide_standing,
    standing_of,
)
from aeops.config import StoreConfig
from aeops.marketplace import MerchantProfile

CHECKED = date(2026, 11, 30)


def store(**declared: Any) -> StoreConfig:
    return StoreConfig(name="demo", **declared)


def profile(forbidden: bool | None, **raw: Any) -> MerchantProfile:
    return MerchantProfile(seller_id=2000000001, posting_forbidden=forbidden, raw=raw)


@pytest.mark.parametrize(("forbidden", "checked_on", "allowed", "reason", "source"), [
    (True, CHECKED, False, "posting_forbidden", "platform"),  # the platform's refusal beats any declaration
    (True, None, False, "posting_forbidden", "platform"),
    (False, CHECKED, True, "declared", "declaration"),
    (None, CHECKED, True, "declared", "declaration"),  # the platform says nothing: the declaration decides
    (False, None, True, "posting_allowed", "platform"),
    (None, None, False, "unstated", "none"),  # nobody says the account may be written
])
def test_the_standing_decision_table(forbidden: bool | None, checked_on: date | None, allowed: bool, reason: str,
                                     source: str) -> None:
    decision = decide_standing(profile(forbidden), store(standing_checked_on=checked_on))
    assert (decision.allowed, decision.reason, decision.source) == (allowed, reason, source)
    assert decision.posting_forbidden is forbidden


def test_an_unreadable_profile_is_a_platform_that_says_nothing() -> None:
    assert decide_standing(None, store(standing_checked_on=CHECKED)).reason == "declared"
    assert decide_standing(None, store()).reason == "unstated"


def test_the_simulators_assumed_fields_decide_nothing() -> None:
    """A frozen ``account_status`` or an individual ``merchant_type`` in the answer (the rich simulator's
    assumptions) changes no decision: only the documented field and the declaration count."""
    answer = profile(False, account_status="frozen", merchant_type="individual")
    assert decide_standing(answer, store(standing_checked_on=CHECKED)).allowed
    assert decide_compliance(answer, store(standing_checked_on=CHECKED, merchant_type="enterprise")).allowed


@pytest.mark.parametrize(("forbidden", "declared", "allowed", "reason", "source"), [
    (False, {"merchant_type": "enterprise", "standing_checked_on": CHECKED}, True, "enterprise", "declaration"),
    (False, {"merchant_type": "enterprise"}, True, "enterprise", "declaration"),
    (False, {"merchant_type": "individual", "standing_checked_on": CHECKED}, False, "individual", "declaration"),
    (False, {"standing_checked_on": CHECKED}, False, "merchant_type_unstated", "none"),
    (True, {"merchant_type": "enterprise", "standing_checked_on": CHECKED}, False, "posting_forbidden", "platform"),
    (None, {"merchant_type": "enterprise"}, False, "unstated", "none"),
])
def test_the_compliance_decision_table(forbidden: bool | None, declared: dict[str, Any], allowed: bool, reason: str,
                                       source: str) -> None:
    decision = decide_compliance(profile(forbidden), store(**declared))
    assert (decision.allowed, decision.reason, decision.source) == (allowed, reason, source)


class Client:
    def __init__(self, forbidden: bool | None) -> None:
        self.forbidden = forbidden

    def merchant_profile(self) -> MerchantProfile:
        return profile(self.forbidden)


def test_compliance_allowed_refuses_with_one_line_naming_the_store_and_reason() -> None:
    ok = compliance_allowed(Client(False), store(merchant_type="enterprise", standing_checked_on=CHECKED))
    assert ok.allowed and ok.merchant_type == "enterprise"
    with pytest.raises(AccountRefused) as info:
        compliance_allowed(Client(False), store(merchant_type="individual", standing_checked_on=CHECKED))
    message = str(info.value)
    assert message.startswith("demo: compliance files refused") and "individual merchant" in message
    assert "\n" not in message and info.value.reason == "individual"
    with pytest.raises(AccountRefused, match="product_posting_forbidden") as info:
        compliance_allowed(Client(True), store(merchant_type="enterprise"))
    assert info.value.decision.source == "platform"


@pytest.mark.parametrize(("reason", "english", "chinese"), [
    ("declared", "by the operator's declaration", "运营方声明"),
    ("posting_allowed", "cannot be checked here", "无法在此检查"),
    ("posting_forbidden", "product_posting_forbidden", "product_posting_forbidden"),
])
def test_the_decision_says_its_source_in_the_stores_language(reason: str, english: str, chinese: str) -> None:
    decision = Decision(reason != "posting_forbidden", reason, "declaration", False, "2026-11-30", None)
    assert english in decision.text("en")
    assert chinese in decision.text("zh-CN")
    if reason == "declared":
        assert "2026-11-30" in decision.text("en") and "2026-11-30" in decision.text("zh-CN")


def test_a_recorded_decision_reads_back_from_the_run() -> None:
    decision = decide_standing(profile(False), store(standing_checked_on=CHECKED))

    class Run:
        artifacts = {"standing": decision.to_dict()}

    assert standing_of(Run()) == decision
    Run.artifacts = {}
    assert standing_of(Run()) is None


@pytest.mark.parametrize(("field", "value", "says"), [
    ("merchant_type", "corporate", "enterprise' or 'individual"),
    ("standing_checked_on", "2999-01-01", "in the future"),
    ("standing_checked_on", "last week", "valid date"),
])
def test_a_bad_declaration_is_refused_by_the_configuration(field: str, value: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        store(**{field: value})


def test_a_declaration_is_normalised() -> None:
    declared = store(merchant_type=" Enterprise ", standing_checked_on="2026-11-30")
    assert (declared.merchant_type, declared.standing_checked_on) == ("enterprise", CHECKED)
