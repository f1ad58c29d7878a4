"""The products a certificate alert puts at risk, by name: every product of the file's scope (an expired
certificate delists every product of its category, whatever its brand; :func:`aeops.certificates.covered.scope_of`),
the file's own brand's first and marked as the ones the file itself covers: ids and titles (the first 20 in Slack),
how many are live on the platform right now (their status read from it, not assumed ``onSelling``), and a CSV of
all of them with the day's report (``<store>-<run>.html`` / ``-findings.csv`` in the store's reports location,
served by the UI at the run's report address).

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

from aeops.catalog.context import client_for
from aeops.certificates.covered import (
    LIVE,
    SHOWN,
    Covered,
    CoveredProduct,
    apply_statuses,
    csv_text,
    live_statuses,
    products_at_risk,
)
from aeops.i18n import translator
from aeops.locations import folder
from aeops.notify.links import report_url
from aeops.notify.messages import slack_escape
from aeops.rules.documents import type_label
from aeops.secrets import get_logger

log = get_logger(__name__)

DAG_ID = "aliexpress_certificate_expiry"  # the all-store DAG: only when a caller outside Airflow names no DAG
NAMED_KINDS = ("expired", "deadline", "warning")
TITLE_CHARS = 60


def _client(ctx: Any, marketplace: Any) -> Any:
    if marketplace is not None:
        return marketplace or None  # False: do not read the platform

    try:
        return client_for(ctx, max_attempts=2, timeout=15.0)
    except Exception as exc:  # noqa: BLE001 - no connection: the alert goes out with the aeops DB's counts
        log.warning("%s: the platform cannot be read for live statuses (%s)", ctx.store.name, type(exc).__name__)
        return None


def name_products(ctx: Any, alerts: Sequence[Any], marketplace: Any = None) -> bool:
    """Fill ``alert.products`` (every product of the file's scope, its own brand's marked ``covered``; and, with the
    platform's statuses, ``alert.at_risk`` = the live ones and ``alert.live``) for every warning, deadline and
    expiry alert. True when the platform was read."""
    wanted = [a for a in alerts if a.kind in NAMED_KINDS and not a.scope.empty and a.brand and a.covered_by is None]
    if not wanted:
        return False
    for alert in wanted:
        alert.products = products_at_risk(ctx.db_url, ctx.store.name, alert.brand, alert.scope,
                                          ctx.store.exports).products
    client = _client(ctx, marketplace)
    if client is None:
        return False

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


def product_lines(products: Sequence[CoveredProduct], lang: str | None, shown: int = SHOWN,
                  marked: bool = False) -> list[str]:
    """``1005… Title (status)`` for the first ``shown`` products, then "…and N more (CSV)"; ``marked``: each with
    its brand, the file's own (``covered``) ones said so."""
    _ = translator(lang)
    own = _("this file")
    lines = []
    for p in products[:shown]:
        title = p.title if len(p.title) <= TITLE_CHARS else p.title[: TITLE_CHARS - 1] + "…"
        status = f" ({p.status})" if p.status else ""
        brand = ""
        if marked and p.covered:
            brand = f" · *{slack_escape(p.brand)}* ✓ {own}"
        elif marked:
            brand = f" · {slack_escape(p.brand or '?')}"
        lines.append(f"`{p.product_id}` {slack_escape(title)}{status}{brand}")
    if len(products) > shown:
        lines.append(_("…and {n} more: every product is in the CSV").format(n=len(products) - shown))
    return lines



def write_listing(ctx: Any, run_id: str, as_of: date, alerts: Sequence[Any], dag_id: str = DAG_ID) -> str | None:
    """The day's report of the products at risk (HTML and a CSV of all), recorded as the store's run of
    ``dag_id`` (the DAG that runs the watch: ``aliexpress_certificate_expiry__<store>`` on schedule, the
    all-store DAG when triggered by hand); returns its browser link under that DAG (None when no alert names
    products)."""

    named = [a for a in alerts if getattr(a, "products", None)]
    if not named:
        return None
    _ = translator(ctx.store.language)
    ledger = ctx.ledger
    sync_run_id = ledger.runs.start(ctx.store.name, dag_id, run_id, kind="certificates")
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{ctx.store.name}-{run_id}").strip("_")[:120]
    target = folder(ctx.store.reports, Path("reports") / ctx.store.name)
    every: dict[int, CoveredProduct] = {}
    files: dict[int, list[str]] = {}
    for alert in named:
        for product in alert.products:
            every.setdefault(product.product_id, product)
            if product.covered:
                files.setdefault(product.product_id, []).append(alert.file.replace("\\", "/").rsplit("/", 1)[-1])
    (target / f"{stem}-findings.csv").write_text(csv_text((every[k] for k in sorted(every)), files),
                                                 encoding="utf-8")
    sections = []
    # the page's words, translated before they go into the f-strings (the extractor cannot see into one)
    at_risk = html.escape(_("Products at risk"))
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in (
        "product_id", _("Title"), _("Category"), _("Brand"), _("Covered by this file"), _("Status")))
    for alert in named:
        rows = "".join(f"<tr><td>{p.product_id}</td><td>{html.escape(p.title)}</td><td>{html.escape(p.category)}</td>"
                       f"<td>{html.escape(p.brand)}</td><td>{'✔' if p.covered else ''}</td>"
                       f"<td>{html.escape(p.status or '')}</td></tr>" for p in alert.products)
        label = type_label(alert.cert_type, _)
        sections.append(f"<h2>{html.escape(alert.brand)} {html.escape(label)} · {html.escape(alert.kind)} · "
                        f"{html.escape(str(alert.valid_until))}</h2><div style='overflow-x:auto'><table border='1' "
                        f"cellpadding='4'><tr>{heads}</tr>{rows}</table></div>")
    (target / f"{stem}.html").write_text(
        f"<!doctype html><html lang='{html.escape(ctx.store.language)}'><head><meta charset='utf-8'><meta "
        f"name='viewport' content='width=device-width, initial-scale=1'><title>{html.escape(ctx.store.name)} "
        f"{as_of}</title></head><body><h1>{at_risk} · {html.escape(ctx.store.name)} · {as_of}</h1>"
        f"<p><a href='{stem}-findings.csv'>CSV</a></p>{''.join(sections)}</body></html>", encoding="utf-8")
    ledger.runs.update(sync_run_id, status="success", report_path=str(target / f"{stem}.html"),
                       counts={"products_at_risk": len(every)})
    return report_url(ctx.store.name, dag_id, run_id)
