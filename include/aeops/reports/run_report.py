"""The per-run report: an HTML page a person reads and a CSV of every finding, per store and run.

Written to the store's ``reports`` location (an ObjectStoragePath URL or a folder; default
``$AIRFLOW_HOME/reports/<store>``) as ``<store>-<run id>.html`` and ``<store>-<run id>-findings.csv``.
Only SKU, field and message leave the export: never whole rows, never credentials (every printed value goes
through :mod:`aeops.secrets`).
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from aeops import locations
from aeops.catalog.ledger import Ledger
from aeops.catalog.status import OPEN, ChangeStatus
from aeops.secrets import redact, redact_value

CSV_COLUMNS = ("code", "severity", "file", "row", "product_id", "sku_code", "field", "message")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120]


def _masked(value: Any) -> Any:
    """Every value the template prints goes through the secret registry (an error text may quote a token)."""
    return redact(value) if isinstance(value, str) else value


def render_html(context: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("aeops.reports", "templates"), autoescape=select_autoescape(["html"]),
                      finalize=_masked)
    return env.get_template("run_report.html").render(**context)


def findings_csv(findings: list[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow(redact_value([getattr(f, c) if getattr(f, c) is not None else "" for c in CSV_COLUMNS]))
    return buffer.getvalue()


def verification_context(ledger: Ledger, sync_run_id: int) -> dict[str, Any]:
    """Post-update verification: problems still seen at the deadline, and how many resolved while polling."""
    results = ledger.results_of_run(sync_run_id)
    return {"verify_failures": [r for r in results if not r.passed],
            "verify_resolved": len({r.product_id for r in results if r.passed}
                                   - {r.product_id for r in results if not r.passed})}


def review_context(changes: list[Any], counts: dict[str, Any]) -> list[dict[str, Any]]:
    """Products whose new main image went through the marketplace review: refused (with the platform's reason),
    still in review, or passed."""
    overdue = set(((counts or {}).get("review_overdue")) or [])
    rows = []
    for c in changes:
        if c.kind != "edit" or "main_image" not in ((c.payload or {}).get("fields") or {}):
            continue
        if c.status == ChangeStatus.FAILED and c.error_code == "editingRequired":
            rows.append({"product_id": c.product_id, "status": "editingRequired (refused)", "reason": c.error_message})
        elif c.status == ChangeStatus.IN_REVIEW:
            late = " (past the 2-hour review time)" if c.product_id in overdue else ""
            rows.append({"product_id": c.product_id, "status": "auditing" + late, "reason": ""})
        elif c.status in (ChangeStatus.CONFIRMED, ChangeStatus.VERIFIED, ChangeStatus.VERIFY_FAILED):
            rows.append({"product_id": c.product_id, "status": "onSelling (passed)", "reason": ""})
    return rows


def write_run_report(ledger: Ledger, sync_run_id: int, location: str | None) -> dict[str, str]:
    """Write the HTML and CSV report of one store's run; returns their locations."""
    run = ledger.get_run(sync_run_id)
    findings = ledger.findings_of_run(sync_run_id)
    changes = ledger.changes_of_run(sync_run_id)
    by_code = Counter(f.code for f in findings)
    context = {
        "run": run,
        "counts": run.counts or {},
        "by_code": sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])),
        "rejected": [f for f in findings if f.severity == "error"],
        "warnings": [f for f in findings if f.severity != "error"],
        "failures": [c for c in changes if c.status in (*OPEN, ChangeStatus.FAILED, ChangeStatus.UNPUSHABLE)],
        "changes": Counter((c.kind, c.status) for c in changes),
        "reviews": review_context(changes, (run.artifacts or {}).get("verify") or {}),
        **verification_context(ledger, sync_run_id),
    }
    folder = locations.folder(location, Path(os.environ.get("AIRFLOW_HOME", ".")) / "reports" / run.store)
    stem = _safe(f"{run.store}-{run.run_id}")
    html_path, csv_path = folder / f"{stem}.html", folder / f"{stem}-findings.csv"
    html_path.write_text(render_html({**context, "csv_name": csv_path.name}), encoding="utf-8")
    csv_path.write_text(findings_csv(findings), encoding="utf-8")
    return {"html": str(html_path), "csv": str(csv_path)}
