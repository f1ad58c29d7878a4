"""``aeops logo``: check a store logo file against the logo rules; print a table or JSON.

Exit codes (docs/design.md): 0 checked, nothing blocking; 1 findings block some rows or files; 2 could not check
(raised as :class:`aeops.errors.CommandError`, printed as one ``error:`` line).
"""

from __future__ import annotations

import argparse
import os
from collections import Counter

from aeops.catalog.validation import optional_rules
from aeops.commands.output import counts_line, emit, language
from aeops.errors import EXIT_FINDINGS, EXIT_OK, CommandError
from aeops.i18n import translator


def logo_command(args: argparse.Namespace) -> int:
    """``aeops logo FILE [--json]``."""
    if "://" not in args.file and not os.path.isfile(args.file):
        raise CommandError(f"{args.file} is not a file")

    logo_module = optional_rules("logo")
    if logo_module is None:
        raise CommandError("the logo rules (aeops.rules.logo) are not installed")
    findings = logo_module.check_logo(args.file)
    errors = sum(1 for f in findings if f.blocking)
    summary = {"file": args.file, "findings": len(findings), "errors": errors, "warnings": len(findings) - errors,
               "by_code": dict(sorted(Counter(f.code for f in findings).items()))}
    lang = language(args)
    _ = translator(lang)
    verdict = _("ready to upload") if not errors else _("not ready: fix the findings above")
    emit(summary, findings, args.json, [f"{args.file}: {verdict}", counts_line(findings, lang)], lang)
    return EXIT_FINDINGS if errors else EXIT_OK
