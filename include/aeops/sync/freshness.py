"""Freshness (the guide: key fields synchronised within 24 hours of a change), checked at every daily run, skipped
ones too: how old the store's newest export is (its file's modification time), and since when the oldest unsynced
change (failed, unverified, blocked) has waited, counted from when its source changed (the export's ``updated_at``
column, else the export file's modification time: :meth:`aeops.store.repos.changes.Changes.oldest_unsynced`), not
from the run that first saw it. Past the store's limits (``export_max_age_hours``, default 24;
``unsynced_alert_hours``, default 24) it alerts in Slack, once per run; both ages go into the run's counts, which
the report shows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aeops.catalog.context import RunContext
from aeops.exports import newest_export
from aeops.i18n import translator
from aeops.locations import modified_at, resolve
from aeops.notify.messages import notice
from aeops.notify.send import send
from aeops.secrets import get_logger

log = get_logger(__name__)


def export_age_hours(ctx: RunContext, now: datetime) -> float | None:
    """Hours since the newest export of the store was written (None: no export, or no time to tell)."""
    try:
        location = newest_export(ctx.store.exports)
        written = modified_at(resolve(location)) if location else None
    except Exception as exc:  # noqa: BLE001 - an unreadable folder is reported by pull_export; no age then
        log.warning("%s: export age unknown (%s: %s)", ctx.store.name, type(exc).__name__, exc)
        return None
    return None if written is None else max(0.0, (now - written).total_seconds() / 3600)


def check_freshness(ctx: RunContext, run: Any, *, now: datetime | None = None) -> dict[str, float]:
    """The ages (``export_age_hours``, ``oldest_unsynced_hours``) recorded in the run's counts; a Slack alert, once
    per run, naming each limit passed. Slack trouble is logged, never raised."""
    at = now or datetime.now(UTC)
    ages: dict[str, float] = {}
    export_age = export_age_hours(ctx, at)
    if export_age is not None:
        ages["export_age_hours"] = round(export_age, 1)
    since = ctx.ledger.changes.oldest_unsynced(ctx.store.name, run.id)
    if since is not None:
        ages["oldest_unsynced_hours"] = round(max(0.0, (at - since).total_seconds() / 3600), 1)
    if ages:
        ctx.ledger.runs.update(run.id, counts=ages)
    stale = ages.get("export_age_hours", 0) > ctx.store.export_max_age_hours
    late = ages.get("oldest_unsynced_hours", 0) > ctx.store.unsynced_alert_hours
    if (stale or late) and ctx.ledger.runs.add_milestone(run.id, "freshness_alert", ages):
        log.warning("%s: not fresh: %s", ctx.store.name, ages)
        try:
            send(_alert(ctx, run, ages, stale, late), store=ctx.store.name, config=ctx.config, db_url=ctx.db_url)
        except Exception as exc:  # noqa: BLE001 - Slack trouble must not fail the run's own work
            log.error("%s: freshness alert not sent (%s: %s)", ctx.store.name, type(exc).__name__, exc)
    return ages


def _alert(ctx: RunContext, run: Any, ages: dict[str, float], stale: bool, late: bool):
    _ = translator(ctx.store.language)
    lines = []
    if stale:
        lines.append(_("The newest export is {age} hours old (alert above {limit} hours): is the ERP still "
                       "exporting?").format(age=ages["export_age_hours"], limit=f"{ctx.store.export_max_age_hours:g}"))
    if late:
        lines.append(_("A change has stayed unsynced for {age} hours (failed, unverified or blocked; the guide: "
                       "within {limit} hours). See the run's report.").format(
            age=ages["oldest_unsynced_hours"], limit=f"{ctx.store.unsynced_alert_hours:g}"))
    return notice(title=_("Catalog not fresh"), text="\n".join(lines), store=ctx.store.name, severity="warning",
                  kind="alert", dedupe_key=f"freshness:{ctx.store.name}:{run.run_id}")
