"""``aeops store add NAME --conn-id ID ...``: add a store in one step.

1. The new store's entry (``--like STORE`` copies another store's settings except its name, connection, folders
   of its own and schedules) is validated with the rest of ``aeops_config``;
2. its connection is checked against the marketplace like the daily sync's preflight (credentials, token,
   documented standing), its folders and schedules like ``aeops doctor`` does; a problem stops here, nothing
   written (``--force`` writes anyway);
3. the entry is written to ``aeops_config`` (``--config-file``, ``AEOPS_CONFIG``'s file, or the Airflow Variable);
4. a dry run (the daily sync's intake, validation and plan; nothing written to the marketplace) prints what the
   store's first run will change, and its DAGs with their next run time in the store's zone.

Output in the reader's language (``--lang``, else ``$AEOPS_LANGUAGE``, else the first store's; zh-CN by default).
Exit 0: added, checked; 1: problems (printed, one line each); 2: could not do it.
"""

from __future__ import annotations

import argparse
import copy
from datetime import UTC, datetime
from typing import Any

from aeops.catalog.account import Decision
from aeops.commands.config_source import load_source
from aeops.commands.deployment_checks import Problem, check_folders, check_marketplace, check_schedules
from aeops.config import AeopsConfig, ConfigError, parse_config
from aeops.errors import CommandError
from aeops.i18n import translator
from aeops.schedules import JOBS, StoreSchedule, crons_of, timetable
from aeops.secrets import scrub
from aeops.store.ledger import Ledger
from aeops.sync.intake import pull_export
from aeops.sync.planning import plan
from aeops.sync.validate import validate

DRY_RUN_DAG_ID = "aeops_store_add"  # the dry run's record in the aeops DB (its own history, never a daily run)
OWN_SETTINGS = ("name", "conn_id", "exports", "reports", "store_num", "store_name", "schedules")
OPTIONS = {  # argument -> store setting
    "timezone": "timezone", "language": "language", "exports": "exports", "images_dir": "images_dir",
    "certs": "certs", "logo": "logo", "reports": "reports", "alerts_channel": "slack_alerts_channel",
    "reports_channel": "slack_reports_channel", "merchant_type": "merchant_type",
    "standing_checked_on": "standing_checked_on", "store_num": "store_num", "store_name": "store_name",
}


def new_entry(document: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The new store's entry: ``--like``'s settings (without its own), then the options given."""
    entry: dict[str, Any] = {}
    if args.like:
        like = next((s for s in document.get("stores") or [] if s.get("name") == args.like), None)
        if like is None:
            raise CommandError(f"--like {args.like}: no such store in aeops_config")
        entry = {k: copy.deepcopy(v) for k, v in like.items() if k not in OWN_SETTINGS}
    entry.update(name=args.name, conn_id=args.conn_id)
    for option, setting in OPTIONS.items():
        value = getattr(args, option, None)
        if value not in (None, ""):
            entry[setting] = value
    if args.sync_at:
        entry["schedules"] = {"catalog_sync": args.sync_at}
    return entry


def dry_run(cfg: AeopsConfig, store: str) -> dict[str, Any]:
    """The daily sync's intake, validation and plan for ``store`` (the newest export, taken even if seen before),
    recorded as a dry run; returns the run's counts and planned changes by kind."""

    run_id = f"store_add__{datetime.now(UTC):%Y%m%dT%H%M%S}"
    pull_export(store, DRY_RUN_DAG_ID, run_id, force=True, config=cfg)
    ledger = Ledger(cfg.resolved_database_url())
    sync_run_id = ledger.runs.start(store, DRY_RUN_DAG_ID, run_id)
    try:
        validate(store, DRY_RUN_DAG_ID, run_id, config=cfg)
        planned = plan(store, DRY_RUN_DAG_ID, run_id, config=cfg, dry_run=True)
    finally:
        ledger.runs.update(sync_run_id, status="dry_run", finished_at=datetime.now(UTC))
    return {"counts": dict(ledger.runs.get(sync_run_id).counts or {}), "planned": planned}


def _next_runs(cfg: AeopsConfig, store: str, _) -> list[str]:
    """``dag_id: next run (local time, zone)`` for each of the store's DAGs."""
    import pendulum  # lazy: it comes with Airflow, and the CLI runs without Airflow
    from airflow.timetables.base import TimeRestriction  # lazy: the CLI runs without Airflow

    conf = cfg.store(store)
    schedule = StoreSchedule(store, conf.timezone, {j: crons_of(v) for j, v in conf.schedules.items()})
    lines = []
    for job in JOBS:
        info = timetable(schedule.crons(job), conf.timezone).next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(earliest=pendulum.now("UTC"), latest=None, catchup=False))
        when = info.run_after.in_timezone(conf.timezone).format("YYYY-MM-DD HH:mm") if info else "-"
        lines.append(_("  {dag}: next run {when} ({zone})").format(dag=schedule.dag_id(job), when=when,
                                                                  zone=conf.timezone))
    return lines


def _changes_line(result: dict[str, Any], _) -> str:
    counts, planned = result["counts"], result["planned"]
    kinds = {"price": _("prices"), "inventory": _("stock"), "edit": _("titles, images or freight")}
    parts = ", ".join(f"{kinds.get(k, k)} {n}" for k, n in sorted(planned.items())) or _("nothing")
    return _("the first run will change {products} product(s): {parts} (export: {rows} rows, {valid} valid, "
             "{blocked} blocked by findings)").format(
        products=counts.get("changed_products", 0), parts=parts, rows=counts.get("rows", 0),
        valid=counts.get("valid_rows", 0), blocked=counts.get("blocked_rows", 0))


def store_add_command(args: argparse.Namespace) -> int:
    """``aeops store add``: check the store, write it into aeops_config, dry-run it and list its DAGs."""
    source = load_source(args.config_file)
    lang = source.language(getattr(args, "lang", None))
    _ = translator(lang)
    document = copy.deepcopy(source.document)
    if any(s.get("name") == args.name for s in document.get("stores") or []):
        raise CommandError(f"store {args.name} is already configured in {source.label}")
    if source.kind == "defaults":
        document = {**document, "stores": document.get("stores") or []}
    document["stores"] = [*(document.get("stores") or []), new_entry(document, args)]
    try:
        cfg = parse_config(document)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    store = cfg.store(args.name)
    print(_("checking store {store} (connection {conn}) against the marketplace ...").format(store=store.name,
                                                                                          conn=store.conn_id))
    problems, answer = check_marketplace(cfg, store, _)
    problems += check_folders(store, _) + check_schedules(store, _)
    for problem in problems:
        print(problem.line())
    if problems and not args.force:
        print(_("nothing written: fix the problems above and run the command again (or add --force)"))
        return 1
    if answer:
        print(_("✓ seller {seller}: {standing}").format(
            seller=answer.get("seller_id"), standing=Decision.from_dict(answer["standing"]).text(lang)))
    source.write(document)
    print(_("✓ store {store} added to {where}").format(store=store.name, where=source.label))
    status = 1 if problems else 0
    if not args.no_dry_run:
        try:
            result = dry_run(cfg, store.name)
            print("✓ " + _("dry run: ") + _changes_line(result, _))
        except Exception as exc:  # noqa: BLE001 - the store is added; the dry run's trouble is a problem line

            print(Problem(_("store {store}").format(store=store.name), _("dry run failed: {error}").format(
                error=scrub(" ".join(str(exc).split()))[:300]), _("fix it before the first run (aeops doctor)")).line())
            status = 1
    print(_("its DAGs (they appear at the DAG processor's next parse; unpause them if new DAGs start paused):"))
    for line in _next_runs(cfg, store.name, _):
        print(line)
    return status
