"""The per-run report: an HTML page a person reads and a CSV of every finding, per store and run.

Written to the store's ``reports`` location (an ObjectStoragePath URL or a folder; default
``$AIRFLOW_HOME/reports/<store>``) as ``<store>-<run id>.html`` and ``<store>-<run id>-findings.csv``.
Only SKU, field and message leave the export: never whole rows, never credentials.
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

from aeops.sync import ledger

CSV_COLUMNS = ("code", "severity", "file", "row", "product_id", "sku_code", "field", "message")


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120]


def _target(location: str | None, store: str) -> Any:
    if not location:
        return Path(os.environ.get("AIRFLOW_HOME", ".")) / "reports" / store
    if location.startswith("file://"):
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(location).path))
    if "://" in location:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(location)
    return Path(location)


def render_html(context: dict[str, Any]) -> str:
    env = Environment(loader=PackageLoader("aeops.reports", "templates"), autoescape=select_autoescape(["html"]))
    return env.get_template("run_report.html").render(**context)


def findings_csv(findings: list[Any]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for f in findings:
        writer.writerow([getattr(f, c) if getattr(f, c) is not None else "" for c in CSV_COLUMNS])
    return buffer.getvalue()


def verification_context(db_url: str, sync_run_id: int) -> dict[str, Any]:
    """Post-update verification: problems still seen at the deadline, and how many resolved while polling."""
    from aeops.verify.records import results_of_run

    results = results_of_run(db_url, sync_run_id)
    return {"verify_failures": [r for r in results if not r.passed],
            "verify_resolved": len({r.product_id for r in results if r.passed}
                                   - {r.product_id for r in results if not r.passed})}


def write_run_report(db_url: str, sync_run_id: int, location: str | None) -> dict[str, str]:
    """Write the HTML and CSV report of one store's run; returns their locations."""
    run = ledger.get_run(db_url, sync_run_id)
    findings = ledger.findings_of_run(db_url, sync_run_id)
    changes = ledger.changes_of_run(db_url, sync_run_id)
    by_code = Counter(f.code for f in findings)
    context = {
        "run": run,
        "counts": run.counts or {},
        "by_code": sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0])),
        "rejected": [f for f in findings if f.severity == "error"],
        "warnings": [f for f in findings if f.severity != "error"],
        "failures": [c for c in changes if c.status in ("failed", "unpushable", "unknown", "planned", "sending")],
        "changes": Counter((c.kind, c.status) for c in changes),
        **verification_context(db_url, sync_run_id),
    }
    folder = _target(location, run.store)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _safe(f"{run.store}-{run.run_id}")
    html_path, csv_path = folder / f"{stem}.html", folder / f"{stem}-findings.csv"
    html_path.write_text(render_html({**context, "csv_name": csv_path.name}), encoding="utf-8")
    csv_path.write_text(findings_csv(findings), encoding="utf-8")
    return {"html": str(html_path), "csv": str(csv_path)}
