"""Failures retried without a person, until they are a person's: a product whose write the platform refused in
three daily runs in a row is escalated once per run, in Slack (alerts channel) and the run's record, with the
platform's own error code and message (what support and the seller center name it by)."""

from __future__ import annotations

from typing import Any

from aeops.catalog.context import RunContext
from aeops.i18n import translator
from aeops.notify.links import report_url
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.secrets import get_logger

log = get_logger(__name__)

STREAK_RUNS = 3  # failing this many daily runs in a row: no automatic retry will fix it
SHOWN = 10  # products named in the Slack message (the run's record keeps all)


def escalate_failing(ctx: RunContext, run: Any) -> list[dict[str, Any]]:
    """Products failing ``STREAK_RUNS`` runs in a row up to ``run``: recorded in the run (``counts.escalated``,
    ``artifacts.escalated``) and sent to Slack once per run. Slack trouble is logged, never raised."""
    streak = ctx.ledger.changes.failing_streak(ctx.store.name, run.dag_id, run.id, STREAK_RUNS)
    items = [{"product_id": pid, "kind": c.kind, "error_code": c.error_code or "", "error_message": c.error_message
              or ""} for pid, c in streak.items()]
    if not items:
        return []
    ctx.ledger.runs.update(run.id, counts={"escalated": len(items)}, artifacts={"escalated": items})
    log.warning("%s: %d product(s) failed %d runs in a row: %s", ctx.store.name, len(items), STREAK_RUNS,
                ", ".join(f"{i['product_id']} {i['error_code']}" for i in items[:SHOWN]))
    if not ctx.ledger.runs.add_milestone(run.id, "escalated_failures", {"products": len(items)}):
        return items  # a retried finish: Slack already has it
    try:
        send(_message(ctx, run, items), store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
    except Exception as exc:  # noqa: BLE001 - Slack trouble must not fail the run's own work
        log.error("%s: escalation not sent to Slack (%s: %s)", ctx.store.name, type(exc).__name__, exc)
    return items


def _message(ctx: RunContext, run: Any, items: list[dict[str, Any]]):
    _ = translator(ctx.store.language)
    lines = [_("Failed {n} daily runs in a row; automatic retries will not fix them. Fix them in the seller center "
               "or the export:").format(n=STREAK_RUNS)]
    lines += [f"• {i['product_id']} ({i['kind']}): `{i['error_code'] or '?'}` {i['error_message']}"[:300]
              for i in items[:SHOWN]]
    if len(items) > SHOWN:
        lines.append(_("…and {n} more in the run's report.").format(n=len(items) - SHOWN))
    return notice(title=_("Products keep failing"), text="\n".join(lines), store=ctx.store.name, severity="error",
                  kind="alert", link=report_url(ctx.store.name, run.dag_id, run.run_id), link_text=_("Open the report"),
                  dedupe_key=f"escalated:{ctx.store.name}:{run.run_id}")
