"""The certificate-expiry watch, one store at a time: scan -> registry, then the day's alerts in one Slack message.

:func:`scan` checks every file of the store's ``certs`` location and updates the registry
(:mod:`.registry`); it also fills ``product_state.category/brand`` from the newest export
(:func:`.exposure.backfill_categories`). :func:`alert` decides what is due on ``as_of``
(:mod:`.escalation`), posts one message listing each certificate (brand, type, days left, the categories
needing it, live products at risk, what to do) and records what it said, so tomorrow only new thresholds,
expired certificates (daily) and closures are posted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from aeops.catalog.context import RunContext
from aeops.certificates import alert_schedule
from aeops.certificates.covered import Exposure, categories_needing, exposure
from aeops.config import AeopsConfig, StoreConfig, load_airflow_config
from aeops.i18n import translator
from aeops.notify.messages import slack_escape
from aeops.rules.certs import brand_key
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Certificate

log = get_logger(__name__)

TEXT_BUDGET = 2700  # the Block Kit section holds 3000 characters; the rest is "...and N more"
KIND_ORDER = {"expired": 0, "deadline": 1, "invalid": 2, "warning": 3, "removed": 4, "closed": 5}
ICON = {"expired": ":red_circle:", "deadline": ":red_circle:", "warning": ":warning:", "invalid": ":x:",
        "closed": ":white_check_mark:", "removed": ":heavy_minus_sign:"}


class CertWatchError(RuntimeError):
    """The watch could not do its job for a store; one line saying why."""


@dataclass(frozen=True)
class Ctx:
    config: AeopsConfig
    store: StoreConfig
    db_url: str

    @property
    def warn_days(self) -> list[int]:
        return alert_schedule.thresholds(self.config.cert_warn_days) or [30]

    @property
    def cpc(self) -> tuple[list[int], int]:
        """CPC's earlier warnings and its re-upload deadline (days)."""
        return list(self.config.cert_cpc_warn_days), int(self.config.cert_cpc_deadline_days)


def context(store: str, config: AeopsConfig | None = None) -> Ctx:
    cfg = config or load_airflow_config()
    url = cfg.resolved_database_url()
    Ledger(url)  # the aeops DB's schema brought up to date, once per process
    return Ctx(cfg, cfg.store(store), url)


# ------------------------------------------------------------------------------------------------ scan
def scan(store: str, as_of: date, *, config: AeopsConfig | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Scan the store's certificate folder into the registry; returns counts (and unreadable file names), and the
    replacements requested on the platform (a new file replaced a known certificate: ``aliexpress_certificate_replace``
    takes them up when the watch's Asset is updated)."""
    from aeops.certificates.covered import backfill_categories
    from aeops.certificates.registry import cross_check_scan, request_replacements, scan_folder, update_registry
    from aeops.locations import LocationError

    ctx = context(store, config)
    try:
        scanned = scan_folder(ctx.store.certs, as_of, max(ctx.warn_days), cpc=ctx.cpc)
    except LocationError as exc:
        raise CertWatchError(f"{store}: {exc}") from None
    scanned = cross_check_scan(ctx.db_url, store, scanned, as_of)
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
    products: list[Any] = field(default_factory=list)  # at_risk.CoveredProduct: the products named
    live: bool = False  # at_risk counts the products the platform shows onSelling right now



def _name(file: str) -> str:
    return file.replace("\\", "/").rsplit("/", 1)[-1]


def plan_alerts(rows: list[Certificate], as_of: date, warn_days: list[int],
                category_certs: dict[str, list[str]], risk: Exposure,
                cpc: tuple[list[int], int] = ([60, 45], 30)) -> list[CertAlert]:
    """What is due today for the store's registry ``rows`` (pure: reads rows, changes nothing).

    ``cpc`` is CPC's earlier warnings and its re-upload deadline (:func:`.escalation.thresholds_for`)."""
    by_id = {r.id: r for r in rows}
    usable: dict[tuple[str, str], Certificate] = {}
    for row in rows:
        if row.status in ("valid", "expiring") and row.valid_until is not None:
            key = (brand_key(row.brand), row.cert_type.upper())
            if key not in usable or row.valid_until > (usable[key].valid_until or date.min):
                usable[key] = row
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
        categories = categories_needing(row.cert_type, category_certs) if row.cert_type else []
        successor = by_id.get(row.replaced_by_id) if row.replaced_by_id else None
        cover = usable.get((brand_key(row.brand), row.cert_type.upper())) if kind == "invalid" else None
        alerts.append(CertAlert(
            cert_id=row.id, kind=kind, threshold=threshold, brand=row.brand, cert_type=row.cert_type,
            file=row.file, valid_until=row.valid_until, days_left=days, issuer=row.issuer, categories=categories,
            at_risk=risk.at_risk(row.brand, categories) if row.brand and cover is None else 0,
            successor=(_name(successor.file), successor.valid_until) if successor else None,
            covered_by=(_name(cover.file), cover.valid_until) if cover else None,
        ))
    alerts.sort(key=lambda a: (KIND_ORDER[a.kind], a.days_left if a.days_left is not None else 0, a.brand))
    return alerts


def _problems_of(file: str, as_of: date, lang: str | None = "en", earlier: Sequence[Certificate] = ()) -> list[str]:
    """Why a file is invalid (re-checked now: the registry keeps the verdict, not the reasons), also against the
    ``earlier`` registry rows (the number/issuer cross-check)."""
    from aeops.certificates.registry import to_cert_info
    from aeops.locations import resolve
    from aeops.rules.certs import check_certificate, cross_check

    _ = translator(lang)
    try:
        certificate, findings = check_certificate(resolve(file), as_of)
        if certificate is not None:
            known = [to_cert_info(r, as_of) for r in earlier
                     if r.status not in ("invalid", "removed") and r.valid_until is not None]
            findings += cross_check(certificate, known)
    except Exception as exc:  # noqa: BLE001 - a reason line, never a failed watch
        return [_("cannot be re-checked ({error})").format(error=type(exc).__name__)]
    return [f"`{f.code}` {f.message}" for f in findings if f.code not in ("CERT-EXPIRING", "ERR-412")] or [
        _("no longer invalid on re-check; it will be re-classified at the next scan")]



def _risk_line(alert: CertAlert, source: str, lang: str | None = "en") -> str:
    _ = translator(lang)
    if not alert.categories:
        return _("no configured category needs it (stores[].category_certs)")
    cats = ", ".join(slack_escape(c) for c in alert.categories)
    if alert.covered_by:
        return _("needed by: {categories} · live products at risk: *0*").format(categories=cats)
    if alert.live:
        return _("needed by: {categories} · live products at risk: *{n}* of {total} (status from the platform)"
                 ).format(categories=cats, n=alert.at_risk, total=len(alert.products))
    return _("needed by: {categories} · live products at risk: *{n}* ({source})").format(
        categories=cats, n=alert.at_risk, source=slack_escape(source))


def alert_line(alert: CertAlert, source: str, lang: str | None = "en", deadline_days: int = 30) -> str:
    """The message lines for one certificate (in ``lang``): what, how urgent, what is at risk, what to do."""
    _ = translator(lang)
    who = f"*{slack_escape(alert.brand or '?')} {slack_escape(alert.cert_type or '?')}*"
    name = f"`{slack_escape(_name(alert.file))}`"
    renewal = f"{slack_escape(alert.brand)}_{slack_escape(alert.cert_type)}_<ValidUntilYYYYMMDD>.pdf"
    values = {"who": who, "file": name, "renewal": renewal, "brand": slack_escape(alert.brand),
              "type": slack_escape(alert.cert_type), "until": alert.valid_until, "categories":
              ", ".join(slack_escape(c) for c in alert.categories) or _("its category")}
    if alert.kind == "expired":
        head = _("{who} {file}: *expired* {days} day(s) ago (valid until {until}) · `ERR-412`").format(
            days=-(alert.days_left or 0), **values)
        todo = _("Every product of {categories} by {brand} is delisted until a valid certificate is uploaded: "
                 "upload the renewal in the seller center now and put {renewal} in the certificate folder. "
                 "Repeats daily until then.").format(**values)
    elif alert.kind == "deadline":
        head = _("{who} {file}: *{days} day(s) left* (valid until {until}) · *the re-upload deadline has passed*"
                 ).format(days=alert.days_left, **values)
        todo = _("Toys' CPC must be re-uploaded at least {deadline} days before expiry: upload the renewal in the "
                 "seller center today and put {renewal} in the certificate folder. At expiry every product of "
                 "{categories} is delisted (ERR-412).").format(deadline=deadline_days, **values)
    elif alert.kind == "warning":
        head = _("{who} {file}: *{days} day(s) left* (valid until {until}) · {threshold}").format(
            days=alert.days_left, threshold=alert_schedule.describe(alert.threshold or 0, lang), **values)
        if alert.issuer:
            todo = _("Order the renewal from {issuer} and upload it in the seller center; put {renewal} in the "
                     "certificate folder and this alert closes. At expiry every product of {categories} is "
                     "delisted (ERR-412).").format(issuer=slack_escape(alert.issuer), **values)
        else:
            todo = _("Order the renewal and upload it in the seller center; put {renewal} in the certificate "
                     "folder and this alert closes. At expiry every product of {categories} is delisted "
                     "(ERR-412).").format(**values)
        if alert.cert_type == "CPC":
            todo += " " + _("Toys' CPC must be re-uploaded at least {deadline} days before expiry.").format(
                deadline=deadline_days)
    elif alert.kind == "invalid":
        head = _("{who} {file}: *the file cannot count* as a certificate").format(**values)
        todo = "; ".join(slack_escape(r) for r in alert.reasons) or _("see `aeops certs` on the folder")
        if alert.covered_by:
            cover, until = alert.covered_by
            head += " " + _("(the brand is covered by `{cover}`, valid until {until}: fix or remove this "
                            "file)").format(cover=slack_escape(cover), until=until)
    elif alert.kind == "closed":
        new, until = alert.successor or (_("a newer certificate"), None)
        if until:
            head = _("{who} {file}: *alert closed*, replaced by `{new}` (valid until {new_until})").format(
                new=slack_escape(new), new_until=until, **values)
        else:
            head = _("{who} {file}: *alert closed*, replaced by `{new}`").format(new=slack_escape(new), **values)
        todo = _("Make sure the new certificate is uploaded in the seller center: the platform restores the "
                 "category's rights within 2 hours of the upload.")
    else:  # removed
        head = _("{who} {file}: *no longer in the certificate folder*; its alert stops").format(**values)
        todo = _("If products of {categories} still need a {type} certificate, put the renewal {renewal} "
                 "there.").format(**values)
    lines = [f"• {ICON[alert.kind]} {head}"]
    if alert.kind != "invalid" or alert.categories:
        lines.append(f"      {_risk_line(alert, source, lang)}")
    if alert.products:
        from aeops.certificates.alert_listing import product_lines

        lines += [f"        {line}" for line in product_lines(alert.products, lang)]
    lines.append(f"      → {todo}")
    return "\n".join(lines)


def certificate_message(store: str, as_of: date, alerts: list[CertAlert], source: str,
                        unreadable: Sequence[str] = (), lang: str | None = "en", deadline_days: int = 30,
                        link: str | None = None):
    """One Slack notice (in ``lang``) for the day's certificate alerts (most urgent first; long lists end in
    '...and N more')."""
    from aeops.notify.messages import notice

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
    blocks_text: list[str] = []
    used = 0
    shown = 0
    for alert in alerts:
        line = alert_line(alert, source, lang, deadline_days)
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
          run_id: str | None = None) -> dict[str, Any]:
    """Post the day's certificate alerts for ``store`` (nothing when nothing is due); returns counts.

    The products at risk are named (:mod:`.alert_products`) with their live status read from the platform
    (``marketplace``: a client; None: the store's connection; False: do not read it) and listed in full in the
    run's report (``run_id``: the Airflow run; empty: one per ``as_of``)."""
    from aeops.certificates.alert_listing import name_products, write_listing
    from aeops.notify.send import send

    ctx = context(store, config)
    rows = Ledger(ctx.db_url).certificates.of_store(store)
    risk = exposure(ctx.db_url, store, ctx.store.exports)
    alerts = plan_alerts(rows, as_of, ctx.warn_days, ctx.store.category_certs, risk, ctx.cpc)
    by_id = {r.id: r for r in rows}
    for a in alerts:
        if a.kind == "invalid":
            mine = by_id[a.cert_id]
            earlier = [r for r in rows if (r.first_seen_at, r.id) < (mine.first_seen_at, mine.id)]
            a.reasons = _problems_of(a.file, as_of, ctx.store.language, earlier)
    summary = {"store": store, "as_of": as_of.isoformat(), "alerts": len(alerts),
               **{k: sum(1 for a in alerts if a.kind == k) for k in KIND_ORDER}}
    if not alerts and not unreadable:
        log.info("%s: no certificate alert due on %s", store, as_of)
        return summary | {"sent": False}
    listing_ctx = RunContext(ctx.config, ctx.store, Ledger(ctx.db_url))
    live = name_products(listing_ctx, alerts, marketplace) if alerts else False
    link = write_listing(listing_ctx, run_id or f"as_of__{as_of.isoformat()}", as_of, alerts)
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
