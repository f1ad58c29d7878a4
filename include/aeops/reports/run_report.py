"""The per-run report: an HTML page a person reads in the store's language, and a CSV of every finding.

Written to the store's ``reports`` location (an ObjectStoragePath URL or a folder; default
``$AIRFLOW_HOME/reports/<store>``) as ``<store>-<run id>.html`` and ``<store>-<run id>-findings.csv``; the UI
plugin serves both at a stable URL (:func:`aeops.notify.links.report_url`).

The page opens with a headline readable in five seconds ("40 products updated and verified on 3 devices x 5
sites; 42 rows need your attention, 5 of them images"), a status colour, a chart of the findings by code with
what to do about each, previews of the rejected and auto-fixed images (before/after), and every row that needs
a person, linked to the product's storefront page; times are in the store's time zone. It has no script and
fetches nothing: charts are inline SVG, previews ``data:`` images (:mod:`.thumbnails`).

The CSV is UTF-8 with a byte-order mark, so Excel on a Chinese Windows opens it without garbling; its columns
are the finding contract (``code, severity, file, row, product_id, sku_code, field``), ``message`` (what is wrong)
and ``what_to_do`` (what to do about that cause) in the store's language, and ``message_en``: the finding's English
message, the same as ``aeops validate --json`` gives, for tooling. Only SKU, field and message leave the export:
never whole rows, never credentials (every printed value goes through :mod:`aeops.secrets`).
"""

from __future__ import annotations

import io
import os
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from aeops import csvsafe, locations
from aeops.catalog.account import standing_of
from aeops.config import StoreConfig
from aeops.i18n import ngettext, translator
from aeops.notify import pages
from aeops.notify.finding_texts import finding_problem, finding_todo
from aeops.notify.links import is_browser_link, task_log_url
from aeops.reports import charts, labels, thumbnails
from aeops.reports.deadline_text import clock_text
from aeops.reports.guard_texts import guard_context
from aeops.reports.render import render
from aeops.secrets import redact_value
from aeops.store.ledger import Ledger
from aeops.store.status import OPEN, VERIFIABLE, ChangeStatus

CSV_COLUMNS = ("code", "severity", "file", "row", "product_id", "sku_code", "field", "message")
CSV_HEADER = (*CSV_COLUMNS, "what_to_do", "message_en")
"""The CSV's columns: ``message`` and ``what_to_do`` in the store's language, ``message_en`` in English."""
CSV_ENCODING = "utf-8-sig"  # UTF-8 with BOM: Excel (Chinese Windows included) reads it as UTF-8
IMAGE_CODES = frozenset({"IMG-MISSING", "IMG-UNREADABLE", "IMG-TOO-BIG", "ERR-207", "IMG-TRANSPARENT",
                         "IMG-BACKGROUND"})
MAX_PREVIEWS = 48  # rejected images with a preview (the rest are listed by name)
MAX_FIXED_PREVIEWS = 24


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")[:120]


def report_names(store: str, run_id: str) -> tuple[str, str]:
    """The file names of a run's report and findings CSV in the store's reports folder."""
    stem = _safe(f"{store}-{run_id}")
    return f"{stem}.html", f"{stem}-findings.csv"


def findings_csv(findings: Sequence[Any], lang: str | None = "en") -> str:
    """The findings as CSV text (write it with :data:`CSV_ENCODING`; columns :data:`CSV_HEADER`)."""
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)  # a cell starting with = + - @ is written as text (aeops.csvsafe, docs/ui.md)
    writer.writerow(CSV_HEADER)
    for f in findings:
        values = [getattr(f, c) if getattr(f, c) is not None else "" for c in CSV_COLUMNS[:-1]]
        writer.writerow(redact_value([*values, finding_problem(f, lang), finding_todo(f, lang) or "", f.message]))
    return buffer.getvalue()


def todos(findings: Sequence[Any], lang: str | None, limit: int = 3) -> list[str]:
    """What to do about these findings, one line per distinct cause (at most ``limit``), in ``lang``."""
    found: list[str] = []
    for f in findings:
        todo = finding_todo(f, lang)
        if todo and todo not in found:
            found.append(todo)
            if len(found) == limit:
                break
    return found


def verification_context(ledger: Ledger, sync_run_id: int) -> dict[str, Any]:
    """Post-update verification: problems still seen at the deadline, and how many resolved while polling."""
    results = ledger.verification.results(sync_run_id)
    return {"verify_failures": [r for r in results if not r.passed],
            "verify_resolved": len({r.product_id for r in results if r.passed}
                                   - {r.product_id for r in results if not r.passed})}


# ------------------------------------------------------------------------------------------------ headline
def product_outcomes(changes: Sequence[Any]) -> dict[str, int]:
    """Distinct products by outcome: ``updated`` (the marketplace has the change), ``verified`` (every change of
    the product seen on the storefront), ``failed`` (a change failed, was lost or cannot be pushed), ``open``."""
    by_product: dict[int, set[str]] = defaultdict(set)
    for c in changes:
        by_product[c.product_id].add(str(c.status))
    updated = {p for p, s in by_product.items() if s & {str(x) for x in VERIFIABLE}}
    verified = {p for p, s in by_product.items() if s == {str(ChangeStatus.VERIFIED)}}
    failed = {p for p, s in by_product.items()
              if s & {str(ChangeStatus.FAILED), str(ChangeStatus.UNPUSHABLE)}}
    still_open = {p for p, s in by_product.items() if s & {str(x) for x in OPEN}} - failed
    return {"updated": len(updated), "verified": len(verified), "failed": len(failed), "open": len(still_open)}


def attention_rows(findings: Sequence[Any]) -> tuple[int, int]:
    """(rows blocked by an error finding, how many of them by an image problem)."""
    rows = {f.row for f in findings if f.severity == "error" and f.row is not None}
    image_rows = {f.row for f in findings if f.severity == "error" and f.row is not None and f.code in IMAGE_CODES}
    return len(rows), len(image_rows)


def skip_reason(ledger: Ledger, run: Any, lang: str | None) -> str | None:
    """Why a skipped run did nothing, in ``lang`` (its export was already synced); the run's stored message for
    anything else."""
    export = ledger.runs.export(run.export_id) if run.status == "skipped" and run.export_id else None
    if export is None:
        return run.message
    _ = translator(lang)
    return _("export {file} (sha256 {sha}) was already synced; trigger with force=true to sync it again").format(
        file=export.path, sha=export.sha256[:12])


def headline(run: Any, findings: Sequence[Any], lang: str | None, sites: Sequence[str] = (),
             changes: Sequence[Any] | None = None, reason: str | None = None) -> str:
    """The report's first sentence, in ``lang``: what was done and what needs a person (``reason``: why a skipped
    run did nothing, in ``lang``; else the run's message)."""
    _, n_ = translator(lang), ngettext(lang)
    counts = run.counts or {}
    rows, image_rows = attention_rows(findings)
    if rows:
        attention = n_("{n} row needs your attention", "{n} rows need your attention", rows).format(n=rows)
        if image_rows:
            attention += n_(", {n} of them an image", ", {n} of them images", image_rows).format(n=image_rows)
    else:
        attention = _("no row needs your attention")
    if run.status == "skipped":
        return _("Nothing to do: {reason}").format(reason=reason or run.message or
                                                   _("this export was already synced"))
    if run.status == "failed" and not counts.get("pushed"):
        return _("The run stopped before anything was pushed; {attention}.").format(attention=attention)
    outcome = product_outcomes(changes) if changes is not None else {
        "updated": int(counts.get("confirmed", 0)), "verified": int(counts.get("verified", 0)),
        "failed": int(counts.get("failed", 0)) + int(counts.get("unpushable", 0)), "open": int(counts.get("open", 0))}
    if run.status == "rejected":
        return _("Nothing was written to the marketplace: the export guard held this export and it was not "
                 "approved; {attention}.").format(attention=attention)
    if run.status == "dry_run":
        planned = int(counts.get("changed_products") or sum(
            v for k, v in counts.items() if k.startswith("planned_") and k != "planned_unpushable"))
        done = n_("Dry run: {n} product would change, nothing was written",
                  "Dry run: {n} products would change, nothing was written", planned).format(n=planned)
        if counts.get("guard_held"):
            done += "; " + _("the export guard would hold this export for a person's approval")
        return _("{done}; {attention}.").format(done=done, attention=attention)
    grid = counts.get("verify_grid") or []
    devices, n_sites = (grid + [None, None])[:2] if grid else (None, len(sites) or None)
    updated, verified = outcome["updated"], outcome["verified"]
    if updated == 0:
        done = _("No product needed an update")
    elif devices and verified == updated:
        done = n_("{n} product updated and verified on {devices} devices × {sites} sites",
                  "{n} products updated and verified on {devices} devices × {sites} sites", updated).format(
            n=updated, devices=devices, sites=n_sites)
    elif devices:
        done = n_("{n} product updated, {verified} verified on {devices} devices × {sites} sites",
                  "{n} products updated, {verified} verified on {devices} devices × {sites} sites", updated).format(
            n=updated, verified=verified, devices=devices, sites=n_sites)
    else:
        done = n_("{n} product updated (not verified)", "{n} products updated (not verified)", updated).format(
            n=updated)
    if outcome["failed"]:
        done += n_("; {n} product could not be updated", "; {n} products could not be updated",
                   outcome["failed"]).format(n=outcome["failed"])
    return _("{done}; {attention}.").format(done=done, attention=attention)


# ----------------------------------------------------------------------------------------------- previews
def image_previews(findings: Sequence[Any], fixed: dict[str, str], images_dir: str | None,
                   lang: str | None) -> dict[str, list[dict[str, Any]]]:
    """Previews of rejected images (one per source file) and before/after pairs of auto-fixed ones."""
    by_source: dict[str, list[Any]] = defaultdict(list)
    for f in findings:
        if f.severity == "error" and f.code in IMAGE_CODES and f.file:
            by_source[f.file].append(f)
    rejected = []
    for source, items in sorted(by_source.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        codes = sorted({f.code for f in items})
        path = thumbnails.local_image(source, images_dir) if len(rejected) < MAX_PREVIEWS else None
        background = "checker" if "IMG-TRANSPARENT" in codes else "white"
        rejected.append({"name": PurePosixPath(source.replace("\\", "/")).name or source, "codes": codes,
                         "rows": sorted({f.row for f in items if f.row is not None}),
                         "advice": todos(items, lang),
                         "thumb": thumbnails.thumbnail(path, background=background) if path else None})
    pairs = []
    for source, url in sorted(fixed.items())[:MAX_FIXED_PREVIEWS]:
        path = thumbnails.local_image(source, images_dir)
        pairs.append({"name": PurePosixPath(source.replace("\\", "/")).name or source,
                      "before": thumbnails.thumbnail(path, background="checker") if path else None,
                      "after": thumbnails.thumbnail(path, background="white") if path else None,
                      "url": url if is_browser_link(url) else None})
    return {"rejected": rejected, "fixed": pairs, "fixed_total": len(fixed)}


def findings_chart(by_code: Sequence[tuple[str, int]], severity_of: dict[str, str], title: str,
                   lang: str | None = "en") -> Any:
    """Findings by code as bars, each labelled with its code and the code's short name in ``lang``."""
    tone = {"error": "bad", "warning": "warn"}
    return charts.bar_chart([charts.Bar(code, n, tone.get(severity_of.get(code, ""), "info"),
                                        name=labels.code_name(code, lang)) for code, n in by_code], title=title)


# ------------------------------------------------------------------------------------------------ review
def review_context(changes: Sequence[Any], counts: dict[str, Any], lang: str | None) -> list[dict[str, Any]]:
    """Products whose new main image went through the marketplace review: refused (with the platform's reason),
    still in review, or passed."""
    _ = translator(lang)
    overdue = set(((counts or {}).get("review_overdue")) or [])
    missing = set(((counts or {}).get("review_missing")) or [])
    rows = []
    for c in changes:
        if c.kind != "edit" or "main_image" not in ((c.payload or {}).get("fields") or {}):
            continue
        if c.product_id in missing:
            on_sale = c.status in (ChangeStatus.CONFIRMED, ChangeStatus.VERIFIED, ChangeStatus.VERIFY_FAILED)
            rows.append({"product_id": c.product_id,
                         "status": _("onSelling, no review seen") if on_sale else _("no review seen"),
                         "reason": _("no review started (auditing) within the trigger time after the new main "
                                     "image: the guide asks for one within 2 hours")})
        elif c.status == ChangeStatus.FAILED and c.error_code == "editingRequired":
            rows.append({"product_id": c.product_id, "status": _("editingRequired (refused)"),
                         "reason": c.error_message})
        elif c.status == ChangeStatus.IN_REVIEW:
            status = _("auditing (past the 2-hour review time)") if c.product_id in overdue else _("auditing")
            rows.append({"product_id": c.product_id, "status": status, "reason": ""})
        elif c.status in (ChangeStatus.CONFIRMED, ChangeStatus.VERIFIED, ChangeStatus.VERIFY_FAILED):
            rows.append({"product_id": c.product_id, "status": _("onSelling (passed)"), "reason": ""})
    return rows


# ------------------------------------------------------------------------------------------------- checks
def checks_context(run: Any, lang: str | None) -> dict[str, Any]:
    """Who allowed the run's writes (the preflight's decision: the platform field or the operator's declaration),
    and the verification checks the platform gives no means for (``counts["checks_not_allowed"]``)."""
    _ = translator(lang)
    standing = standing_of(run)
    explained = {
        "completion_rate": (_("Information update completion rate"),
                            _("the data center's figure is behind the seller login")),
        "page_timestamps": (_("Last-modified time on the product pages"),
                            _("real item pages show none: the pages were judged by their values")),
    }
    not_allowed = [{"code": code, "label": explained[code][0], "why": explained[code][1]}
                   for code in (run.counts or {}).get("checks_not_allowed") or [] if code in explained]
    return {"standing": standing, "standing_text": standing.text(lang) if standing else None,
            "not_allowed": not_allowed}


# ------------------------------------------------------------------------------------------------- report
def report_context(ledger: Ledger, sync_run_id: int, store: StoreConfig | None = None) -> dict[str, Any]:
    """Everything the template shows for one store's run (``store``: its settings; defaults when None)."""
    run = ledger.runs.get(sync_run_id)
    store = store or StoreConfig(name=run.store)
    lang = store.language
    _ = translator(lang)
    findings = ledger.runs.findings(sync_run_id)
    changes = ledger.changes.of_run(sync_run_id)
    by_code = sorted(Counter(f.code for f in findings).items(), key=lambda kv: (-kv[1], kv[0]))
    severity_of = {f.code: f.severity for f in findings if f.severity == "error"}
    severity_of.update({f.code: f.severity for f in findings if f.code not in severity_of})
    rejected = [f for f in findings if f.severity == "error"]
    outcome = product_outcomes(changes)
    rows, image_rows = attention_rows(findings)
    return {
        "run": run,
        "store": store,
        "tz": store.timezone,
        "counts": run.counts or {},
        "headline": headline(run, findings, lang, store.language_sites, changes, skip_reason(ledger, run, lang)),
        "run_message": skip_reason(ledger, run, lang),
        "outcome": outcome,
        "attention_rows": rows,
        "attention_image_rows": image_rows,
        "by_code": [(code, n, severity_of.get(code, "info"), labels.code_name(code, lang),
                     todos([f for f in findings if f.code == code], lang)) for code, n in by_code],
        "chart": findings_chart(by_code, severity_of, _("Findings by code"), lang),
        "previews": image_previews(findings, (run.artifacts or {}).get("image_urls") or {}, store.images_dir or None,
                                   lang),
        "rejected": rejected,
        "warnings": [f for f in findings if f.severity != "error"],
        "failures": [c for c in changes if c.status in (*OPEN, ChangeStatus.FAILED, ChangeStatus.UNPUSHABLE)],
        "changes": sorted(Counter((c.kind, c.status) for c in changes).items()),
        "product_url": lambda pid: store.storefront_url.format(product_id=int(pid)) if pid else None,
        "problem": lambda f: finding_problem(f, lang),
        "todo": lambda f: finding_todo(f, lang),
        "airflow_url": task_log_url(run.dag_id, run.run_id),
        "stopped_by": pages.reasons(ledger.url, run.dag_id, run.run_id, run.store),
        "reviews": review_context(changes, (run.artifacts or {}).get("verify") or {}, lang),
        "escalated": (run.artifacts or {}).get("escalated") or [],
        "held_runs": sorted({h["run_id"] for h in (run.artifacts or {}).get("held") or []}),
        "guard": guard_context(ledger.guards.of_run(sync_run_id), lang),
        **verification_context(ledger, sync_run_id),
        **checks_context(run, lang),
        "urgent_clock": urgent_clock(ledger, run, lang, store.timezone if store else None),
    }


def urgent_clock(ledger: Ledger, run: Any, lang: str | None, timezone: str | None) -> str | None:
    """An urgent run's deadline line: when its clock started (the trigger; a planned override: its start time),
    when it was due, and where a person's approval fell inside it. None for other runs."""
    recorded = (run.artifacts or {}).get("deadline")
    if not recorded:
        return None
    approval = ledger.runs.milestones(run.id).get("approval")
    return clock_text(recorded, dict(approval.detail) if approval else None, lang, timezone)


def render_html(context: dict[str, Any], lang: str | None = None) -> str:
    """The run report as HTML, in ``lang`` or the store's language."""
    store = context.get("store")
    return render("run_report.html", lang or (store.language if store else None), context)


def write_run_report(ledger: Ledger, sync_run_id: int, location: str | None,
                     store: StoreConfig | None = None) -> dict[str, str]:
    """Write the HTML and CSV report of one store's run; returns their locations and the headline."""
    context = report_context(ledger, sync_run_id, store)
    run, store = context["run"], context["store"]
    folder = locations.folder(location, Path(os.environ.get("AIRFLOW_HOME", ".")) / "reports" / run.store)
    html_name, csv_name = report_names(run.store, run.run_id)
    html_path, csv_path = folder / html_name, folder / csv_name
    html_path.write_text(render_html({**context, "csv_name": csv_name}, store.language), encoding="utf-8")
    csv_path.write_text(findings_csv(ledger.runs.findings(sync_run_id), store.language), encoding=CSV_ENCODING)
    return {"html": str(html_path), "csv": str(csv_path), "headline": context["headline"]}
