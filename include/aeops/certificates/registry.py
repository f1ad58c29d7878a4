"""The certificate registry (``certificates`` table): what the store's certificate folder holds, per file.

One row per distinct file content (store + sha256). Each scan updates every row it sees (brand, type,
number, issuer, dates, file, status, last checked) and then:

- **replacement**: a row is ``replaced`` by a later certificate of the same store, brand (case-insensitive)
  and type that is usable on ``as_of`` (not invalid, not expired) and valid longer;
- **removal**: a row whose file is no longer in the folder (and that nothing replaced) becomes ``removed``;
- **approval**: the cross-check (:mod:`aeops.rules.cert_crosscheck`) compares each file with the previous one of its
  brand and type. A changed issuer or another brand's number marks a file of a type aeops uploads (one a configured
  category needs) ``pending``: it replaces nothing and the previous certificate stays in force (and alerting) until
  a person approves it in ``aliexpress_certificate_replace``; a rejected file is ``invalid``. A type aeops never
  uploads (a brand authorisation, say) is not held: the person uploads it in the seller center and the watch only
  names the change.

Statuses: ``valid`` | ``expiring`` | ``expired`` | ``invalid`` (a blocking file problem) | ``replaced`` |
``removed``. Escalation state (``last_alert_threshold``/``last_alert_on``) is :mod:`.alert_schedule`'s.
:func:`registry_certificates` is the read API for the catalog sync's CERT-MISSING rule;
:func:`reference_certificates` what a new file is cross-checked against.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aeops.findings import Finding
from aeops.locations import list_files, sha256_of
from aeops.rules.cert_crosscheck import cross_check, rejected
from aeops.rules.certs import (
    CPC_DEADLINE_DAYS,
    CPC_WARN_DAYS,
    EXPIRING_DAYS,
    CertInfo,
    brand_key,
    check_certificate,
    parse_certificate_name,
)
from aeops.rules.documents import split_categories
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Certificate, utcnow
from aeops.store.repos.certificate_registry import ACTIVE_STATUSES

log = get_logger(__name__)



@dataclass(frozen=True, slots=True)
class ScannedCert:
    """One file of the certificate folder as checked on ``as_of``.

    ``brand``/``cert_type``/``valid_until`` come from the check (or, for an unreadable file, from its name);
    they are empty when neither says. ``problems`` are the blocking findings other than expiry; ``warnings`` the
    cross-check's (a changed issuer, another brand's number); ``approval_needed`` holds the file for a person
    (``previous_sha256``: the file it would replace).
    """

    file: str
    name: str
    sha256: str | None
    brand: str
    cert_type: str
    valid_until: date | None
    number: str | None
    issuer: str | None
    issue_date: date | None
    status: str
    problems: tuple[Finding, ...] = ()
    categories: tuple[str, ...] = ()
    warnings: tuple[Finding, ...] = ()
    approval_needed: bool = False
    previous_sha256: str | None = None





def status_on(valid_until: date | None, as_of: date, warn_days: int = EXPIRING_DAYS, *, invalid: bool = False) -> str:
    """``invalid`` / ``expired`` / ``expiring`` (within ``warn_days``) / ``valid`` on ``as_of``."""
    if invalid or valid_until is None:
        return "invalid"
    days = (valid_until - as_of).days
    return "expired" if days < 0 else "expiring" if days <= warn_days else "valid"


def scan_folder(uri: str, as_of: date, warn_days: int = EXPIRING_DAYS,
                cpc: tuple[list[int], int] = ([CPC_WARN_DAYS], CPC_DEADLINE_DAYS)) -> list[ScannedCert]:
    """Check every file of the certificate folder ``uri`` (LocationError when the folder is unusable).

    ``cpc``: CPC's warning days and re-upload deadline (the earliest warning makes a CPC ``expiring``)."""
    scanned = []
    for path in list_files(uri, "certs"):
        info, findings = check_certificate(path, as_of, warn_days=warn_days,
                                           cpc_warn_days=max([*cpc[0], cpc[1]]), cpc_deadline_days=cpc[1])
        problems = tuple(f for f in findings if f.code not in ("CERT-EXPIRING", "ERR-412"))
        scanned.append(_scanned(path, info, problems, as_of, warn_days))
    log.info("certificate folder %s: %d file(s), %d with problems", uri, len(scanned),
             sum(1 for s in scanned if s.problems))
    return scanned


def _scanned(path: Any, info: CertInfo | None, problems: tuple[Finding, ...], as_of: date,
             warn_days: int) -> ScannedCert:
    if info is not None:
        return ScannedCert(file=info.file, name=path.name, sha256=info.sha256, brand=info.brand,
                           cert_type=info.cert_type, valid_until=info.valid_until, number=info.number,
                           issuer=info.issuer, issue_date=info.issue_date,
                           status=status_on(info.valid_until, as_of, warn_days, invalid=info.status == "invalid"),
                           problems=problems, categories=info.categories)
    parsed, _ = parse_certificate_name(path.name)
    return ScannedCert(file=str(path), name=path.name, sha256=sha256_of(path),
                       brand=parsed.brand if parsed else "", cert_type=parsed.cert_type if parsed else "",
                       valid_until=parsed.valid_until if parsed else None, number=None, issuer=None,
                       issue_date=None, status="invalid", problems=problems)


def _as_info(item: ScannedCert) -> CertInfo | None:
    if not (item.brand and item.cert_type and item.valid_until and item.sha256):
        return None
    return CertInfo(brand=item.brand, cert_type=item.cert_type, valid_until=item.valid_until, number=item.number,
                    issuer=item.issuer, issue_date=item.issue_date, file=item.file, sha256=item.sha256,
                    status="invalid" if item.status == "invalid" else "valid", categories=item.categories)


def counts_as_reference(row: Certificate) -> bool:
    """A registry row a new file is compared with: readable, dated, not invalid, and not waiting for (or refused by)
    a person. Replaced and removed rows count: they are the brand's history."""
    return (row.status != "invalid" and row.valid_until is not None and bool(row.brand) and bool(row.cert_type)
            and row.approval not in ("pending", "rejected"))


def reference_certificates(db_url: str, store: str, as_of: date) -> list[CertInfo]:
    """The store's registry rows that count as references (:func:`counts_as_reference`), for ``as_of``."""
    return [to_cert_info(r, as_of) for r in Ledger(db_url).certificates.of_store(store) if counts_as_reference(r)]


def rejected_finding(row: Certificate) -> Finding:
    """A person rejected the file in the approval of its upload: it does not count (CERT-MISMATCH, an error)."""
    return rejected(row.file, dict(row.approval_detail or {}))


def cross_check_scan(db_url: str, store: str, scanned: list[ScannedCert], as_of: date,
                     uploaded_types: Iterable[str] = ()) -> list[ScannedCert]:
    """The scan with the cross-check's verdicts (:func:`aeops.rules.cert_crosscheck.cross_check`): a file is
    compared with the reference rows registered before it (all of them for a new file), so the older certificate
    stays the reference on every later scan. A changed issuer or another brand's number is a warning; for a type
    aeops uploads (``uploaded_types``, upper case) it holds the file for a person's approval (``approval_needed``).
    A file a person rejected is ``invalid``; one a person approved is not held again."""
    rows = Ledger(db_url).certificates.of_store(store)
    by_sha = {r.sha256: r for r in rows}
    order = {r.sha256: (r.first_seen_at, r.id) for r in rows}
    known = [(order[r.sha256], to_cert_info(r, as_of)) for r in rows if counts_as_reference(r)]
    uploaded = {t.strip().upper() for t in uploaded_types}
    out = []
    for item in scanned:
        info = _as_info(item)
        row = by_sha.get(item.sha256 or "")
        if info is None or info.status == "invalid":
            out.append(item)
            continue
        if row is not None and row.approval == "rejected":
            out.append(dataclasses.replace(item, status="invalid", problems=(*item.problems, rejected_finding(row))))
            continue
        mine = order.get(item.sha256 or "")
        check = cross_check(info, [k for at, k in known if mine is None or at < mine])
        held = (check.needs_approval(upload=False) and item.cert_type.upper() in uploaded
                and (row is None or row.approval != "approved"))
        out.append(dataclasses.replace(item, warnings=check.findings, approval_needed=held,
                                       previous_sha256=check.previous.sha256 if held and check.previous else None))
    return out


@dataclass
class RegistryUpdate:
    """What a scan changed: new rows, rows replaced (old id -> new id), rows removed; ids of present rows."""

    present: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    replaced: dict[int, int] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    held: dict[int, int] = field(default_factory=dict)  # previous id -> new file held for a person's approval

    def counts(self) -> dict[str, int]:
        """How many files were seen, new, replaced, removed and held, for the run's summary."""
        return {"files": len(self.present) + len(self.unreadable), "new": len(self.new),
                "replaced": len(self.replaced), "removed": len(self.removed), "held": len(self.held)}


def update_registry(db_url: str, store: str, scanned: list[ScannedCert], as_of: date,
                    *, now: datetime | None = None) -> RegistryUpdate:
    """Bring the store's registry in line with a scan (idempotent for the same folder and ``as_of``)."""
    now = now or utcnow()
    result = RegistryUpdate()
    by_sha: dict[str, ScannedCert] = {}
    for item in scanned:
        if item.sha256 is None:
            result.unreadable.append(item.file)  # cannot even be read: no content to key a row on
            continue
        current = by_sha.get(item.sha256)
        if current is None or (current.status == "invalid" and item.status != "invalid"):
            by_sha[item.sha256] = item  # the same content twice: keep the better-named copy
    applied = Ledger(db_url).certificates.apply_scan(store, by_sha, _mark_replacements, now)
    result.present, result.new, result.replaced, result.removed = (applied.present, applied.new, applied.replaced,
                                                                   applied.removed)
    for sha, item in by_sha.items():
        new_id, old_id = applied.ids.get(sha), applied.ids.get(item.previous_sha256 or "")
        if item.approval_needed and new_id in applied.new and old_id is None and item.previous_sha256:
            old_id = Ledger(db_url).certificates.id_of(store, item.previous_sha256)  # a file no longer present
        if item.approval_needed and new_id in applied.new and old_id is not None:
            result.held[old_id] = new_id
    log.info("certificate registry of %s on %s: %s", store, as_of, result.counts())
    return result


def _mark_replacements(rows: list[Certificate], present: set[str]) -> dict[int, int]:
    """Mark rows superseded by a present, usable, longer-valid certificate of the same brand and type.

    Returns {replaced row id: successor id} for every replaced row (new and earlier ones).
    """
    replaced: dict[int, int] = {}
    successors: dict[tuple[str, str], Certificate] = {}
    for row in rows:
        if (row.sha256 in present and row.status in ("valid", "expiring") and row.brand and row.cert_type
                and row.approval != "pending"):  # a held file replaces nothing until a person approves it
            key = (brand_key(row.brand), row.cert_type.upper())
            best = successors.get(key)
            if best is None or (row.valid_until or date.min) > (best.valid_until or date.min):
                successors[key] = row
    for row in rows:
        if row.status == "replaced" and row.replaced_by_id is not None:
            replaced[row.id] = row.replaced_by_id
            continue
        successor = successors.get((brand_key(row.brand), (row.cert_type or "").upper()))
        if successor is None or successor.id == row.id:
            continue
        if row.valid_until is None or (successor.valid_until and row.valid_until < successor.valid_until):
            if row.status in ACTIVE_STATUSES or row.status == "removed":
                row.status, row.replaced_by_id = "replaced", successor.id
                replaced[row.id] = successor.id
    return replaced


def to_cert_info(row: Certificate, as_of: date, warn_days: int = EXPIRING_DAYS) -> CertInfo:
    """A registry row as the rules' :class:`CertInfo`, its status computed for ``as_of``."""
    assert row.valid_until is not None
    invalid = row.status == "invalid"
    return CertInfo(brand=row.brand, cert_type=row.cert_type, valid_until=row.valid_until, number=row.number,
                    issuer=row.issuer, issue_date=row.issue_date, file=row.file, sha256=row.sha256,
                    status=status_on(row.valid_until, as_of, warn_days, invalid=invalid),  # type: ignore[arg-type]
                    categories=split_categories(row.categories))


def registry_certificates(db_url: str, store: str, as_of: date, *, warn_days: int = EXPIRING_DAYS) -> list[CertInfo]:
    """The store's certificates as the registry knows them, for the sync's CERT-MISSING rule.

    Every row whose file was in the folder at the last scan (also ``replaced`` ones: an older certificate
    still proves its brand until it expires), statuses computed for ``as_of`` so ``CertInfo.usable(as_of)``
    is right; rows with no brand/type/valid-until and ``removed`` rows are left out. An empty list means
    the certificate watch has not scanned this store yet (the caller may then scan the folder itself).
    """
    return [to_cert_info(r, as_of, warn_days) for r in Ledger(db_url).certificates.known(store)]


def request_replacements(db_url: str, store: str, update: RegistryUpdate, category_certs: dict[str, list[str]],
                         *, now: datetime | None = None) -> list[int]:
    """A new file of the folder replaced a certificate the registry already knew, or would replace it once a person
    approves it (of a type a configured category needs): its replacement on the platform is requested
    (``certificate_replacements``, status ``requested``), for ``aliexpress_certificate_replace`` to take up (and ask
    for the approval). Once per new file content; returns the new request ids."""
    needed = {t.strip().upper() for types in category_certs.values() for t in types}
    wanted = {old: new for old, new in update.replaced.items() if new in update.new and old not in update.new}
    wanted.update({old: new for old, new in update.held.items() if old not in update.new})
    if not wanted:
        return []
    created = Ledger(db_url).certificates.request_replacements(store, wanted, needed, now or utcnow())
    if created:
        log.info("%s: certificate replacement(s) requested: %s", store, created)
    return created
