"""Finish a store's run: verification's result, the status, the report, the Slack summary; and the run's verdict."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aeops.catalog.context import RunContext, client_for, context
from aeops.config import AeopsConfig, load_airflow_config
from aeops.i18n import translator
from aeops.marketplace.interface import MarketplaceClient
from aeops.notify import pages
from aeops.reports.run_report import write_run_report
from aeops.secrets import get_logger, redact_value
from aeops.store.ledger import Ledger
from aeops.store.status import OPEN, VERIFIABLE, ChangeStatus
from aeops.sync.errors import SyncError
from aeops.sync.freshness import check_freshness
from aeops.sync.image_flags import open_new_product_tasks
from aeops.sync.repeat_failures import escalate_failing
from aeops.sync.summary import notify_summary
from aeops.verify.runner import counts_of_run, verify_run

log = get_logger(__name__)


def finish(store: str, dag_id: str, run_id: str, *, dry_run: bool = False, client: MarketplaceClient | None = None,
           config: AeopsConfig | None = None) -> dict[str, Any]:
    """Close the store's run: verify, write the report, post the summary; mark the export synced when done."""
    ctx = context(store, config)
    ledger = ctx.ledger
    sync_run_id = ledger.runs.start(store, dag_id, run_id)
    run = ledger.runs.get(sync_run_id)
    if run.status == "skipped":
        if run.kind == "daily":  # skipped runs too: an old export is what a skipped run may be hiding
            check_freshness(ctx, run)
        summary = {"store": store, "status": "skipped", "message": run.message}
        notify_summary(ctx, run, summary)
        return redact_value(summary)
    statuses = ledger.changes.counts(sync_run_id)
    open_left = sum(statuses.get(s, 0) for s in OPEN)
    prepared = "valid_rows" in (run.counts or {}) and any(k.startswith("planned_") or k == "changed_products"
                                                           for k in (run.counts or {}))
    verification: dict[str, Any] = {}
    if prepared and not dry_run and any(statuses.get(k) for k in VERIFIABLE):
        verification = _verify(ctx, sync_run_id, client)
    guard = ledger.guards.of_run(sync_run_id)
    refused = bool(guard and guard.held and not guard.dry_run and guard.decision != "approved")
    if not prepared:
        status = "failed"
    elif refused:  # held by the export guard and rejected (or never answered): nothing was written
        status = "rejected"
    elif dry_run:
        status = "dry_run"
    elif (open_left or statuses.get(ChangeStatus.FAILED) or statuses.get(ChangeStatus.UNPUSHABLE)
          or verification.get("verify_failed") or verification.get("in_review")
          or not marketplace_complete(verification)):
        status = "partial"
    else:
        status = "success"
    confirmed, failed = statuses.get(ChangeStatus.CONFIRMED, 0), statuses.get(ChangeStatus.FAILED, 0)
    counts = {"pushed": confirmed + failed, "confirmed": confirmed, "failed": failed,
              "unpushable": statuses.get(ChangeStatus.UNPUSHABLE, 0), "open": open_left, **verification}
    message = {"message": _refusal(guard)} if refused else {}
    ledger.runs.update(sync_run_id, counts=counts, status=status, finished_at=datetime.now(UTC), **message)
    if not dry_run and run.kind == "daily":  # an urgent run (which re-uses this step) is neither
        escalate_failing(ctx, ledger.runs.get(sync_run_id))
        check_freshness(ctx, ledger.runs.get(sync_run_id))
    report = write_run_report(ledger, sync_run_id, ctx.store.reports or None, ctx.store)
    ledger.runs.update(sync_run_id, report_path=report["html"])
    if status in ("success", "partial") and not open_left and run.export_id:
        ledger.runs.mark_export_synced(run.export_id, run_id)
    if not dry_run:
        open_new_product_tasks(ctx, sync_run_id, run_id)
    run = ledger.runs.get(sync_run_id)
    summary = {"store": store, "status": status, "counts": run.counts, "report": report["html"],
               "headline": report["headline"], "findings_by_code": ledger.runs.findings_by_code(sync_run_id)}
    log.info("%s: %s; report %s", store, status, report["html"])
    notify_summary(ctx, run, summary)
    if status == "partial" and run.kind == "daily" and not ctx.store.partial_is_success:
        raise PartialSync(partial_reason(ctx, run.counts or {}, report["html"]))  # after the report and summary
    return redact_value({k: v for k, v in summary.items() if k not in ("findings_by_code", "headline")})


def _refusal(guard: Any) -> str:
    """The run's message when the export guard held its export and it was not approved (English: the aeops DB's)."""
    tripped = ", ".join(c["check"] for c in guard.checks if c["tripped"])
    who = f" by {guard.decided_by}" if guard.decided_by else ""
    return f"export held by the export guard ({tripped}): {guard.decision or 'not answered'}{who}; nothing written"


class PartialSync(SyncError):
    """A daily sync ended partial (writes failed, unverified, in review or not sent) and the store does not
    accept that as a success (``partial_is_success``): its finish task fails, after the report and the summary."""


def partial_reason(ctx: RunContext, counts: dict[str, Any], report: str) -> str:
    """Why a partial store's task fails, in the store's language: what is not done, and where to read more."""
    _ = translator(ctx.store.language)
    unverified = int(counts.get("verify_failed", 0) or 0) + int(counts.get("in_review", 0) or 0)
    text = _("store {store}: the sync is partial: {failed} write(s) failed, {unverified} not verified or still in "
             "review, {open} not sent, {blocked} blocked; the next run retries them (report: {report}; a store "
             "whose partial_is_success is true counts this as a success)")
    return text.format(store=ctx.store.name, failed=int(counts.get("failed", 0) or 0), unverified=unverified,
                       open=int(counts.get("open", 0) or 0), blocked=int(counts.get("unpushable", 0) or 0),
                       report=report)


def marketplace_complete(verification: dict[str, Any]) -> bool:
    """The marketplace's own "information update completion rate" decides, when it gives one: below 100% the
    platform has not completed every update (pending propagation or review), so the run is not a success,
    whatever aeops's own checks saw. Without the figure (the real data center needs the seller login), aeops's
    own checks decide."""
    rate = verification.get("marketplace_completion_rate")
    return rate is None or float(rate) >= 1.0


def fail_if_any_store_failed(dag_id: str, run_id: str, config: AeopsConfig | None = None,
                             failed_tasks: Sequence[str] = ()) -> None:
    """The run's overall verdict: fail (and so page) when a store could not be synced at all or any task of the
    run failed (``failed_tasks``, Airflow's record), saying why in one line."""
    cfg = config or load_airflow_config()
    url = cfg.resolved_database_url()
    runs = Ledger(url).runs.of_dag_run(dag_id, run_id)
    failed = [r.store for r in runs if r.status in ("failed", "running")]
    problems = [f"store(s) {', '.join(failed)} could not be synced"] if failed else []
    ledger = Ledger(url)
    unanswered = [r.store for r in runs if r.status == "rejected" and r.kind == "daily"
                  and (g := ledger.guards.of_run(r.id)) is not None and g.decision in (None, "timed out")]
    if unanswered:  # a person's Reject is an answer; nobody answering is not
        problems.append(f"the export of store(s) {', '.join(unanswered)} was held by the export guard and nobody "
                        "answered: nothing was written")
    reason = pages.verdict(url, dag_id, run_id, failed_tasks, problems)
    if reason:
        raise SyncError(f"{reason} (see the run's reports and its Slack page)")


def _verify(ctx: RunContext, sync_run_id: int, client: MarketplaceClient) -> dict[str, Any]:
    """Verification counts (verified, verify_failed, completion rates, ...; they override pushed/confirmed):
    the verify sensor's final result, else polled here (see aeops.verify.runner.verify_run). A verification
    that cannot run leaves the report and summary intact: the unverified changes count as verify_failed."""

    try:
        return verify_run(ctx, sync_run_id, client or client_for(ctx))
    except Exception as exc:  # noqa: BLE001 - the run's report must still be written
        error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        log.error("%s: verification could not run: %s", ctx.store.name, error)
        counts = counts_of_run(ctx.ledger, sync_run_id, {})
        unverified = counts["confirmed"] - counts["verified"] - counts["in_review"]
        return {**counts, "verify_error": error, "verify_failed": unverified}
