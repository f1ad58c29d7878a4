"""The export guard's hold: record the verdict, ask a person, keep the answer (DAG ``aliexpress_catalog_sync``).

``plan`` calls :func:`guard_plan` once the change set is stored: the checks of :mod:`aeops.sync.export_guard` are
recorded in ``export_guards`` (``ledger.guards``). An export that crosses a threshold is **held**: ``collect_chunks``
leaves the store out, so nothing of it is pushed while the other stores push as usual. The store's ``approve`` task
(:class:`aeops.hitl.ExportApprovalOperator`) shows :func:`approval_form` (the checks and the largest moves, in the
store's language) and posts one Slack notice with the same; :func:`record_decision` keeps the answer, who gave it and
when:

- **Approve**: ``push_held`` pushes the store's plan (under its write lock), verified and reported as usual;
- **Reject**: the planned changes become ``rejected`` (never sent, never retried): nothing is written to the
  marketplace, the export is not marked synced, the run ends ``rejected`` and its report and Slack summary say who
  rejected it;
- **no answer** within ``AEOPS_EXPORT_GUARD_WAIT_HOURS``: as Reject, and the run fails saying so.

A dry run records what the guard would hold (its report shows it) and asks nobody.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aeops.catalog.context import RunContext, context
from aeops.config import AeopsConfig
from aeops.i18n import N_, translator
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.reports.guard_texts import check_lines, move_lines
from aeops.secrets import get_logger
from aeops.sync.export_guard import GuardResult, evaluate

log = get_logger(__name__)

APPROVE, REJECT = N_("Approve"), N_("Reject")
DECISIONS = ("approved", "rejected", "timed out")


def guard_plan(ctx: RunContext, sync_run_id: int, desired: dict[int, dict[str, Any]],
               current: dict[int, dict[str, Any] | None], changes: list[Any], *, dry_run: bool) -> GuardResult:
    """Check the store's plan against its current state and record the verdict (held or not) of this run."""
    baseline = ctx.ledger.guards.baseline_products(ctx.store.name, sync_run_id)
    result = evaluate(desired, current, changes, baseline, ctx.store.export_guard)
    ctx.ledger.guards.record(sync_run_id, ctx.store.name, held=result.held, dry_run=dry_run, checks=result.checks,
                             moves=result.moves, product_ids=desired)
    ctx.ledger.runs.update(sync_run_id, counts={"guard_held": int(result.held)})
    if result.held:
        log.warning("%s: the export guard %s this export (%s): nothing is pushed until a person approves",
                    ctx.store.name, "would hold" if dry_run else "holds", ", ".join(result.tripped))
    return result


def _run(store: str, dag_id: str, run_id: str, config: AeopsConfig | None):
    ctx = context(store, config)
    run = ctx.ledger.runs.find(store, run_id, dag_id)
    return ctx, run, (ctx.ledger.guards.of_run(run.id) if run is not None else None)


def waits_for_a_person(store: str, dag_id: str, run_id: str, config: AeopsConfig | None = None) -> bool:
    """True when the guard holds the store's export in this run and nobody has decided yet (no dry run)."""
    _ctx, _run_row, guard = _run(store, dag_id, run_id, config)
    return bool(guard and guard.held and not guard.dry_run and guard.decision is None)


def approval_form(store: str, dag_id: str, run_id: str, *, link: str, wait_hours: float,
                  config: AeopsConfig | None = None) -> dict[str, Any] | None:
    """The form of the store's ``approve`` task (None: nothing waits: not held, a dry run, or decided), in the
    store's language; posts one Slack notice that the export waits, with the largest moves and the link."""
    ctx, run, guard = _run(store, dag_id, run_id, config)
    if not guard or not guard.held or guard.dry_run or guard.decision:
        return None
    lang = ctx.store.language
    _ = translator(lang)
    export = ctx.ledger.runs.export(run.export_id) if run.export_id else None
    name = export.path.rsplit("/", 1)[-1] if export else "?"
    hours = f"{wait_hours:g}"
    why = check_lines(guard.checks, lang, tripped_only=True)
    moves = move_lines(guard.moves, lang)
    body = "\n".join([
        _("**{store}**: export `{file}` changes the store more than its export guard allows. Nothing has been "
          "pushed for this store; the other stores were pushed as usual.").format(store=store, file=name),
        "", _("**Why it waits:**"), *[f"- {line}" for line in why],
        "", _("**Every check:**"), *[f"- {line}" for line in check_lines(guard.checks, lang)],
        "", _("**Largest moves:**"), *[f"- {line}" for line in moves or ["-"]],
        "",
        _("**{approve}** pushes this export now (verified and reported as usual); **{reject}** skips it: nothing "
          "is written to the marketplace. No answer within {hours} hours counts as {reject}.").format(
            approve=_(APPROVE), reject=_(REJECT), hours=hours),
        _("Check the export with whoever produced it first: a price list or stock file cut short in the ERP looks "
          "exactly like this."),
    ])
    subject = _("Approve the held catalog export for {store}").format(store=store)
    if ctx.ledger.guards.mark_asked(run.id):
        text = "\n".join([
            _("Export `{file}` is held: nothing is pushed for this store until someone approves; no answer within "
              "{hours} h skips it.").format(file=name, hours=hours),
            *[f"• {line}" for line in why], *[f"• {line}" for line in moves[:5]]])
        send(notice(title=_("Catalog export held for approval"), store=store, severity="warning", kind="alert",
                    text=text, fields={_("Run"): run_id}, link=link, link_text=_("Approve or reject in Airflow"),
                    dedupe_key=f"export-guard:{store}:{run_id}"),
             store=store, config=ctx.config, db_url=ctx.db_url)
    return {"subject": subject, "body": body, "lang": lang}


def _actor(responded_by: Any) -> str | None:
    if isinstance(responded_by, dict):
        return responded_by.get("name") or responded_by.get("id")
    return None


def record_decision(store: str, dag_id: str, run_id: str, chosen: str, responded_by: Any,
                    responded_at: datetime | None, *, config: AeopsConfig | None = None) -> dict[str, Any]:
    """Keep a person's answer (``approved`` | ``rejected``; no answer: ``timed out``) with who and when; anything
    but approved rejects the store's planned changes (nothing is written)."""
    ctx, run, guard = _run(store, dag_id, run_id, config)
    if run is None or guard is None:
        raise LookupError(f"{store}: run {run_id} has no export guard record")
    who = _actor(responded_by)
    decision = "approved" if chosen == APPROVE else "rejected" if who else "timed out"
    at = responded_at if isinstance(responded_at, datetime) else datetime.now(UTC)
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    rejected = ctx.ledger.guards.decide(run.id, decision, who, at)
    log.info("%s: held export %s by %s%s", store, decision, who or "nobody (no answer in time)",
             f"; {rejected} planned change(s) rejected, nothing written" if decision != "approved" else "")
    return {"decision": decision, "by": who, "at": at.isoformat()}
