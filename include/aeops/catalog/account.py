"""The seller account's preconditions: what aeops may change on a store, judged from the seller profile.

- Any write needs an account in ``normal`` standing. A frozen, restricted or penalised account, or one whose
  standing the profile does not state (``unknown``), is refused: writing to it could make things worse,
  and aeops cannot tell.
- Compliance files (certificates) may be changed only by an enterprise-verified account: the guide says
  individual merchants cannot change them (docs/rules.md). An individual account, or one whose merchant type
  the profile does not state, is refused for compliance changes (catalog updates stay allowed).

The daily sync's preflight calls :func:`require_normal_standing`; the compliance side (certificate
replacement) calls :func:`require_compliance_rights` before it changes anything.
"""

from __future__ import annotations

from aeops.marketplace import AccountStanding
from aeops.marketplace.interface import MarketplaceClient


class AccountRefused(Exception):
    """The account may not be changed this way; the message names the store and the reason."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason  # standing | unknown_standing | individual | unknown_merchant_type


def require_normal_standing(standing: AccountStanding, store: str) -> None:
    """Raise :class:`AccountRefused` unless the account is in normal standing."""
    if standing.ok:
        return
    status = (standing.status or "").strip() or "unknown"
    if status.lower() == "unknown":
        raise AccountRefused(
            f"{store}: the seller profile does not state the account's standing (account_status missing or "
            "'unknown'); aeops writes only to an account in normal standing: check the account in the seller "
            "center", "unknown_standing")
    raise AccountRefused(
        f"{store}: seller account standing is {status!r}, not 'normal'; updates are refused until the account is "
        "restored (seller center > account health)", "standing")


def require_compliance_rights(standing: AccountStanding, store: str) -> None:
    """Raise :class:`AccountRefused` unless this account may change compliance files (enterprise, normal)."""
    require_normal_standing(standing, store)
    kind = (standing.merchant_type or "").strip().lower()
    if kind == "enterprise":
        return
    if kind == "individual":
        raise AccountRefused(
            f"{store}: the seller is an individual merchant; only enterprise-verified accounts may change compliance "
            "files (certificates): complete the enterprise verification in the seller center first", "individual")
    raise AccountRefused(
        f"{store}: the seller profile does not say whether the account is enterprise-verified; compliance files "
        "are changed only for enterprise accounts", "unknown_merchant_type")


def compliance_allowed(client: MarketplaceClient, store: str) -> AccountStanding:
    """Read the seller profile and check that compliance files may be changed; returns the standing or raises
    :class:`AccountRefused` (the certificate replacement calls this before its first write)."""
    standing = client.account_standing()
    require_compliance_rights(standing, store)
    return standing
