"""The certificate registry (``certificates``: one row per store and file content) and the certificate
replacements on the platform (``certificate_replacements``).

Registry statuses: ``valid`` | ``expiring`` | ``expired`` | ``invalid`` (a blocking file problem) | ``replaced`` |
``removed``; a file's ``approval`` (``pending`` | ``approved`` | ``rejected``) is a person's word on a changed issuer
or number. Which certificate replaces which is :mod:`aeops.certificates.registry`'s rule, applied inside the
scan's transaction (:meth:`CertificateRegistry.apply_scan`); the alert state (``last_alert_threshold``,
``last_alert_on``) is the watch's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select

from aeops.store.models import Certificate, CertificateReplacement
from aeops.store.repos.base import Repository

ACTIVE_STATUSES = ("valid", "expiring", "expired", "invalid")

Supersede = Callable[[list[Certificate], set[str]], dict[int, int]]
"""Mark the rows superseded by a present certificate (``rows``, the SHA-256s present in the folder) and return
{replaced row id: successor id} (the registry's rule: ``aeops.certificates.registry``)."""


class ScannedLike(Protocol):
    """One file of the certificate folder as checked (:class:`aeops.certificates.registry.ScannedCert` is one)."""

    file: str
    brand: str
    cert_type: str
    valid_until: date | None
    number: str | None
    issuer: str | None
    issue_date: date | None
    status: str
    categories: tuple[str, ...]
    approval_needed: bool


@dataclass
class ScanApplied:
    """What a scan changed in the registry: ids of present rows and of new ones, rows replaced (old id -> new id)
    and rows removed; ``ids``: SHA-256 -> id of every present row."""

    ids: dict[str, int] = field(default_factory=dict)
    present: list[int] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    replaced: dict[int, int] = field(default_factory=dict)
    removed: list[int] = field(default_factory=list)


class CertificateRegistry(Repository):
    """``ledger.certificates``: the registry of the stores' certificate files and their replacements."""

    # -------------------------------------------------------------------------------------- registry
    def of_store(self, store: str) -> list[Certificate]:
        """Every registered certificate of the store, in registration order."""
        with self._transaction() as s:
            return list(s.scalars(select(Certificate).where(Certificate.store == store).order_by(Certificate.id)))

    def in_status(self, store: str, statuses: Iterable[str]) -> list[Certificate]:
        """The store's certificates in ``statuses``."""
        with self._transaction() as s:
            return list(s.scalars(select(Certificate).where(Certificate.store == store,
                                                            Certificate.status.in_(tuple(statuses)))))

    def known(self, store: str) -> list[Certificate]:
        """The store's certificates whose file was in the folder at the last scan (``replaced`` ones too) and that
        name a brand, a type and a validity date, in registration order."""
        with self._transaction() as s:
            return list(s.scalars(select(Certificate).where(
                Certificate.store == store, Certificate.status != "removed", Certificate.valid_until.is_not(None),
                Certificate.brand != "", Certificate.cert_type != "").order_by(Certificate.id)))

    def id_of(self, store: str, sha256: str) -> int | None:
        """The registry id of this file content of the store (None: not registered)."""
        with self._transaction() as s:
            return s.scalar(select(Certificate.id).where(Certificate.store == store, Certificate.sha256 == sha256))

    def approval_of(self, store: str, sha256: str) -> str | None:
        """A person's word on this file content of the store (``pending`` | ``approved`` | ``rejected``; None: nothing
        asked, or not registered)."""
        with self._transaction() as s:
            return s.scalar(select(Certificate.approval).where(Certificate.store == store,
                                                                Certificate.sha256 == sha256))

    def newest_other(self, store: str, brand: str, cert_type: str, sha256: str) -> Certificate | None:
        """The store's newest (longest valid) certificate of the brand (case and spacing aside) and type that is
        not this file content."""
        with self._transaction() as s:
            rows = [r for r in s.scalars(select(Certificate).where(Certificate.store == store,
                                                                    Certificate.cert_type == cert_type,
                                                                    Certificate.sha256 != sha256))
                    if " ".join(r.brand.split()).casefold() == " ".join(brand.split()).casefold()]
        rows.sort(key=lambda r: (r.valid_until or date.min, r.id))
        return rows[-1] if rows else None

    def apply_scan(self, store: str, scanned: Mapping[str, ScannedLike], supersede: Supersede,
                   now: datetime) -> ScanApplied:
        """Bring the store's registry in line with a scan of its folder (``scanned``: SHA-256 -> file), in one
        transaction: every file's row updated (new contents added), the rows ``supersede`` marks replaced, and rows
        whose file left the folder (and that nothing replaced) ``removed``."""
        result = ScanApplied()
        with self._transaction() as s:
            rows = {r.sha256: r for r in s.scalars(select(Certificate).where(Certificate.store == store))}
            before = {r.id: r.status for r in rows.values()}
            for sha, item in scanned.items():
                row = rows.get(sha)
                if row is None:
                    row = Certificate(store=store, sha256=sha, first_seen_at=now)
                    s.add(row)
                    rows[sha] = row
                    is_new = True
                else:
                    is_new = False
                row.brand, row.cert_type, row.valid_until = item.brand[:100], item.cert_type[:20], item.valid_until
                row.number = (item.number or None) and item.number[:100]
                row.issuer = (item.issuer or None) and item.issuer[:200]
                row.issue_date, row.file, row.last_checked_at = item.issue_date, item.file, now
                row.status, row.replaced_by_id = item.status, None
                row.categories = ", ".join(item.categories) or None
                if item.approval_needed and row.approval is None:
                    row.approval = "pending"  # a person's decision, once taken, is never overwritten by a scan
                s.flush()
                if is_new:
                    result.new.append(row.id)
                result.present.append(row.id)
                result.ids[sha] = row.id
            present = set(scanned)
            for old_id, new_id in supersede(list(rows.values()), present).items():
                if before.get(old_id) != "replaced":
                    result.replaced[old_id] = new_id
            for sha, row in rows.items():
                if sha not in present and row.status in ACTIVE_STATUSES:
                    row.status = "removed"
                    result.removed.append(row.id)
        return result

    def set_approval(self, store: str, sha256: str, decision: str, detail: Mapping[str, Any]) -> int | None:
        """A person's decision (``approved`` | ``rejected``) on the store's file of this content; returns its id (None:
        the file is not registered)."""
        with self._transaction() as s:
            row = s.scalars(select(Certificate).where(Certificate.store == store, Certificate.sha256 == sha256)).first()
            if row is None:
                return None
            row.approval, row.approval_detail = decision, dict(detail)
            return row.id

    def mark_alerted(self, thresholds: Mapping[int, int | None], as_of: date) -> None:
        """Remember what the watch said on ``as_of``: certificate id -> the threshold alerted (None: the alert is
        closed)."""
        with self._transaction() as s:
            for cert_id, threshold in thresholds.items():
                row = s.get(Certificate, cert_id)
                if row is None:
                    continue
                row.last_alert_on = as_of
                row.last_alert_threshold = threshold

    # ---------------------------------------------------------------------------------- replacements
    def request_replacements(self, store: str, wanted: Mapping[int, int], needed_types: set[str],
                             now: datetime) -> list[int]:
        """A replacement requested on the platform (status ``requested``) for each (old id -> new id) of ``wanted``
        whose new certificate is of a type in ``needed_types`` (upper case), once per new file content; returns the
        new request ids."""
        created: list[int] = []
        with self._transaction() as s:
            for old_id, new_id in sorted(wanted.items()):
                old, new = s.get(Certificate, old_id), s.get(Certificate, new_id)
                if old is None or new is None or new.cert_type.upper() not in needed_types:
                    continue
                if s.scalar(select(CertificateReplacement.id).where(CertificateReplacement.store == store,
                                                                    CertificateReplacement.new_sha256 == new.sha256)):
                    continue
                row = CertificateReplacement(
                    store=store, brand=new.brand, cert_type=new.cert_type, old_certificate_id=old.id,
                    new_certificate_id=new.id, old_file=old.file, new_file=new.file, new_sha256=new.sha256,
                    reason=f"a new certificate file replaced {old.file.replace(chr(92), '/').rsplit('/', 1)[-1]} "
                           "in the certificate folder", trigger="asset", status="requested", requested_at=now,
                    detail={})
                s.add(row)
                s.flush()
                created.append(row.id)
        return created

    def replacement(self, rid: int) -> CertificateReplacement | None:
        """One replacement's record (None: not recorded)."""
        with self._transaction() as s:
            row = s.get(CertificateReplacement, rid)
            if row is not None:
                s.expunge(row)
            return row

    def update_replacement(self, rid: int, **values: Any) -> CertificateReplacement:
        """Change a replacement's record (``detail`` is merged); returns it as recorded."""
        with self._transaction() as s:
            row = s.get(CertificateReplacement, rid)
            if row is None:
                raise LookupError(f"certificate replacement {rid} not found")
            for key, value in values.items():
                setattr(row, key, {**dict(row.detail or {}), **value} if key == "detail" else value)
            s.flush()
            s.expunge(row)
            return row

    def replacements_for_run(self, dag_id: str, run_id: str, *, store: str, new_file: str, reason: str,
                             detail: dict[str, Any]) -> list[int]:
        """The replacements the run does, recorded ``running`` (ids), in one transaction: those it already has (a
        retried task); else one of ``new_file`` for ``store`` (a person's trigger); else every ``requested`` one (of
        ``store`` when given), claimed by the run. ``detail`` is merged into each."""
        with self._transaction() as s:
            mine = list(s.scalars(select(CertificateReplacement.id).where(CertificateReplacement.dag_id == dag_id,
                                                                          CertificateReplacement.run_id == run_id)))
            if mine:
                return mine
            if new_file:
                row = CertificateReplacement(store=store, brand="", cert_type="", new_file=new_file, reason=reason,
                                             trigger="manual", dag_id=dag_id, run_id=run_id, status="running",
                                             detail=detail)
                s.add(row)
                s.flush()
                return [row.id]
            query = select(CertificateReplacement).where(CertificateReplacement.status == "requested")
            if store:
                query = query.where(CertificateReplacement.store == store)
            claimed = []
            for row in s.scalars(query.order_by(CertificateReplacement.id)):
                row.dag_id, row.run_id, row.status = dag_id, run_id, "running"
                row.detail = {**dict(row.detail or {}), **detail}
                claimed.append(row.id)
            return claimed

