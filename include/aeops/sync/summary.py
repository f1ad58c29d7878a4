"""The store run's Slack summary: one message with the top findings and the report link (every finding as thread
replies too when the store's ``slack_finding_details`` asks for it); never fails the run."""

from __future__ import annotations

from typing import Any

from aeops.catalog.context import RunContext
from aeops.i18n import translator
from aeops.notify import pages
from aeops.notify.links import report_url
from aeops.notify.messages import notice, summary_details, sync_summary
from aeops.notify.send import send
from aeops.reports.run_report import headline, skip_reason
from aeops.secrets import get_logger

log = get_logger(__name__)


def notify_summary(ctx: RunContext, run, summary: dict[str, Any]) -> None:
    """Post the summary of ``run``; Slack trouble is logged, never raised."""
    try:
        _post_summary(ctx, run, summary)
    except Exception as exc:  # noqa: BLE001 - Slack trouble must not fail the sync's own work
        log.error("%s: Slack summary could not be prepared (%s: %s)", ctx.store.name, type(exc).__name__, exc)


def _post_summary(ctx: RunContext, run, summary: dict[str, Any]) -> None:
    lang = ctx.store.language
    _ = translator(lang)
    if summary["status"] == "skipped":
        send(notice(title=_("Catalog sync skipped"), text=skip_reason(ctx.ledger, run, lang) or _("nothing to do"),
                    store=ctx.store.name,
                    thread_key=run.run_id), store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
        return
    counts = run.counts or {}
    findings = ctx.ledger.runs.findings(run.id)
    errors_first = sorted(findings, key=lambda f: (f.severity != "error", f.row or 0))
    message = sync_summary(
        store=ctx.store.name, dag_id=run.dag_id, run_id=run.run_id, rows=int(counts.get("rows", 0)),
        findings_by_code=summary.get("findings_by_code", {}), pushed=int(counts.get("pushed", 0)),
        failed=int(counts.get("failed", 0)) + int(counts.get("unpushable", 0)),
        verified=int(counts.get("verified", 0)), completion_rate=counts.get("marketplace_completion_rate"),
        verified_share=counts.get("verified_share"), in_review=int(counts.get("in_review", 0)),
        report_url=report_url(ctx.store.name, run.dag_id, run.run_id) if summary.get("report") else None,
        top_findings=errors_first, lang=lang, status=summary.get("status"),
        headline=summary.get("headline") or headline(run, findings, lang, ctx.store.language_sites),
        stopped_by=pages.reasons(ctx.db_url, run.dag_id, run.run_id, ctx.store.name),
        details_in_thread=ctx.store.slack_finding_details,
    )
    send(message, store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
    if not ctx.store.slack_finding_details:  # one message per store run: the report and its CSV hold every finding
        return
    for detail in summary_details(errors_first, store=ctx.store.name, run_id=run.run_id, lang=lang):
        send(detail, store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
