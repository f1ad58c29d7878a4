"""A certificate replacement's end: each product ``onSelling`` again with the new qualification image (polled by a
reschedule-mode sensor within ``cert_replace_restore_minutes``, the guide's 2 hours), then the report (HTML and
CSV in the store's reports location, served by the UI at the run's report address) and one Slack message:
products restored, and those not restored with the platform's reason. An upload a person rejected (or nobody
approved in time) ends ``declined``: nothing was uploaded; the run fails only when nobody answered.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aeops.catalog.account import Decision
from aeops.catalog.context import client_for
from aeops.catalog.main_image_match import same_image_url
from aeops.catalog.timestamps import aware
from aeops.certificates.covered import CoveredProduct, csv_text
from aeops.certificates.replacement import DAG_ID, KIND, Replacement, dry_run_of, load, sync_run_id_of, update
from aeops.config import AeopsConfig
from aeops.i18n import translator
from aeops.locations import folder
from aeops.marketplace.interface import MarketplaceClient
from aeops.notify.finding_texts import finding_message
from aeops.notify.links import report_url
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.secrets import get_logger
from aeops.store.status import ChangeStatus

log = get_logger(__name__)

SHOWN = 20
FINAL = ("restored", "partial", "failed", "rejected", "refused", "declined", "no_products", "dry_run")


class ReplacementFailed(RuntimeError):
    """The replacement did not restore every product (or its certificate was rejected); the message says why."""



def deadline_of(rep: Replacement, changes: list[Any]) -> datetime:
    """When the products must be back: the last write's time plus ``cert_replace_restore_minutes``."""
    sent = [aware(c.pushed_at) for c in changes if c.pushed_at] or [aware(rep.row.requested_at)]
    return max(sent) + timedelta(minutes=rep.ctx.config.cert_replace_restore_minutes)


def poke(rid: int, *, client: MarketplaceClient | None = None, config: AeopsConfig | None = None,
         now: datetime | None = None) -> bool:
    """One look at the products written: True when every confirmed one is ``onSelling`` with the new image, or the
    deadline has passed (the report says which are not restored); False to be poked again later."""
    rep = load(rid, config)
    if rep.row.status != "running" or rep.row.sync_run_id is None or dry_run_of(rep):
        return True
    now = now or datetime.now(UTC)
    changes = [c for c in rep.ctx.ledger.changes.of_run(rep.row.sync_run_id) if c.kind == KIND]
    restore = dict(rep.detail.get("restore") or {})
    todo = [c for c in changes if c.status == ChangeStatus.CONFIRMED and not (restore.get(str(c.product_id)) or {})
            .get("restored")]
    client = client or client_for(rep.ctx) if todo else client
    for change in todo:
        entry = change.payload["qualification"]
        try:
            product = client.get_product(change.product_id)
        except Exception as exc:  # noqa: BLE001 - one unreadable product waits for the next poke
            restore[str(change.product_id)] = {"restored": False, "status": "unknown",
                                               "reason": f"not readable ({type(exc).__name__})"}
            continue
        current = product.qualification(entry["key"])
        has_image = current is not None and same_image_url(current.value, entry["value"])
        restored = has_image and product.status == "onSelling"
        reason = None if restored else (product.offline_reason or product.audit_reason or (
            "the product does not show the new qualification image" if not has_image else None))
        restore[str(change.product_id)] = {"restored": restored, "status": product.status, "reason": reason,
                                           "checked_at": now.isoformat()}
    update(rep, detail={"restore": restore})
    left = [c.product_id for c in changes if c.status == ChangeStatus.CONFIRMED
            and not restore.get(str(c.product_id), {}).get("restored")]
    late = now >= deadline_of(rep, changes)
    log.info("%s: %d product(s) not onSelling with the new certificate yet%s", rep.row.store, len(left),
             " (deadline passed)" if late and left else "")
    return not left or late


# ------------------------------------------------------------------------------------------------- report
def outcome(rep: Replacement) -> dict[str, Any]:
    """Per product: restored or not, and why (the push's error, the platform's status and reason)."""
    products = {int(p["product_id"]): p for p in rep.detail.get("products") or []}
    restore = rep.detail.get("restore") or {}
    changes = {c.product_id: c for c in rep.ctx.ledger.changes.of_run(rep.row.sync_run_id)} if rep.row.sync_run_id \
        else {}
    rows = []
    for pid, product in sorted(products.items()):
        change, seen = changes.get(pid), restore.get(str(pid)) or {}
        if change is None:
            keys = rep.detail.get("keys") or {}
            reason = ("dry run: nothing written" if dry_run_of(rep) else
                      "the category has no qualification key for the certificate type"
                      if keys.get(product.get("category")) is None and keys else "not written")
            rows.append({**product, "restored": False, "status": product.get("status_before"), "reason": reason})
            continue
        if change.status == ChangeStatus.FAILED:
            reason = f"{change.error_code or ''} {change.error_message or ''}".strip()
        elif change.status != ChangeStatus.CONFIRMED:
            reason = f"write {change.status}"
        else:
            reason = seen.get("reason") or ("not onSelling within the restore time" if not seen.get("restored")
                                            else None)
        rows.append({**product, "restored": bool(seen.get("restored")), "status": seen.get("status"),
                     "reason": reason})
    restored = [r for r in rows if r["restored"]]
    return {"rows": rows, "restored": restored, "not_restored": [r for r in rows if not r["restored"]]}


def _verdict(rep: Replacement, result: dict[str, Any]) -> str:
    if rep.row.status in ("rejected", "refused", "declined", "no_products"):
        return rep.row.status
    if dry_run_of(rep):
        return "dry_run"
    if not result["rows"]:
        return "no_products"
    if not result["not_restored"]:
        return "restored"
    return "partial" if result["restored"] else "failed"


def report(rid: int, *, config: AeopsConfig | None = None, client: Any = None) -> dict[str, Any]:
    """The verdict, the report files, the registry's record and one Slack message; ReplacementFailed (after the
    message) when the certificate was rejected or a product was not restored."""
    rep = load(rid, config)
    result = outcome(rep)
    status = _verdict(rep, result)
    now = datetime.now(UTC)
    link = None
    if rep.row.sync_run_id is not None:
        link = _write_report(rep, result, status)
        run_status = {"restored": "success", "dry_run": "dry_run", "partial": "partial"}.get(status, "failed")
        rep.ctx.ledger.runs.update(rep.row.sync_run_id, status=run_status, finished_at=now,
                                   counts={"restored": len(result["restored"]),
                                          "not_restored": len(result["not_restored"])})
    rep = update(rep, status=status, finished_at=rep.row.finished_at or now,
                 detail={"restored": len(result["restored"]), "not_restored": len(result["not_restored"])})
    _send(rep, result, status, link, client)
    summary = {"rid": rid, "store": rep.row.store, "status": status, "restored": len(result["restored"]),
               "not_restored": len(result["not_restored"])}
    log.info("%s: certificate replacement %s", rep.row.store, summary)
    if status in ("rejected", "refused", "partial", "failed") or (status == "declined"
                                                                   and _decision(rep) == "timed out"):
        raise ReplacementFailed(_why(rep, result, status))
    return summary


def _decision(rep: Replacement) -> str | None:
    return (rep.detail.get("approval") or {}).get("decision")


def _why(rep: Replacement, result: dict[str, Any], status: str) -> str:
    if status == "rejected":
        codes = ", ".join(f"{f['code']}: {f['message']}" for f in rep.detail.get("findings") or [])
        return f"{rep.row.store}: certificate {rep.row.new_file} rejected, nothing uploaded ({codes})"
    if status == "refused":
        return (f"{rep.row.store}: certificate replacement refused, nothing uploaded or attached: "
                f"{rep.detail.get('refused')}")
    if status == "declined":
        return (f"{rep.row.store}: nobody approved the upload of {rep.row.new_file} in time, nothing uploaded "
                f"({'; '.join((rep.detail.get('approval') or {}).get('changes') or [])}); trigger the DAG again "
                "with it to be asked again")
    return (f"{rep.row.store}: {len(result['not_restored'])} of {len(result['rows'])} product(s) not restored by "
            f"the {rep.row.brand} {rep.row.cert_type} certificate")


def _write_report(rep: Replacement, result: dict[str, Any], status: str) -> str | None:
    """``<store>-<run>.html`` and its CSV (the names the UI serves); returns the report's browser link."""

    run_id = sync_run_id_of(rep)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{rep.row.store}-{run_id}").strip("_")[:120]
    target = folder(rep.ctx.store.reports, Path("reports") / rep.row.store)
    products = [CoveredProduct(r["product_id"], r.get("title") or "", r.get("category") or "", r.get("status"),
                               r.get("reason")) for r in result["rows"]]
    (target / f"{stem}-findings.csv").write_text(csv_text(products), encoding="utf-8")
    (target / f"{stem}.html").write_text(_html(rep, result, status, f"{stem}-findings.csv"), encoding="utf-8")
    rep.ctx.ledger.runs.update(rep.row.sync_run_id, report_path=str(target / f"{stem}.html"))
    return report_url(rep.row.store, DAG_ID, run_id)


def _html(rep: Replacement, result: dict[str, Any], status: str, csv_name: str) -> str:
    _ = translator(rep.ctx.store.language)
    esc = html.escape
    rows = "".join(
        f"<tr><td>{r['product_id']}</td><td>{esc(r.get('title') or '')}</td><td>{esc(r.get('status') or '')}</td>"
        f"<td>{'✔' if r['restored'] else '✘'}</td><td>{esc(r.get('reason') or '')}</td></tr>" for r in result["rows"])
    # the page's words, translated before they go into the f-string (the extractor cannot see into one)
    t = {key: esc(text) for key, text in {
        "title": _("Certificate replacement"), "status": _("Status"), "reason": _("Reason"), "old": _("Old file"),
        "new": _("New file"), "image": _("Qualification image"), "product": _("Title"), "restored": _("Restored"),
    }.items()}
    return (f"<!doctype html><html lang='{esc(rep.ctx.store.language)}'><head><meta charset='utf-8'><meta "
            f"name='viewport' content='width=device-width, initial-scale=1'><title>{esc(rep.row.store)} "
            f"{esc(rep.row.brand)} {esc(rep.row.cert_type)}</title></head><body><h1>{t['title']}: "
            f"{esc(rep.row.brand)} {esc(rep.row.cert_type)}</h1>"
            f"<p>{t['status']}: <b>{esc(status)}</b> · {t['reason']}: {esc(rep.row.reason)}</p>"
            f"<p>{t['old']}: {esc(rep.row.old_file or '-')}<br>{t['new']}: "
            f"{esc(rep.row.new_file)}<br>{t['image']}: {esc(rep.row.photobank_url or '-')}</p>"
            f"<p><a href='{esc(csv_name)}'>CSV</a></p><div style='overflow-x:auto'><table border='1' cellpadding='4'>"
            f"<tr><th>product_id</th><th>{t['product']}</th><th>{t['status']}</th><th>{t['restored']}</th>"
            f"<th>{t['reason']}</th></tr>{rows}</table></div></body></html>")


def _send(rep: Replacement, result: dict[str, Any], status: str, link: str | None, client: Any) -> None:
    _ = translator(rep.ctx.store.language)
    who = f"{rep.row.brand or '?'} {rep.row.cert_type or '?'}"
    titles = {"restored": _("Certificate replaced: {who}, every product restored"),
              "partial": _("Certificate replaced: {who}, some products NOT restored"),
              "failed": _("Certificate replacement FAILED: {who}"),
              "rejected": _("Certificate rejected, nothing uploaded: {who}"),
              "refused": _("Certificate replacement refused, nothing uploaded or attached: {who}"),
              "declined": _("Certificate not uploaded, not approved: {who}"),
              "no_products": _("Certificate replacement: {who}, nothing to write"),
              "dry_run": _("Certificate replacement (dry run): {who}")}
    lines = [_("File: `{new}` (replaces `{old}`) · reason: {reason}").format(
        new=rep.row.new_file.rsplit("/", 1)[-1], old=(rep.row.old_file or "-").rsplit("/", 1)[-1],
        reason=rep.row.reason)]
    if status == "rejected":
        lines += [f"• `{f['code']}` {finding_message(f, rep.ctx.store.language)}"
                  for f in rep.detail.get("findings") or []]
    elif status == "refused":
        lines.append(Decision.from_dict(rep.detail.get("decision") or {"reason": "unstated"}).text(
            rep.ctx.store.language))
    elif status == "declined":
        approval = rep.detail.get("approval") or {}
        lines += [f"• {c}" for c in approval.get("changes") or []]
        if approval.get("by"):
            lines.append(_("Rejected by {who}: nothing uploaded or attached; the previous certificate stays in force."
                           ).format(who=approval["by"]))
        else:
            lines.append(_("Nobody answered in time: nothing uploaded or attached. Trigger the DAG again with the "
                           "file to be asked again."))
    elif status == "no_products":
        lines.append(rep.detail.get("nothing") or "")
    else:
        for item in result["not_restored"][:SHOWN]:
            lines.append(_("• {id} {title}: {status} ({reason})").format(
                id=item["product_id"], title=item.get("title") or "", status=item.get("status") or "?",
                reason=item.get("reason") or "-"))
        if len(result["not_restored"]) > SHOWN:
            lines.append(_("…and {n} more in the report's CSV").format(n=len(result["not_restored"]) - SHOWN))
    if status == "dry_run" and (rep.detail.get("approval") or {}).get("needed"):
        lines.append(_("A real run would wait for a person's approval before the upload: {changes}").format(
            changes="; ".join(rep.detail["approval"].get("changes") or [])))
    severity = "info" if status in ("restored", "no_products", "dry_run") else "warning" if status == "declined" \
        else "error"
    message = notice(title=titles[status].format(who=who), text="\n".join(lines), store=rep.row.store,
                     severity=severity, link=link, link_text=_("Report"),
                     fields={_("Products restored"): len(result["restored"]),
                             _("Not restored"): len(result["not_restored"])},
                     dedupe_key=f"cert-replace:{rep.row.store}:{rep.row.id}:{status}")
    send(message, store=rep.row.store, config=rep.ctx.config, db_url=rep.ctx.db_url, client=client)
