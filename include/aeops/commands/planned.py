"""``aeops planned [STORE] [--json]``: the planned price overrides (urgent runs with a ``start_at``), newest first.

Each line: the store, when it starts and ends (UTC), the approval's state, its phase (waiting for its start,
started, ended, cancelled) and its Airflow run id. The same list as the health page's "Planned price overrides"
(:func:`aeops.reports.health.planned_overrides`).
"""

from __future__ import annotations

import argparse
import json

from aeops.commands.output import language
from aeops.config import load_config
from aeops.errors import CommandError
from aeops.i18n import N_, translator
from aeops.reports.health import planned_overrides
from aeops.store.ledger import Ledger


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"


APPROVALS = {"approved": N_("approved"), "waiting": N_("waiting for approval"), "rejected": N_("rejected"),
             "timed out": N_("not answered in time"), "not needed": N_("not needed")}
PHASES = {"waiting": N_("waiting for its start"), "started": N_("started"),
          "ended": N_("ended: its revert run started"), "cancelled": N_("cancelled: nothing written")}


def planned_command(args: argparse.Namespace) -> int:
    """``aeops planned``: list the planned price overrides (approved, not yet ended) of one store or all."""
    config = load_config()
    names = [s.name for s in config.stores]
    if args.store and args.store not in names:
        raise CommandError(f"unknown store {args.store!r}; configured stores: {', '.join(names)}")
    ledger = Ledger(config.resolved_database_url())
    rows = [(store.name, p) for store in config.stores if args.store in (None, store.name)
            for p in planned_overrides(ledger, store)]
    if args.json:
        print(json.dumps([{"store": name, "run_id": p["run"].run_id, "starts": p["starts"].isoformat()
                           if p["starts"] else None, "ends": p["ends"].isoformat() if p["ends"] else None,
                           "approval": p["approval"], "phase": p["phase"], "reason": p["request"].get("reason")}
                          for name, p in rows], ensure_ascii=False))
        return 0
    _ = translator(language(args))
    if not rows:
        print(_("no planned price override for {store}").format(store=args.store) if args.store
              else _("no planned price override"))
    for name, p in rows:
        print(_("{store}: starts {starts}, ends {ends}; approval: {approval}; {phase}; run {run_id}: {reason}").format(
            store=name, starts=_when(p["starts"]), ends=_when(p["ends"]),
            approval=_(APPROVALS.get(p["approval"], p["approval"])), phase=_(PHASES.get(p["phase"], p["phase"])),
            run_id=p["run"].run_id, reason=p["request"].get("reason", "")))
    return 0
