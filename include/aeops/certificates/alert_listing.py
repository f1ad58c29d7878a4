"""The products a certificate alert puts at risk, by name: ids and titles (the first 20 in Slack), how many are
live on the platform right now (their status read from it, not assumed ``onSelling``), and a CSV of all of them
with the day's report (``<store>-<run>.html`` / ``-findings.csv`` in the store's reports location, served by the
UI at the run's report address).

When the platform cannot be read (no connection, an outage) the alert still goes out with the aeops DB's counts
and says where they come from.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from aeops.certificates.covered import LIVE, SHOWN, CoveredProduct, apply_statuses, covered_products, csv_text
from aeops.i18n import translator
from aeops.notify.messages import slack_escape
from aeops.secrets import get_logger

log = get_logger(__name__)

DAG_ID = "aliexpress_certificate_expiry"
NAMED_KINDS = ("expired", "deadline", "warning")
TITLE_CHARS = 60


def _client(ctx: Any, marketplace: Any) -> Any:
    if marketplace is not None:
        return marketplace or None  # False: do not read the platform
    from aeops.catalog.context import client_for

    try:
        return client_for(ctx, max_attempts=2, timeout=15.0)
    except Exception as exc:  # noqa: BLE001 - no connection: the alert goes out with the aeops DB's counts
        log.warning("%s: the platform cannot be read for live statuses (%s)", ctx.store.name, type(exc).__name__)
        return None


def name_products(ctx: Any, alerts: Sequence[Any], marketplace: Any = None) -> bool:
    """Fill ``alert.products`` (and, with the platform's statuses, ``alert.at_risk`` = the live ones and
    ``alert.live``) for every warning, deadline and expiry alert. True when the platform was read."""
    wanted = [a for a in alerts if a.kind in NAMED_KINDS and a.categories and a.brand and a.covered_by is None]
    if not wanted:
        return False
    for alert in wanted:
        alert.products = covered_products(ctx.db_url, ctx.store.name, alert.brand, alert.categories,
                                          ctx.store.exports).products
    client = _client(ctx, marketplace)
    if client is None:
        return False
    from aeops.certificates.covered import Covered, live_statuses

    try:
        statuses = live_statuses(client)
    except Exception as exc:  # noqa: BLE001 - an outage: the aeops DB's counts, said so
        log.warning("%s: live statuses not read (%s: %s)", ctx.store.name, type(exc).__name__, exc)
        return False
    for alert in wanted:
        apply_statuses(Covered(alert.products), statuses)
        alert.at_risk = sum(1 for p in alert.products if p.status == LIVE)
        alert.live = True
    log.info("%s: live statuses of %d product(s) read from the platform", ctx.store.name,
             sum(len(a.products) for a in wanted))
    return True


def product_lines(products: Sequence[CoveredProduct], lang: str | None, shown: int = SHOWN) -> list[str]:
    """``1005… Title (status)`` for the first ``shown`` products, then "…and N more (CSV)"."""
    _ = translator(lang)
    lines = []
    for p in products[:shown]:
        title = p.title if len(p.title) <= TITLE_CHARS else p.title[: TITLE_CHARS - 1] + "…"
        status = f" ({p.status})" if p.status else ""
        lines.append(f"`{p.product_id}` {slack_escape(title)}{status}")
    if len(products) > shown:
        lines.append(_("…and {n} more: every product is in the CSV").format(n=len(products) - shown))
    return lines



def write_listing(ctx: Any, run_id: str, as_of: date, alerts: Sequence[Any]) -> str | None:
    """The day's report of the products at risk (HTML and a CSV of all), recorded as the watch's run of the
    store; returns its browser link (None when no alert names products)."""
    from aeops.locations import folder
    from aeops.notify.links import report_url

    named = [a for a in alerts if getattr(a, "products", None)]
    if not named:
        return None
    _ = translator(ctx.store.language)
    ledger = ctx.ledger
    sync_run_id = ledger.runs.start(ctx.store.name, DAG_ID, run_id, kind="certificates")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{ctx.store.name}-{run_id}").strip("_")[:120]
    target = folder(ctx.store.reports, Path("reports") / ctx.store.name)
    every: dict[int, CoveredProduct] = {}
    for alert in named:
        for product in alert.products:
            every.setdefault(product.product_id, product)
    (target / f"{stem}-findings.csv").write_text(csv_text(every[k] for k in sorted(every)), encoding="utf-8")
    sections = []
    # the page's words, translated before they go into the f-strings (the extractor cannot see into one)
    title, category, status, at_risk = (html.escape(w) for w in (_("Title"), _("Category"), _("Status"),
                                                                  _("Products at risk")))
    for alert in named:
        rows = "".join(f"<tr><td>{p.product_id}</td><td>{html.escape(p.title)}</td><td>{html.escape(p.category)}</td>"
                       f"<td>{html.escape(p.status or '')}</td></tr>" for p in alert.products)
        sections.append(f"<h2>{html.escape(alert.brand)} {html.escape(alert.cert_type)} · {html.escape(alert.kind)}"
                        f" · {html.escape(str(alert.valid_until))}</h2><div style='overflow-x:auto'><table "
                        f"border='1' cellpadding='4'><tr><th>product_id</th><th>{title}</th><th>{category}</th>"
                        f"<th>{status}</th></tr>{rows}</table></div>")
    (target / f"{stem}.html").write_text(
        f"<!doctype html><html lang='{html.escape(ctx.store.language)}'><head><meta charset='utf-8'><meta "
        f"name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(ctx.store.name)} "
        f"{as_of}</title></head><body><h1>{at_risk} · {html.escape(ctx.store.name)} · {as_of}</h1>"
        f"<p><a href='{stem}-findings.csv'>CSV</a></p>{''.join(sections)}</body></html>", encoding="utf-8")
    ledger.runs.update(sync_run_id, status="success", report_path=str(target / f"{stem}.html"),
                       counts={"products_at_risk": len(every)})
    return report_url(ctx.store.name, DAG_ID, run_id)
