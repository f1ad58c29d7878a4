"""The cross-check of a certificate (or compliance document) against the registry: what waits for a person.

The platform compares a certificate's number and issuing body with its own registry; aeops cannot read that
registry, so it compares the file with the registry of files it has seen (the certificate watch's, or the folder
for ``aeops certs``). A difference is not proof of a bad file: a renewal may legitimately come from another
test lab. So it is a ``CERT-MISMATCH`` **warning** that waits for a person's approval before aeops uploads the
file (``aliexpress_certificate_replace``); ``CERT-MISMATCH`` **errors** stay for what is really wrong, the text
disagreeing with the file name (:mod:`aeops.rules.certs`). The decision (:func:`cross_check`):

- **issuer changed**: the issuer (a brand authorisation's brand owner) differs, case and spacing aside, from that
  of the *previous* file of the same brand and type: the newest one that counts (``known`` holds only those: not
  invalid, not waiting for approval, not rejected);
- **number of another brand**: the number (letters and digits compared) is already on another brand's file;
- **first of its brand and type**: nothing to compare with. The folder's first file is the baseline (the seller
  uploaded it in the seller center themselves), so the watch accepts it; an upload *by aeops* asks a person
  (:meth:`CrossCheck.needs_approval` with ``upload=True``).

A new number from the same issuer is a routine renewal (labs number each certificate they issue): it is shown in
the approval form when one is asked for, and asks for nothing on its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from aeops.findings import Cause, Finding, Severity
from aeops.i18n import N_
from aeops.rules.certs import CertInfo, brand_key

__all__ = ["CrossCheck", "approval_request", "cross_check", "cross_check_folder", "number_key",
           "previous_certificate", "rejected"]


OTHER_ISSUER = Cause("CERT-MISMATCH", N_("{name} is issued by {issuer}; the previous {type} of {brand} ({previous}, "
                                         "valid until {until}) by {previous_issuer}"),
                     N_("another issuer may be a legitimate renewal: a person approves it before aeops uploads it "
                        "(check it with the issuer)"), Severity.WARNING)
NUMBER_USED = Cause("CERT-MISMATCH", N_("{name}: number {number} is already on the file of {brands}"),
                    N_("one number belongs to one brand: a person approves it before aeops uploads it (check the "
                       "file)"), Severity.WARNING)
REJECTED = Cause("CERT-MISMATCH", N_("{name} was rejected by {who} {day} when its upload waited for approval "
                                     "({changes})"),
                 N_("it does not count: remove it from the folder, or get it confirmed by its issuer and drop it "
                    "again"))


def number_key(number: str | None) -> str:
    """Certificate numbers compare by their letters and digits only (``CPC 1`` = ``cpc-1``)."""
    return "".join(c for c in str(number or "") if c.isalnum()).casefold()


def _name(file: str) -> str:
    return file.replace("\\", "/").rsplit("/", 1)[-1]


def _same_kind(a: CertInfo, b: CertInfo) -> bool:
    return brand_key(a.brand) == brand_key(b.brand) and a.cert_type.upper() == b.cert_type.upper()


@dataclass(frozen=True)
class CrossCheck:
    """The cross-check's verdict on one file: the previous file it is compared with (None: the first of its brand
    and type) and the ``CERT-MISMATCH`` warnings a person must approve."""

    previous: CertInfo | None
    findings: tuple[Finding, ...] = ()

    @property
    def first(self) -> bool:
        """Whether this is the brand's first file of the type (nothing to compare with)."""
        return self.previous is None

    def needs_approval(self, *, upload: bool) -> bool:
        """True when a person must approve the file: a warning, or (``upload``: aeops would upload it) nothing to
        compare it with."""
        return bool(self.findings) or (upload and self.previous is None)


def previous_certificate(info: CertInfo, known: Iterable[CertInfo]) -> CertInfo | None:
    """The newest (latest valid-until, then the latest given) of ``known`` of the same brand and type, other than
    the file itself and not invalid."""
    best: CertInfo | None = None
    for k in known:
        if k.sha256 != info.sha256 and k.status != "invalid" and _same_kind(k, info) and (
                best is None or k.valid_until >= best.valid_until):
            best = k
    return best


def cross_check(info: CertInfo, known: Iterable[CertInfo]) -> CrossCheck:
    """Compare ``info`` with ``known`` (the registry's files that count, see the module's doc): its previous file
    and the warnings a person must approve. Pure: reads nothing, changes nothing."""
    known = list(known)
    previous = previous_certificate(info, known)
    name = _name(info.file)
    findings: list[Finding] = []
    if previous is not None and info.issuer and previous.issuer and brand_key(info.issuer) != brand_key(
            previous.issuer):
        findings.append(OTHER_ISSUER.finding(
            file=info.file, field="issuer", name=repr(name), issuer=repr(info.issuer), type=info.cert_type,
            brand=info.brand, previous=_name(previous.file), until=str(previous.valid_until),
            previous_issuer=repr(previous.issuer)))
    number = number_key(info.number)
    if number:
        used = sorted({k.brand for k in known if k.sha256 != info.sha256 and k.status != "invalid"
                       and number_key(k.number) == number and brand_key(k.brand) != brand_key(info.brand)})
        if used:
            findings.append(NUMBER_USED.finding(file=info.file, field="number", name=repr(name),
                                                number=repr(info.number), brands=", ".join(used)))
    return CrossCheck(previous, tuple(findings))


def rejected(file: str, detail: dict[str, Any]) -> Finding:
    """A person rejected the file when its upload waited for approval (``detail``: who, when, what changed): it does
    not count (CERT-MISMATCH, an error)."""
    return REJECTED.finding(file=file, field="issuer", name=repr(_name(file)), who=detail.get("by") or "?",
                            day=str(detail.get("at") or "")[:10],
                            changes="; ".join(detail.get("changes") or []) or "issuer or number changed")


def cross_check_folder(infos: Iterable[CertInfo]) -> list[Finding]:
    """``aeops certs DIR``: each readable file against the folder's files of the same brand and type valid for a
    shorter time (its predecessors) and every other brand's numbers: the warnings the watch would raise."""
    readable = [i for i in infos if i.status != "invalid"]
    findings: list[Finding] = []
    for info in readable:
        earlier = [k for k in readable if not _same_kind(k, info) or k.valid_until < info.valid_until]
        findings.extend(cross_check(info, earlier).findings)
    return findings


def _day(value: date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else None


def _side(info: CertInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {"file": _name(info.file), "issuer": info.issuer, "number": info.number, "issue_date": _day(info.issue_date),
            "valid_until": _day(info.valid_until)}


def approval_request(info: CertInfo, check: CrossCheck, registry_approval: str | None = None) -> dict[str, Any] | None:
    """What a person must see before aeops uploads ``info`` (None: nothing to approve): why it waits (the warnings,
    or nothing to compare with), the changes in short and both files side by side (file, issuer, number, issue
    date, valid until). ``registry_approval``: the registry's word on this file content (``approved``: not asked
    again)."""
    if registry_approval == "approved" or not check.needs_approval(upload=True):
        return None
    previous = check.previous
    changes = []
    if previous is None:
        changes.append(f"no earlier {info.cert_type} of {info.brand} to compare with")
    else:
        for key in ("issuer", "number"):
            old, new = getattr(previous, key), getattr(info, key)
            if (old or "") != (new or ""):
                changes.append(f"{key}: {old or '-'} → {new or '-'}")
    return {"needed": True, "reasons": [f.message for f in check.findings], "first": previous is None,
            "changes": changes, "fields": sorted({f.field for f in check.findings if f.field}),
            "previous": _side(previous), "new": _side(info), "decision": None}
