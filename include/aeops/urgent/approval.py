"""Risky urgent price overrides wait for a person's approval before anything is written.

An override (mode ``price_override``, not a dry run) needs approval when it changes more SKUs than
``urgent_approval_skus`` (default 100) or moves any price by more than ``urgent_approval_percent`` (default
30%). :func:`approval_form` builds the form of the ``approve`` task (:class:`aeops.hitl.OverrideApprovalOperator`):
the plan's counts, the smallest and largest change, the guard hits and a link to the plan report (what a dry
run would have shown). :func:`record_decision` keeps the answer (``run_milestones`` "approval"). The time spent
waiting counts in the deadline (the guide: the whole store within 15 minutes of the trigger), and the final summary
shows where the approval fell inside it; a planned override (``start_at``) is approved ahead through the same form,
and its clock starts at its start time. Rejected or not answered in time: the planned changes become ``rejected``,
nothing is written and the final Slack summary says so.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aeops.catalog.context import context
from aeops.config import AeopsConfig
from aeops.i18n import N_, translator
from aeops.locations import folder
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.secrets import get_logger
from aeops.store.status import ChangeStatus
from aeops.urgent import progress
from aeops.urgent.request import planned_times, recorded_request

log = get_logger(__name__)

DAG_ID = "aliexpress_urgent_rerun"
APPROVE, REJECT = N_("Approve"), N_("Reject")  # the answers (the form shows them in the store's language)


@dataclass(frozen=True)
class PriceMove:
    """One SKU's price change in an urgent override: old and new price."""
    product_id: int
    sku_code: str
    old: Decimal | None
    new: Decimal | None

    @property
    def percent(self) -> float | None:
        """The change in percent of the old price (None: no old price or no new one)."""
        if self.old in (None, Decimal(0)) or self.new is None:
            return None
        return float((self.new - self.old) / self.old * 100)


def price_moves(changes: list[Any]) -> list[PriceMove]:
    """Every SKU price a change set would write, with the price it replaces."""
    moves = []
    for change in changes:
        if change.kind != "price":
            continue
        previous = {item["sku_code"]: item for item in (change.previous or {}).get("skus", [])}
        for item in change.payload.get("skus", []):
            old = previous.get(item["sku_code"], {}).get("price")
            moves.append(PriceMove(change.product_id, item["sku_code"], None if old is None else Decimal(str(old)),
                                   None if item.get("price") is None else Decimal(str(item["price"]))))
    return moves


def reasons_for_approval(moves: list[PriceMove], config: AeopsConfig, lang: str | None = "en") -> list[str]:
    """Why the plan needs approval, in ``lang`` (empty: it does not)."""
    _ = translator(lang)
    reasons = []
    if len(moves) > config.urgent_approval_skus:
        reasons.append(_("{n} SKUs change (more than {limit})").format(n=len(moves), limit=config.urgent_approval_skus))
    big = [m for m in moves if m.percent is not None and abs(m.percent) > config.urgent_approval_percent]
    if big:
        reasons.append(_("{n} price(s) move by more than {percent}").format(
            n=len(big), percent=f"{config.urgent_approval_percent:g}%"))
    return reasons


def _run(store: str, run_id: str, config: AeopsConfig | None):
    ctx = context(store, config)
    run = ctx.ledger.runs.find(store, run_id, DAG_ID)
    if run is None:
        raise RuntimeError(f"{store}: run {run_id} was not started")
    return ctx, run


def _fmt(move: PriceMove) -> str:
    pct = "n/a" if move.percent is None else f"{move.percent:+.1f}%"
    return f"{pct} (SKU {move.sku_code}: {move.old} → {move.new})"


def write_plan_report(ctx, run, moves: list[PriceMove]) -> str:
    """An HTML page of every planned price (the dry-run view of this plan) in the store's language; returns a
    browser-openable URL."""

    _ = translator(ctx.store.language)
    esc = html.escape

    where = folder(ctx.store.reports or None, Path(os.environ.get("AIRFLOW_HOME", ".")) / "reports" / ctx.store.name)
    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{ctx.store.name}-{run.run_id}-plan")
    path = where / f"{stem}.html"
    rows = "\n".join(f"<tr><td>{m.product_id}</td><td>{html.escape(m.sku_code)}</td><td>{m.old}</td><td>{m.new}</td>"
                     f"<td>{'' if m.percent is None else f'{m.percent:+.1f}%'}</td></tr>" for m in moves)
    counts = "".join(f"<li>{esc(str(k))}: {v}</li>" for k, v in sorted((run.counts or {}).items()))
    request = recorded_request(run)
    heads = "".join(f"<th>{esc(h)}</th>" for h in (_("product"), "SKU", _("now"), _("new"), _("change")))
    title, nothing_yet = _("Urgent price override: the plan waiting for approval"), _("Nothing has been written yet.")
    path.write_text(
        f"<!doctype html><html lang='{esc(ctx.store.language)}'><head><meta charset='utf-8'><meta name='viewport' "
        f"content='width=device-width, initial-scale=1'><title>{esc(run.run_id)}</title></head><body>"
        f"<h1>{esc(title)}</h1><p>{esc(request.describe(ctx.store.language))} · {esc(request.reason)}</p>"
        f"<ul>{counts}</ul><div style='overflow-x:auto'><table border='1'><tr>{heads}</tr>{rows}</table></div>"
        f"<p>{esc(nothing_yet)}</p></body></html>", encoding="utf-8")
    text = str(path)
    return text if "://" in text else Path(text).resolve().as_uri()


def approval_form(store: str, run_id: str, *, dry_run: bool, link: str, wait_minutes: float,
                  config: AeopsConfig | None = None) -> dict[str, Any] | None:
    """The approval form, or None when this run needs no approval (not an override, a dry run, small)."""
    ctx, run = _run(store, run_id, config)
    request = (run.artifacts or {}).get("request") or {}
    if dry_run or request.get("mode") != "price_override":
        return None
    moves = price_moves(ctx.ledger.changes.of_run(run.id))
    lang = ctx.store.language
    _ = translator(lang)
    reasons = reasons_for_approval(moves, ctx.config, lang)
    if not reasons:
        log.info("%s: %d SKU price(s), within the approval threshold: no approval needed", store, len(moves))
        return None
    report = write_plan_report(ctx, run, moves)
    ranked = sorted((m for m in moves if m.percent is not None), key=lambda m: abs(m.percent or 0))
    counts = run.counts or {}
    guard = _("floor {floor}, ceiling {ceiling}, discount dropped {dropped}, skipped {skipped}").format(
        floor=counts.get("guarded_floor", 0), ceiling=counts.get("guarded_ceiling", 0),
        dropped=counts.get("discount_dropped", 0), skipped=len((run.artifacts or {}).get("skipped") or []))
    recorded = recorded_request(run)
    planned = bool(recorded.start_at)
    if planned:  # approved ahead: the form waits until the override is due at the latest
        due = progress.Deadline.from_dict((run.artifacts or {})["deadline"]).due_at
        wait_minutes = max(wait_minutes, (due - datetime.now(UTC)).total_seconds() / 60)
    minutes, deadline = f"{wait_minutes:.0f}", f"{request.get('deadline_minutes', 15):g}"
    planned_lines = []
    if planned:
        start, end = planned_times(recorded, ctx.store.timezone)
        planned_lines.append(_("**Planned:** starts on its own at {start} (store time {local}); {end}.").format(
            start=start.isoformat() if start else "", local=recorded.start_at,
            end=_("its prices revert at {end}").format(end=recorded.end_at) if end else _("no end time")))
    body = "\n".join([
        _("**{store}**: {what}; reason: {reason}").format(store=request.get("store"), what=recorded.describe(lang),
                                                          reason=html.escape(recorded.reason)),
        "",
        _("**Why it waits:** {reasons}.").format(reasons="; ".join(reasons)),
        "- " + _("Products: {products}, SKU prices: {skus}, planned price changes: {planned}").format(
            products=len({m.product_id for m in moves}), skus=len(moves), planned=counts.get("planned_price", 0)),
        "- " + _("Smallest change: {change}").format(change=_fmt(ranked[0]) if ranked else "n/a"),
        "- " + _("Largest change: {change}").format(change=_fmt(ranked[-1]) if ranked else "n/a"),
        "- " + _("Guard hits: {guard}").format(guard=guard),
        "- " + _("Plan (dry-run report): {link}").format(link=f"[{report.rsplit('/', 1)[-1]}]({report})"),
        "",
        _("**{approve}** writes these prices now; **{reject}** writes nothing. No answer within {minutes} minutes "
          "counts as {reject}.").format(approve=_(APPROVE), reject=_(REJECT), minutes=minutes) if not planned else
        _("**{approve}** writes these prices at the start time; **{reject}** writes nothing. No answer within "
          "{minutes} minutes counts as {reject}.").format(approve=_(APPROVE), reject=_(REJECT), minutes=minutes),
        *planned_lines,
        _("The time this waits for you **counts** in the {deadline}-minute deadline: the clock runs from the "
          "trigger (a planned override: from its start time), so answer at once.").format(deadline=deadline),
    ])
    if ctx.ledger.runs.add_milestone(run.id, "approval-asked", {"asked_at": datetime.now(UTC).isoformat(),
                                                                "reasons": reasons, "report": report, "link": link}):
        text = _("{reasons}. Nothing is written until someone approves; no answer within {minutes} min rejects it. "
                 "The wait counts in the deadline.").format(reasons="; ".join(reasons), minutes=minutes)
        send(notice(title=_("Urgent price override waits for approval"), store=store, severity="warning",
                    kind="alert", text=text, fields={_("Run"): run_id}, link=link,
                    link_text=_("Approve or reject in Airflow"), dedupe_key=f"urgent-approval:{store}:{run_id}"),
             store=store, config=ctx.config, db_url=ctx.db_url)
    ctx.ledger.runs.update(run.id, artifacts={"plan_report": report})
    subject = _("Approve urgent price override for {store}: {n} SKU price(s)").format(store=store, n=len(moves))
    return {"subject": subject, "body": body, "reasons": reasons, "report": report, "lang": lang,
            "wait_minutes": wait_minutes}


def record_decision(store: str, run_id: str, chosen: str, responded_by: dict[str, Any] | None,
                    responded_at: datetime | None, *, config: AeopsConfig | None = None) -> dict[str, Any]:
    """Keep the decision (the wait counts in the deadline: nothing moves it), and on Reject mark the plan rejected
    (never sent)."""
    ctx, run = _run(store, run_id, config)
    asked = ctx.ledger.runs.milestones(run.id).get("approval-asked")
    now = datetime.now(UTC)
    answered = responded_at if isinstance(responded_at, datetime) else now
    if answered.tzinfo is None:
        answered = answered.replace(tzinfo=UTC)
    asked_at = datetime.fromisoformat(asked.detail["asked_at"]) if asked else answered
    waited = max(0.0, (max(answered, now) - asked_at).total_seconds())
    who = (responded_by or {}).get("name") or (responded_by or {}).get("id")
    decision = "approved" if chosen == APPROVE else "rejected" if who else "timed out"
    detail = {"decision": decision, "by": who, "at": answered.isoformat(), "waited_seconds": round(waited, 1)}
    recorded = (ctx.ledger.runs.get(run.id).artifacts or {}).get("deadline")
    if recorded:  # where the answer fell on the run's clock (negative: before a planned override's start)
        clock = progress.Deadline.from_dict(recorded)
        detail["into_deadline_seconds"] = round((answered - clock.triggered_at).total_seconds(), 1)
    ctx.ledger.runs.add_milestone(run.id, "approval", detail)
    if decision != "approved":
        ids = [c.id for c in ctx.ledger.changes.of_run(run.id) if c.status == ChangeStatus.PLANNED]
        ctx.ledger.changes.set_status(ids, ChangeStatus.REJECTED)
        ctx.ledger.runs.update(run.id, status="rejected",
                               message=f"{run.message or ''}; {decision} by {who or 'nobody (no answer in time)'}")
    log.info("%s: urgent override %s by %s after %.0f s (counted in the deadline)", store, decision,
             who or "nobody", waited)
    return detail


def decision_of(ledger, sync_run_id: int) -> dict[str, Any] | None:
    """The recorded approval decision of a run (None: none was asked)."""
    milestone = ledger.runs.milestones(sync_run_id).get("approval")
    return dict(milestone.detail) if milestone else None
