"""A certificate replacement on the platform, one function per task of DAG ``aliexpress_certificate_replace``.

``requests`` says what a run replaces: the certificate in its Params (a person's trigger), else the replacements
the certificate watch requested when a new file replaced an older one in the folder (the run was started by the
watch's Asset). Per replacement (a row of ``certificate_replacements``, the registry's record): ``validate``
(every certificate rule, the number/issuer cross-check against the registry, the account's right to change
compliance files (:mod:`aeops.catalog.account`: refused for an individual merchant or a platform that forbids
posting, before anything is uploaded), the categories needing its type and the brand's products in them),
``render`` (page 1 to JPEG), ``upload`` (to the photobank, recorded before and after), ``plan`` (one
``qualification`` change per product in the ledger), ``push`` (the recorded, resumable batch push of
:mod:`aeops.catalog.push`, under the store's write lock); verification and the report are
:mod:`.replacement_check`. A changed issuer or number (or no earlier certificate to compare with) waits for a
person between ``render`` and ``upload`` (:mod:`.upload_approval`); until approved, ``upload`` sends nothing.
Nothing here reads the wall clock for a decision except the restore deadline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from aeops.catalog import lock
from aeops.catalog.account import AccountRefused, compliance_allowed
from aeops.catalog.batching import batches
from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.dates import resolve_as_of
from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.certificates.covered import categories_needing, covered_products, read_live_status
from aeops.certificates.registry import reference_certificates
from aeops.config import AeopsConfig, ConfigError, load_airflow_config
from aeops.findings import Finding, Severity
from aeops.locations import LocationError, folder, read_bytes
from aeops.marketplace.interface import MarketplaceClient
from aeops.rules.cert_crosscheck import approval_request, cross_check
from aeops.rules.cert_render import render_first_page
from aeops.rules.certs import NOT_READ, check_certificate
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Certificate, CertificateReplacement

log = get_logger(__name__)

DAG_ID = "aliexpress_certificate_replace"
MAX_CERT_BYTES = 20 * 1024 * 1024
LOCK_TTL_S = 600.0
KIND = "qualification"


class ReplaceError(ValueError):
    """The request cannot be run (unknown store, no certificate); one line saying why."""


@dataclass(frozen=True)
class Replacement:
    """One replacement's record and its store's context."""

    ctx: RunContext
    row: CertificateReplacement

    @property
    def detail(self) -> dict[str, Any]:
        """The replacement's recorded detail (a copy)."""
        return dict(self.row.detail or {})


def load(rid: int, config: AeopsConfig | None = None) -> Replacement:
    """The replacement ``rid`` as recorded, with its store's context; ReplaceError when none is."""
    cfg = config or load_airflow_config()
    row = Ledger(cfg.resolved_database_url()).certificates.replacement(rid)
    if row is None:
        raise ReplaceError(f"replacement {rid} is not recorded")
    return Replacement(context(row.store, cfg), row)


def update(rep: Replacement, **values: Any) -> Replacement:
    """Change the replacement's record (``detail`` is merged)."""
    return Replacement(rep.ctx, rep.ctx.ledger.certificates.update_replacement(rep.row.id, **values))


def sync_run_id_of(rep: Replacement) -> str:
    """The ledger run of one replacement (one per certificate of an Airflow run)."""
    return f"{rep.row.run_id}~r{rep.row.id}"


# ------------------------------------------------------------------------------------------------ requests
def requests(params: dict[str, Any], run_id: str, *, config: AeopsConfig | None = None) -> list[int]:
    """The replacements this run does (ids of ``certificate_replacements``), recorded as ``running``.

    With a ``certificate`` Param: that file for ``store`` (a person's trigger; ``reason`` is kept). Without:
    every replacement the certificate watch requested (of ``store`` when given), claimed by this run. A retried
    task finds the same rows again (idempotent)."""
    cfg = config or load_airflow_config()
    store = str(params.get("store") or "").strip()
    certificate = str(params.get("certificate") or "").strip()
    reason = str(params.get("reason") or "").strip()
    if store:
        try:
            cfg.store(store)
        except ConfigError as exc:
            raise ReplaceError(str(exc)) from None
    if certificate and not store:
        raise ReplaceError("store is required with a certificate: the store whose products get it")
    claimed = Ledger(cfg.resolved_database_url()).certificates.replacements_for_run(
        DAG_ID, run_id, store=store, new_file=certificate, reason=reason or "manual replacement",
        detail={"params": _audit(params)})
    log.info("run %s replaces %d certificate(s): %s", run_id, len(claimed), claimed or "nothing requested")
    return claimed


def _audit(params: dict[str, Any]) -> dict[str, Any]:
    return {k: params.get(k) for k in ("store", "certificate", "reason", "dry_run", "as_of")}


def as_of_of(rep: Replacement) -> date:
    """The day the replacement checks validity against (its ``as_of`` param, else today in the store's zone)."""
    return resolve_as_of((rep.detail.get("params") or {}).get("as_of"), rep.ctx.store.timezone)


def dry_run_of(rep: Replacement) -> bool:
    """Whether the replacement was started as a dry run (checks only, nothing uploaded)."""
    return bool((rep.detail.get("params") or {}).get("dry_run"))


# ------------------------------------------------------------------------------------------------ validate
def certificate_bytes(location: str) -> tuple[str, bytes]:
    """(file name, bytes) of a certificate given as a path, ``file://``/storage URL or http(s) URL."""

    if location.startswith(("http://", "https://")):
        import httpx  # lazy: httpx only when a URL is fetched

        try:
            answer = httpx.get(location, timeout=30, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise ReplaceError(f"cannot download {location}: {type(exc).__name__}") from None
        if answer.status_code != 200:
            raise ReplaceError(f"cannot download {location}: HTTP {answer.status_code}")
        if len(answer.content) > MAX_CERT_BYTES:
            raise ReplaceError(f"{location} is larger than {MAX_CERT_BYTES // 2**20} MB")
        return location.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1], answer.content
    try:
        return location.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1], read_bytes(location, MAX_CERT_BYTES)
    except LocationError as exc:
        raise ReplaceError(str(exc)) from None


class _Memory:
    """A certificate's bytes with the name and ``read_bytes`` the rules read (a downloaded file)."""

    def __init__(self, name: str, data: bytes, where: str) -> None:
        self.name, self._data, self._where = name, data, where

    def read_bytes(self) -> bytes:
        return self._data

    def __str__(self) -> str:
        return self._where


def validate(rid: int, *, config: AeopsConfig | None = None) -> dict[str, Any]:
    """Every certificate rule, the cross-check against the registry, and what it covers. Returns
    ``{"rid", "ok", "status"}``: ``ok`` False for a rejected file (``rejected``, its findings recorded) or nothing
    to write (``no_products``)."""

    rep = load(rid, config)
    if rep.row.status != "running":  # a retried task after the verdict was recorded
        return {"rid": rid, "ok": False, "status": rep.row.status}
    as_of = as_of_of(rep)
    cfg = rep.ctx.config
    try:
        name, data = certificate_bytes(rep.row.new_file)
    except ReplaceError as exc:
        findings = [NOT_READ.finding(file=rep.row.new_file, name=repr(rep.row.new_file), error=str(exc))]
        return _reject(rep, findings, None)
    info, findings = check_certificate(_Memory(name, data, rep.row.new_file), as_of,
                                       warn_days=max(cfg.cert_warn_days or [30]),
                                       cpc_warn_days=max([*cfg.cert_cpc_warn_days, cfg.cert_cpc_deadline_days]),
                                       cpc_deadline_days=cfg.cert_cpc_deadline_days)
    check = cross_check(info, reference_certificates(rep.ctx.db_url, rep.row.store, as_of)) if info else None
    findings += list(check.findings if check else ())  # warnings: what a person approves before the upload
    blocking = [f for f in findings if f.severity == Severity.ERROR]
    if info is None or blocking:
        return _reject(rep, blocking or findings, info)
    refused = _compliance_refusal(rep)
    if refused is not None:
        return _refuse(rep, refused, info)
    categories = categories_needing(info.cert_type, rep.ctx.store.category_certs)
    covered = covered_products(rep.ctx.db_url, rep.row.store, info.brand, categories, rep.ctx.store.exports)
    old = _previous_certificate(rep, info.brand, info.cert_type, info.sha256)
    registered = rep.ctx.ledger.certificates.id_of(rep.row.store, info.sha256)
    values: dict[str, Any] = {"brand": info.brand[:100], "cert_type": info.cert_type[:20], "new_sha256": info.sha256,
                              "new_certificate_id": registered}
    if old is not None and rep.row.old_certificate_id is None:
        values.update(old_certificate_id=old.id, old_file=old.file)
    detail = {"valid_until": info.valid_until.isoformat(), "number": info.number, "issuer": info.issuer,
              "categories": categories, "source": covered.source, "as_of": as_of.isoformat(),
              "warnings": [_finding(f) for f in findings]}
    if not categories or not covered.products:
        why = ("no configured category needs a {type} certificate" if not categories
               else "no product of {brand} in {categories}").format(type=info.cert_type, brand=info.brand,
                                                                  categories=", ".join(categories))
        update(rep, status="no_products", finished_at=datetime.now(UTC), detail={**detail, "nothing": why},
               **values)
        log.info("%s: %s: nothing to write", rep.row.store, why)
        return {"rid": rid, "ok": False, "status": "no_products"}
    try:
        covered = read_live_status(covered, client_for(rep.ctx))
    except Exception as exc:  # noqa: BLE001 - the statuses are for the report; the write does not need them
        log.warning("%s: live status not read (%s)", rep.row.store, type(exc).__name__)
    detail["products"] = [{"product_id": p.product_id, "title": p.title, "category": p.category,
                           "status_before": p.status, "reason_before": p.reason} for p in covered.products]
    assert check is not None
    detail["approval"] = approval_request(info, check, rep.ctx.ledger.certificates.approval_of(rep.row.store,
                                                                                                info.sha256))
    update(rep, detail=detail, **values)
    log.info("%s: %s %s valid until %s covers %d product(s) of %s", rep.row.store, info.brand, info.cert_type,
             info.valid_until, len(covered.products), ", ".join(categories))
    return {"rid": rid, "ok": True, "status": "running"}


def _compliance_refusal(rep: Replacement) -> AccountRefused | None:
    """Why this account may not change compliance files (None: it may): the platform's
    ``product_posting_forbidden`` and the operator's declared merchant type (:mod:`aeops.catalog.account`), checked
    before the first write, in a dry run too."""
    try:
        decision = compliance_allowed(client_for(rep.ctx), rep.ctx.store)
    except AccountRefused as refused:
        return refused
    log.info("%s: %s", rep.row.store, decision.text("en"))
    return None


def _refuse(rep: Replacement, refused: AccountRefused, info: Any) -> dict[str, Any]:
    """The account may not change compliance files: recorded as ``refused``; nothing is uploaded or attached."""
    update(rep, status="refused", finished_at=datetime.now(UTC), brand=info.brand[:100], cert_type=info.cert_type[:20],
           new_sha256=info.sha256, detail={"refused": refused.decision.text("en"),
                                           "decision": refused.decision.to_dict()})
    log.warning("%s: certificate replacement refused, nothing uploaded or attached: %s", rep.row.store,
                refused.decision.text("en"))
    return {"rid": rep.row.id, "ok": False, "status": "refused"}


def _finding(f: Finding) -> dict[str, Any]:
    return {"code": f.code, "severity": str(f.severity), "message": f.message, "field": f.field,
            "texts": f.texts_json()}


def _reject(rep: Replacement, findings: list[Finding], info: Any) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if info is not None:
        values = {"brand": info.brand[:100], "cert_type": info.cert_type[:20], "new_sha256": info.sha256}
    update(rep, status="rejected", finished_at=datetime.now(UTC),
           detail={"findings": [_finding(f) for f in findings]}, **values)
    log.warning("%s: certificate %s rejected: %s", rep.row.store, rep.row.new_file,
                "; ".join(f"{f.code} {f.message}" for f in findings))
    return {"rid": rep.row.id, "ok": False, "status": "rejected"}


def _previous_certificate(rep: Replacement, brand: str, cert_type: str, sha: str) -> Certificate | None:
    """The registry's newest other certificate of the brand and type (what this one replaces)."""
    return rep.ctx.ledger.certificates.newest_other(rep.row.store, brand, cert_type, sha)


# -------------------------------------------------------------------------------------- render and upload
def render(rid: int, *, config: AeopsConfig | None = None) -> dict[str, Any]:
    """Page 1 as the qualification JPEG, written next to the run's report (its location is recorded)."""

    rep = load(rid, config)
    if rep.row.status != "running":
        return {"rid": rid, "skipped": rep.row.status}
    _name, data = certificate_bytes(rep.row.new_file)
    page = render_first_page(data)
    target = folder(rep.ctx.store.reports, Path("reports") / rep.row.store) / _jpeg_name(rep)
    target.write_bytes(page.jpeg)
    update(rep, detail={"jpeg": str(target), "jpeg_size": [page.width, page.height], "jpeg_bytes": len(page.jpeg)})
    log.info("%s: page 1 rendered %dx%d, %d bytes -> %s", rep.row.store, page.width, page.height, len(page.jpeg),
             target)
    return {"rid": rid, "jpeg": str(target), "width": page.width, "height": page.height, "bytes": len(page.jpeg)}


def _jpeg_name(rep: Replacement) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{rep.row.brand}_{rep.row.cert_type}_r{rep.row.id}").strip("_")
    return f"{stem}.jpg"


def upload(rid: int, *, client: MarketplaceClient | None = None, config: AeopsConfig | None = None) -> dict[str, Any]:
    """The JPEG to the photobank, once: recorded before (``uploading``) and after (the URL); a retry after a lost
    answer uploads again (a photobank entry costs nothing; the product edit decides which one counts)."""

    rep = load(rid, config)
    if rep.row.status != "running":
        return {"rid": rid, "skipped": rep.row.status}
    if rep.row.photobank_url:
        return {"rid": rid, "photobank_url": rep.row.photobank_url}
    if dry_run_of(rep):
        return {"rid": rid, "dry_run": True}
    approval = rep.detail.get("approval") or {}
    if approval.get("needed") and approval.get("decision") != "approved":  # the approve task's answer decides
        log.warning("%s: %s waits for a person's approval: nothing uploaded", rep.row.store, rep.row.new_file)
        return {"rid": rid, "skipped": "waiting for approval"}
    jpeg = read_bytes(rep.detail["jpeg"], 3 * 1024 * 1024)
    update(rep, detail={"upload": "sending"})
    client = client or client_for(rep.ctx)
    result = client.upload_image(_jpeg_name(rep), jpeg, content_type="image/jpeg")
    update(rep, photobank_url=result.photobank_url, detail={"upload": "done"})
    log.info("%s: qualification image uploaded: %s", rep.row.store, result.photobank_url)
    return {"rid": rid, "photobank_url": result.photobank_url}


# -------------------------------------------------------------------------------------------- plan and push
def qualification_key(client: MarketplaceClient, category: str | int, cert_type: str,
                      locale: str = "en_US") -> str | None:
    """The category's qualification key for a certificate type (``aliexpress.category.qualifications.list``;
    ``category``: the platform's numeric id from ``stores[].category_ids``, else the name as configured)."""
    wanted = cert_type.strip().upper()
    for spec in client.category_qualifications(category, locale=locale):
        if spec.type == "image" and (f"_{wanted}_" in f"_{spec.key.upper()}_" or wanted in spec.label.upper()):
            return spec.key
    return None


def plan(rid: int, *, client: MarketplaceClient | None = None, config: AeopsConfig | None = None) -> dict[str, Any]:
    """One ``qualification`` change per covered product, stored in the ledger (a retried plan keeps what was
    sent). Products of a category with no qualification key for the type are recorded, not planned."""
    rep = load(rid, config)
    if rep.row.status != "running":
        return {"rid": rid, "skipped": rep.row.status}
    ledger = rep.ctx.ledger
    sync_run_id = ledger.runs.start(rep.row.store, DAG_ID, sync_run_id_of(rep), kind="certificate")
    update(rep, sync_run_id=sync_run_id)
    dry = dry_run_of(rep)
    client = client or client_for(rep.ctx)
    url = rep.row.photobank_url or "(dry run: not uploaded)"
    keys: dict[str, str | None] = {}
    planned: list[PlannedChange] = []
    for product in rep.detail.get("products") or []:
        category = product["category"]
        if category not in keys:
            ids = {" ".join(k.split()).casefold(): v for k, v in rep.ctx.store.category_ids.items()}
            category_id = ids.get(" ".join(category.split()).casefold(), category)
            keys[category] = qualification_key(client, category_id, rep.row.cert_type)
        key = keys[category]
        if key is None:
            continue
        planned.append(PlannedChange(int(product["product_id"]), KIND, {
            "qualification": {"key": key, "type": "image", "value": url}, "certificate": rep.row.new_file}))
    missing = sorted(c for c, k in keys.items() if k is None)
    counts = (ledger.changes.store_plan(sync_run_id, rep.row.store, planned) if planned and not dry
              else {KIND: len(planned)})
    ledger.runs.update(sync_run_id, counts={"planned": len(planned), "dry_run": dry},
                       message=f"certificate {rep.row.brand} {rep.row.cert_type} replacement; reason: {rep.row.reason}")
    update(rep, detail={"keys": keys, "no_key": missing, "planned": len(planned)})
    log.info("%s: %d qualification change(s) planned%s", rep.row.store, len(planned),
             f"; no {rep.row.cert_type} key in {', '.join(missing)}" if missing else "")
    return {"rid": rid, "planned": counts.get(KIND, 0), "no_key": missing}


def push(rid: int, *, client: MarketplaceClient | None = None, config: AeopsConfig | None = None, task: str = "push",
         max_wait_s: float = 1800.0, poke_s: float = 30.0) -> dict[str, int] | None:
    """Send the open qualification changes, one product an edit, each recorded before and after, under the
    store's write lock. None when the lock is busy (the reschedule-mode sensor pokes again, no slot held)."""
    rep = load(rid, config)
    if rep.row.status != "running" or rep.row.sync_run_id is None or dry_run_of(rep):
        return {}
    ledger = rep.ctx.ledger
    open_ids = ledger.changes.open_ids([rep.row.sync_run_id]).get((rep.row.sync_run_id, KIND), [])
    if not open_ids:
        return {}
    holder = lock.run_holder(rep.row.sync_run_id)
    if not lock.poke(ledger, rep.row.store, holder, task=f"{task} ({DAG_ID} {rep.row.run_id})", ttl_s=LOCK_TTL_S,
                     priority=True, max_wait_s=max_wait_s, poke_s=poke_s):
        return None
    totals: dict[str, int] = {}
    with lock.held_lock(ledger, rep.row.store, holder, ttl=LOCK_TTL_S) as hold:
        client = client or client_for(rep.ctx)
        for change_ids in batches(open_ids, KIND):
            hold.check()  # fenced like the daily push: a lock lost stops before the next batch (LockLost)
            for status, n in push_batch(ledger, client, rep.row.sync_run_id, KIND, change_ids,
                                        fence=hold.token).items():
                totals[status] = totals.get(status, 0) + n
    log.info("%s: qualification push: %s", rep.row.store, totals)
    return totals
