"""The seller account's preconditions: what aeops may change on a store, decided only from what the platform
documents and what the operator declares.

The platform documents one fact about the account: ``product_posting_forbidden``
(``aliexpress.solution.merchant.profile.get``; False means the seller posts products normally). It documents no
account standing and no merchant type (docs/aliexpress-api.md §2.14); the seller-center guide still asks for
both (docs/rules.md: writes only in normal standing, compliance files only by enterprise-verified accounts), so
the operator declares them per store in ``aeops_config``: ``standing_checked_on`` (the day a person checked the
standing in the seller center) and ``merchant_type`` (``enterprise`` | ``individual``). Nothing is read from the
simulator's assumed ``account_status`` or ``merchant_type``.

Writes (:func:`decide_standing`), first row that applies:

=========================  =======================  =========  ==========================================
``..._forbidden``          ``standing_checked_on``  writes     decided by
=========================  =======================  =========  ==========================================
True                       any                      refused    the platform field
False or not stated        a date                   allowed    the operator's declaration
False                      none                     allowed    the platform field (the rest of the standing
                                                               cannot be checked here)
not stated                 none                     refused    nobody says the account may be written
=========================  =======================  =========  ==========================================

Compliance files (:func:`decide_compliance`, the certificate replacement before its first write): the standing
must allow writes, and ``merchant_type`` must be declared ``enterprise`` (``individual``: refused; none:
refused, since nothing says the account is enterprise-verified).

Every :class:`Decision` says which source decided; the preflight logs it and records it in the run
(``artifacts["standing"]``), the run report shows it in the store's language.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from aeops.config import StoreConfig
from aeops.i18n import translator
from aeops.marketplace import MerchantProfile
from aeops.marketplace.interface import MarketplaceClient

PLATFORM, DECLARATION, NOBODY = "platform", "declaration", "none"



class AccountRefused(Exception):
    """The account may not be changed this way; the message names the store and the reason."""

    def __init__(self, message: str, decision: Decision) -> None:
        super().__init__(message)
        self.decision = decision
        self.reason = decision.reason


@dataclass(frozen=True)
class Decision:
    """Whether aeops may write (``allowed``), why (``reason``, a code below), and which source decided
    (``source``: ``platform`` = the documented field, ``declaration`` = ``aeops_config``, ``none``).

    Reasons: ``posting_forbidden``, ``declared``, ``posting_allowed``, ``unstated`` (standing);
    ``enterprise``, ``individual``, ``merchant_type_unstated`` (compliance files)."""

    allowed: bool
    reason: str
    source: str
    posting_forbidden: bool | None = None
    standing_checked_on: str | None = None  # ISO date of the declaration
    merchant_type: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The decision as a plain dict (for an XCom or the aeops DB)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        """A decision back from :meth:`to_dict`'s dict (unknown keys ignored, missing ones None)."""
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__})  # type: ignore[arg-type]

    def text(self, lang: str | None = "en") -> str:
        """One line in ``lang``: the verdict and the source that decided it."""
        _ = translator(lang)
        posting = {True: _("forbidden"), False: _("not forbidden"), None: _("not stated")}[self.posting_forbidden]
        lines = {
            "posting_forbidden": _("writes refused: the platform forbids this seller to post products "
                                   "(product_posting_forbidden); check the account in the seller center"),
            "declared": _("writes allowed by the operator's declaration: account standing checked in the seller "
                          "center on {day} (the platform's product_posting_forbidden: {posting})"),
            "posting_allowed": _("writes allowed by the platform field product_posting_forbidden (false); the rest "
                                 "of the account standing cannot be checked here: declare standing_checked_on in "
                                 "aeops_config once you have checked it"),
            "unstated": _("writes refused: neither the platform (product_posting_forbidden not stated) nor "
                          "aeops_config (standing_checked_on) says this account may be written"),
            "enterprise": _("compliance files allowed: enterprise-verified by the operator's declaration "
                            "(merchant_type)"),
            "individual": _("compliance files refused: the operator declares an individual merchant (merchant_type); "
                            "only enterprise-verified accounts may change them"),
            "merchant_type_unstated": _("compliance files refused: the platform does not say whether the account "
                                        "is enterprise-verified; declare merchant_type: enterprise in aeops_config "
                                        "once the seller center shows the verification"),
        }
        return lines[self.reason].format(day=self.standing_checked_on or "?", posting=posting)


def decide_standing(profile: MerchantProfile | None, store: StoreConfig) -> Decision:
    """May aeops write to ``store``? ``profile`` None: the platform's profile could not be read (not stated)."""
    forbidden = profile.posting_forbidden if profile is not None else None
    checked = store.standing_checked_on.isoformat() if isinstance(store.standing_checked_on, date) else None
    kind = store.merchant_type
    if forbidden is True:
        return Decision(False, "posting_forbidden", PLATFORM, True, checked, kind)
    if checked is not None:
        return Decision(True, "declared", DECLARATION, forbidden, checked, kind)
    if forbidden is False:
        return Decision(True, "posting_allowed", PLATFORM, False, None, kind)
    return Decision(False, "unstated", NOBODY, None, None, kind)


def decide_compliance(profile: MerchantProfile | None, store: StoreConfig) -> Decision:
    """May aeops change compliance files (certificates) of ``store``? The standing first, then the declared
    merchant type."""
    standing = decide_standing(profile, store)
    if not standing.allowed:
        return standing
    if store.merchant_type == "enterprise":
        return Decision(True, "enterprise", DECLARATION, standing.posting_forbidden, standing.standing_checked_on,
                        "enterprise")
    if store.merchant_type == "individual":
        return Decision(False, "individual", DECLARATION, standing.posting_forbidden, standing.standing_checked_on,
                        "individual")
    return Decision(False, "merchant_type_unstated", NOBODY, standing.posting_forbidden,
                    standing.standing_checked_on, None)


def require(decision: Decision, store: str) -> Decision:
    """``decision`` when it allows; else :class:`AccountRefused` with one line naming the store."""
    if decision.allowed:
        return decision
    raise AccountRefused(f"{store}: {decision.text('en')}", decision)


def compliance_allowed(client: MarketplaceClient, store: StoreConfig) -> Decision:
    """Read the seller profile and check that compliance files may be changed; returns the decision or raises
    :class:`AccountRefused` (the certificate replacement calls this before its first write)."""
    return require(decide_compliance(client.merchant_profile(), store), store.name)


def standing_of(run: Any) -> Decision | None:
    """The writes decision a run's preflight recorded (``artifacts["standing"]``; None: not recorded)."""
    data = (getattr(run, "artifacts", None) or {}).get("standing")
    return Decision.from_dict(data) if isinstance(data, dict) else None
