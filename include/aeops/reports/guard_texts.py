"""The export guard's words (:mod:`aeops.sync.export_guard`): its checks, the largest moves and what became of a held
export, in the reader's language, for the approval form, Slack and the run report."""

from __future__ import annotations

from typing import Any

from aeops.i18n import N_, number, percent, translator

_CHECK_TEXT = {
    "changed_prices": N_("{count} of {of} SKUs change price ({value}; the limit is {limit})"),
    "price_move": N_("{count} SKU price(s) move by more than {limit} (the largest move: {value})"),
    "zero_stock": N_("{count} of {of} SKUs in stock drop to zero stock ({value}; the limit is {limit})"),
    "dropped_products": N_("{count} of {of} products of the previous export are missing from this one ({value}; "
                           "the limit is {limit})"),
}


def _pct(value: float, lang: str | None) -> str:
    return percent(value / 100, lang, digits=1 if value % 1 else 0)


def check_lines(checks: list[dict[str, Any]], lang: str | None, *, tripped_only: bool = False) -> list[str]:
    """One line per check in ``lang`` (a crossed threshold marked ⚠)."""
    _ = translator(lang)
    lines = []
    for check in checks:
        if tripped_only and not check["tripped"]:
            continue
        text = _(_CHECK_TEXT[check["check"]]).format(
            count=number(check["count"], lang), of=number(check["of"], lang), value=_pct(check["value"], lang),
            limit=_pct(check["limit"], lang))
        lines.append(("⚠ " if check["tripped"] else "") + text)
    return lines


def move_lines(moves: dict[str, Any], lang: str | None, limit: int = 10) -> list[str]:
    """The largest moves in ``lang``: prices, stocks dropping to zero, products missing."""
    _ = translator(lang)
    lines = []
    for m in (moves.get("prices") or [])[:limit]:
        pct = "-" if m.get("percent") is None else f"{m['percent']:+.1f}%"
        discount = (" · " + _("discount {old} → {new}").format(old=m.get("old_discount") or "-",
                                                               new=m.get("new_discount") or "-")
                    if m.get("old_discount") != m.get("new_discount") else "")
        lines.append(_("product `{pid}` SKU `{sku}`: price {old} → {new} ({move})").format(
            pid=m["product_id"], sku=m["sku_code"], old=m.get("old") or "-", new=m.get("new") or "-", move=pct)
            + discount)
    for m in (moves.get("zero_stock") or [])[:limit]:
        lines.append(_("product `{pid}` SKU `{sku}`: stock {old} → 0").format(
            pid=m["product_id"], sku=m["sku_code"], old=m.get("old")))
    dropped = moves.get("dropped_products") or []
    if dropped:
        lines.append(_("missing from the export: {products}").format(
            products=", ".join(f"`{pid}`" for pid in dropped[:limit])))
    return lines


def decision_text(guard: Any, lang: str | None) -> str | None:
    """What became of a held export, in ``lang`` (None: nothing was held, or a dry run)."""
    if guard is None or not guard.held:
        return None
    _ = translator(lang)
    if guard.dry_run:
        return _("Dry run: the export guard would hold this export (nothing is written in a dry run).")
    if guard.decision == "approved":
        return _("Held by the export guard, approved by {who}: pushed.").format(who=guard.decided_by or "?")
    if guard.decision == "rejected":
        return _("Held by the export guard and rejected by {who}: nothing was written to the marketplace.").format(
            who=guard.decided_by or "?")
    if guard.decision == "timed out":
        return _("Held by the export guard and not answered in time: nothing was written to the marketplace.")
    return _("Held by the export guard: waiting for a person's approval; nothing has been written.")


def guard_context(guard: Any, lang: str | None) -> dict[str, Any] | None:
    """The run report's export guard section (None: the guard held nothing in this run): what became of the export,
    who decided and when, every check and the largest moves (plain text: no Slack code marks)."""
    text = decision_text(guard, lang)
    if text is None:
        return None
    plain = str.maketrans("", "", "`")
    return {"text": text, "decision": guard.decision, "by": guard.decided_by, "at": guard.decided_at,
            "checks": [line.translate(plain) for line in check_lines(guard.checks, lang)],
            "moves": [line.translate(plain) for line in move_lines(guard.moves, lang)]}
