"""``aeops doctor``: check a whole deployment and print one line per problem with what to fix.

Checks, each on its own (one broken part never hides another's problems): the ``aeops_config`` settings; the
aeops DB's schema; the Fernet key (and that it opens the stored tokens); the Slack bot token (``auth.test``); the
pools; then per store its connection, credentials, token and documented standing (asked of the marketplace like
the daily sync's preflight), its folders and its schedules (and its DAGs paused in Airflow). Output in the
reader's language (``--lang``, else ``$AEOPS_LANGUAGE``, else the first store's). Exit 0: no problem; 1: problems
printed; 2: could not check.
"""

from __future__ import annotations

import argparse

from aeops.commands.config_source import load_source
from aeops.commands.deployment_checks import (
    Problem,
    check_fernet,
    check_pools,
    check_schema,
    check_slack,
    check_store,
    dag_paused,
)
from aeops.config import ConfigError
from aeops.errors import CommandError
from aeops.i18n import ngettext, translator


def doctor_command(args: argparse.Namespace) -> int:
    """``aeops doctor``: one line per problem of the deployment with what to fix; exit 1 when there is one."""
    source = load_source(getattr(args, "config_file", None))
    lang = source.language(getattr(args, "lang", None))
    _, n_ = translator(lang), ngettext(lang)
    try:
        cfg = source.config()
    except ConfigError as exc:
        print(Problem("aeops_config", str(exc), _("fix it in {where}").format(where=source.label)).line())
        return 1
    names = [s.name for s in cfg.stores]
    unknown = sorted(set(args.stores or []) - set(names))
    if unknown:
        raise CommandError(f"unknown store(s) {', '.join(unknown)}; configured: {', '.join(names)}")
    url = cfg.resolved_database_url()
    problems: list[Problem] = []
    problems += check_schema(url, _)
    problems += check_fernet(url, _)
    if not args.offline:
        problems += check_slack(_)
    problems += check_pools(cfg, _)
    for store in cfg.stores:
        if args.stores and store.name not in args.stores:
            continue
        problems += check_store(cfg, store, _, marketplace=not args.offline, paused=dag_paused)
    for problem in problems:
        print(problem.line())
    checked = len(args.stores or names)
    if problems:
        print(n_("{n} problem found ({stores} store(s) checked, source: {where})",
                 "{n} problems found ({stores} store(s) checked, source: {where})", len(problems))
              .format(n=len(problems), stores=checked, where=source.label))
        return 1
    print(_("no problem found ({stores} store(s) checked, source: {where})").format(stores=checked,
                                                                                  where=source.label))
    return 0
