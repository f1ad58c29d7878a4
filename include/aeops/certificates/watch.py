"""The certificate-expiry watch, one store at a time: scan -> registry, then the day's alerts in one Slack message.

:func:`scan` checks every file of the store's ``certs`` location and updates the registry
(:mod:`.registry`); it also fills ``product_state.category/brand`` from the newest export
(:func:`.covered.backfill_categories`). :func:`alert` decides what is due on ``as_of``
(:mod:`.alert_schedule`), posts one message listing each certificate or compliance document (brand, type, days
left, what it keeps on sale, every product at risk, what to do: :mod:`.alert_text`) and records what it said, so
tomorrow only new thresholds, expired files (daily) and closures are posted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aeops.catalog.context import RunContext
from aeops.certificates import alert_schedule, alert_text
from aeops.certificates.alert_listing import DAG_ID, name_products, write_listing
from aeops.certificates.covered import Exposure, Scope, backfill_categories, exposure, scope_of
from aeops.certificates.registry import (
    cross_check_scan,
    rejected_finding,
    request_replacements,
    scan_folder,
    update_registry,
)
from aeops.config import AeopsConfig, StoreConfig, load_airflow_config
from aeops.i18n import translator
from aeops.locations import LocationError, resolve
from aeops.notify.finding_texts import finding_message
from aeops.notify.messages import notice, slack_escape
from aeops.notify.send import send
from aeops.rules.certs import brand_key, check_certificate
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Certificate

log = get_logger(__name__)

TEXT_BUDGET = 2700  # the Block Kit section holds 3000 characters; the rest is "...and N more"
PRODUCTS_SHOWN = (20, 10, 5, 3, 1, 0)  # products named per file in Slack, fewer when the day has many alerts
KIND_ORDER = {"expired": 0, "deadline": 1, "invalid": 2, "warning": 3, "removed": 4, "closed": 5}


class CertWatchError(RuntimeError):
    """The watch could not do its job for a store; one line saying why."""


@dataclass(frozen=True)
class Ctx:
    """What a certificate-watch step needs: the settings, its store and the aeops DB URL."""
    config: AeopsConfig
    store: StoreConfig
    db_url: str

    @property
    def warn_days(self) -> list[int]:
        """The days before expiry at which a reminder is due (``cert_warn_days``; 30 without it)."""
        return alert_schedule.thresholds(self.config.cert_warn_days) or [30]

    @property
    def cpc(self) -> tuple[list[int], int]:
        """CPC's earlier warnings and its re-upload deadline (days)."""
        return list(self.config.cert_cpc_warn_days), int(self.config.cert_cpc_deadline_days)


def context(store: str, config: AeopsConfig | None = None) -> Ctx:
    """The context of ``store`` (settings from Airflow unless given); brings the aeops DB schema up to date."""
    cfg = config or load_airflow_config()
    url = cfg.resolved_database_url()
    Ledger(url)  # the aeops DB's schema brought up to date, once per process
    return Ctx(cfg, cfg.store(store), url)


# ------------------------------------------------------------------------------------------------ scan
def scan(store: str, as_of: date, *, config: AeopsConfig | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Scan the store's certificate folder into the registry; returns counts (and unreadable file names), and the
    replacements requested on the platform (a new file replaced a known certificate: ``aliexpress_certificate_replace``
    takes them up when the watch's Asset is updated)."""

    ctx = context(store, config)
    try:
        scanned = scan_folder(ctx.store.certs, as_of, max(ctx.warn_days), cpc=ctx.cpc)
    except LocationError as exc:
        raise CertWatchError(f"{store}: {exc}") from None
    uploaded = [t for types in ctx.store.category_certs.values() for t in types]  # what a replacement uploads
    scanned = cross_check_scan(ctx.db_url, store, scanned, as_of, uploaded)
    update = update_registry(ctx.db_url, store, scanned, as_of, now=now)
    requested = request_replacements(ctx.db_url, store, update, ctx.store.category_certs, now=now)
    backfilled = backfill_categories(ctx.db_url, store, ctx.store.exports)
    return {"store": store, "as_of": as_of.isoformat(), **update.counts(), "unreadable": update.unreadable,
            "categories_backfilled": backfilled, "replacements_requested": requested}


# ----------------------------------------------------------------------------------------------- alert
@dataclass
class CertAlert:
    """One certificate line of the day's message."""

    cert_id: int
    kind: str  # expired | deadline (CPC inside its re-upload deadline) | warning | invalid | closed | removed
    threshold: int | None
    brand: str
    cert_type: str
    file: str
    valid_until: date | None
    days_left: int | None
    issuer: str | None = None
    categories: list[str] = field(default_factory=list)
    at_risk: int = 0
    reasons: list[str] = field(default_factory=list)
    successor: tuple[str, date | None] | None = None
    covered_by: tuple[str, date | None] | None = None
    products: list[Any] = field(default_factory=list)  # covered.CoveredProduct: every product at risk, by name
    live: bool = False  # at_risk counts the products the platform shows onSelling right now
    scope: Scope = field(default_factory=lambda: Scope([]))  # what the file keeps on sale
    successor_issuer: str | None = None  # a closure whose new file comes from another issuer than this one
    held: list[tuple[str, str | None]] = field(default_factory=list)  # newer files waiting for approval (issuer)



_name = alert_text.file_name


def plan_alerts(rows: list[Certificate], as_of: date, warn_days: list[int],
                category_certs: dict[str, list[str]], risk: Exposure,
                cpc: tuple[list[int], int] = ([60, 45], 30)) -> list[CertAlert]:
    """What is due today for the store's registry ``rows`` (pure: reads rows, changes nothing).

    ``cpc`` is CPC's earlier warnings and its re-upload deadline (:func:`.alert_schedule.thresholds_for`)."""
    by_id = {r.id: r for r in rows}
    usable: dict[tuple[str, str], Certificate] = {}
    for row in rows:
        if row.status in ("valid", "expiring") and row.valid_until is not None:
            key = (brand_key(row.brand), row.cert_type.upper())
            if key not in usable or row.valid_until > (usable[key].valid_until or date.min):
                usable[key] = row
    held: dict[tuple[str, str], list[Certificate]] = {}
    for row in rows:
        if row.approval == "pending" and row.status in ("valid", "expiring"):
            held.setdefault((brand_key(row.brand), row.cert_type.upper()), []).append(row)
    alerts: list[CertAlert] = []
    for row in rows:
        days = (row.valid_until - as_of).days if row.valid_until else None
        kind: str | None = None
        threshold: int | None = None
        if row.status in ("replaced", "removed"):
            if row.last_alert_threshold is not None and not (row.last_alert_on and as_of < row.last_alert_on):
                kind = "closed" if row.status == "replaced" else "removed"
        elif row.status == "invalid":
            if alert_schedule.invalid_alert_due(row.last_alert_threshold) and not (
                    row.last_alert_on and as_of < row.last_alert_on):
                kind, threshold = "invalid", alert_schedule.INVALID
        elif days is not None:
            own = alert_schedule.thresholds_for(row.cert_type, warn_days, cpc[0], cpc[1])
            threshold = alert_schedule.due_threshold(days, last_threshold=row.last_alert_threshold,
                                                 last_alert_on=row.last_alert_on, as_of=as_of, warn_days=own)
            if threshold is not None:
                kind = "expired" if threshold == alert_schedule.EXPIRED else (
                    "deadline" if alert_schedule.past_deadline(row.cert_type, threshold, cpc[1]) else "warning")
        if kind is None:
            continue
        scope = scope_of(row.cert_type, category_certs, row.categories) if row.cert_type else Scope([])
        successor = by_id.get(row.replaced_by_id) if row.replaced_by_id else None
        key = (brand_key(row.brand), row.cert_type.upper())
        cover = usable.get(key) if kind == "invalid" else None
        changed_issuer = successor.issuer if successor and successor.issuer and row.issuer and brand_key(
            successor.issuer) != brand_key(row.issuer) else None
        alerts.append(CertAlert(
            cert_id=row.id, kind=kind, threshold=threshold, brand=row.brand, cert_type=row.cert_type,
            file=row.file, valid_until=row.valid_until, days_left=days, issuer=row.issuer,
            categories=list(scope.categories or []), scope=scope,
            # an expiry delists the whole scope; an invalid file in the folder puts its own brand's products at risk
            at_risk=0 if not row.brand or cover is not None else risk.at_risk(row.brand, scope.categories or [])
            if kind == "invalid" and not scope.brand_only else risk.in_scope(scope, row.brand),
            successor=(_name(successor.file), successor.valid_until) if successor else None,
            covered_by=(_name(cover.file), cover.valid_until) if cover else None, successor_issuer=changed_issuer,
            held=[(_name(h.file), h.issuer) for h in held.get(key, []) if h.id != row.id
                  and kind in ("expired", "deadline", "warning")],
        ))
    alerts.sort(key=lambda a: (KIND_ORDER[a.kind], a.days_left if a.days_left is not None else 0, a.brand))
    return alerts


def _problems_of(row: Certificate, as_of: date, lang: str | None = "en") -> list[str]:
    """Why a file is invalid (re-checked now: the registry keeps the verdict, not the reasons), and a person's
    rejection of its upload."""

    _ = translator(lang)
    try:
        _certificate, findings = check_certificate(resolve(row.file), as_of)
    except Exception as exc:  # noqa: BLE001 - a reason line, never a failed watch
        return [_("cannot be re-checked ({error})").format(error=type(exc).__name__)]
    if row.approval == "rejected":
        findings.append(rejected_finding(row))
    return [f"`{f.code}` {finding_message(f, lang)}" for f in findings
            if f.blocking and f.code not in ("CERT-EXPIRING", "ERR-412")] or [
        _("no longer invalid on re-check; it will be re-classified at the next scan")]


def certificate_message(store: str, as_of: date, alerts: list[CertAlert], source: str,
                        unreadable: Sequence[str] = (), lang: str | None = "en", deadline_days: int = 30,
                        link: str | None = None):
    """One Slack notice (in ``lang``) for the day's certificate alerts (most urgent first; long lists end in
    '...and N more')."""

    _ = translator(lang)
    counts = {k: sum(1 for a in alerts if a.kind == k) for k in KIND_ORDER}
    severity = "error" if counts["expired"] or counts["deadline"] else "warning" if (
        counts["warning"] or counts["invalid"] or unreadable) else "info"
    parts = []
    if counts["expired"]:
        parts.append(_("{n} expired").format(n=counts["expired"]))
    if counts["deadline"]:
        parts.append(_("{n} past the re-upload deadline").format(n=counts["deadline"]))
    if counts["warning"]:
        parts.append(_("{n} expiring").format(n=counts["warning"]))
    if counts["invalid"]:
        parts.append(_("{n} invalid file(s)").format(n=counts["invalid"]))
    if counts["closed"]:
        parts.append(_("{n} replaced (alert closed)").format(n=counts["closed"]))
    if counts["removed"]:
        parts.append(_("{n} removed").format(n=counts["removed"]))
    if unreadable:
        parts.append(_("{n} unreadable").format(n=len(unreadable)))
    title = _("Certificates: {what}").format(what=", ".join(parts))
    # every product of a category can be many: fewer named per file (the CSV has them all) before a file is left out
    per_file = next((n for n in PRODUCTS_SHOWN if sum(len(alert_text.alert_line(a, source, lang, deadline_days, n)) + 1
                                                      for a in alerts) <= TEXT_BUDGET), PRODUCTS_SHOWN[-1])
    blocks_text: list[str] = []
    used = 0
    shown = 0
    for alert in alerts:
        line = alert_text.alert_line(alert, source, lang, deadline_days, per_file)
        if used + len(line) > TEXT_BUDGET and shown:
            break
        blocks_text.append(line)
        used += len(line) + 1
        shown += 1
    if shown < len(alerts):
        blocks_text.append("_" + _("…and {n} more: see the task log or the `certificates` table").format(
            n=len(alerts) - shown) + "_")
    for name in unreadable:
        blocks_text.append("• :x: " + _("`{file}` cannot be read at all (check the file's permissions/storage)")
                           .format(file=slack_escape(_name(name))))
    at_risk = sum(a.at_risk for a in alerts if a.kind in ("expired", "deadline", "warning"))
    key_src = "|".join(f"{a.cert_id}:{a.kind}:{a.threshold}" for a in alerts) + "|" + "|".join(unreadable)
    return notice(
        title=title, text="\n".join(blocks_text), store=store, severity=severity,
        fields={_("As of"): as_of.isoformat(), _("Expired"): counts["expired"],
                _("Expiring"): counts["warning"] + counts["deadline"],
                _("Closed"): counts["closed"], _("Live products at risk"): at_risk},
        dedupe_key=f"certs:{store}:{as_of}:{hashlib.sha256(key_src.encode()).hexdigest()[:16]}",
        link=link, link_text=_("Products at risk (CSV)"),
    )


def mark_alerted(db_url: str, alerts: list[CertAlert], as_of: date) -> None:
    """Remember what was said: the threshold (or INVALID) and the day; closures reset the open alert."""
    Ledger(db_url).certificates.mark_alerted(
        {a.cert_id: None if a.kind in ("closed", "removed") else a.threshold for a in alerts}, as_of)


def alert(store: str, as_of: date, *, config: AeopsConfig | None = None, unreadable: Sequence[str] = (),
          client: Any = None, now: datetime | None = None, marketplace: Any = None,
          run_id: str | None = None, dag_id: str = DAG_ID) -> dict[str, Any]:
    """Post the day's certificate alerts for ``store`` (nothing when nothing is due); returns counts.

    The products at risk are named (:mod:`.alert_listing`) with their live status read from the platform
    (``marketplace``: a client; None: the store's connection; False: do not read it) and listed in full in the
    run's report (``run_id``: the Airflow run; empty: one per ``as_of``), filed under ``dag_id``: the DAG that
    runs the watch (the store's own DAG, or the all-store one), so its link opens for whoever may read that DAG."""

    ctx = context(store, config)
    rows = Ledger(ctx.db_url).certificates.of_store(store)
    risk = exposure(ctx.db_url, store, ctx.store.exports)
    alerts = plan_alerts(rows, as_of, ctx.warn_days, ctx.store.category_certs, risk, ctx.cpc)
    by_id = {r.id: r for r in rows}
    for a in alerts:
        if a.kind == "invalid":
            a.reasons = _problems_of(by_id[a.cert_id], as_of, ctx.store.language)
    summary = {"store": store, "as_of": as_of.isoformat(), "alerts": len(alerts),
               **{k: sum(1 for a in alerts if a.kind == k) for k in KIND_ORDER}}
    if not alerts and not unreadable:
        log.info("%s: no certificate alert due on %s", store, as_of)
        return summary | {"sent": False}
    listing_ctx = RunContext(ctx.config, ctx.store, Ledger(ctx.db_url))
    live = name_products(listing_ctx, alerts, marketplace) if alerts else False
    link = write_listing(listing_ctx, run_id or f"as_of__{as_of.isoformat()}", as_of, alerts, dag_id)
    message = certificate_message(store, as_of, alerts, risk.source, list(unreadable), lang=ctx.store.language,
                                  deadline_days=ctx.cpc[1], link=link)
    message.channel = ctx.store.slack_alerts_channel  # a closure belongs next to the alert it closes
    result = send(message, store=store, config=ctx.config, db_url=ctx.db_url, client=client, now=now)
    if result.outbox_id is None:
        raise CertWatchError(f"{store}: the certificate alert could not be queued for Slack "
                             f"({'; '.join(result.errors)}); nothing was marked as alerted")
    mark_alerted(ctx.db_url, alerts, as_of)
    for a in alerts:
        log.info("%s: %s %s %s (%s)", store, a.kind, a.brand, a.cert_type, _name(a.file))
    return summary | {"sent": True, "delivered": result.delivered, "live_status": live,
                      "products_named": sum(len(a.products) for a in alerts)}
