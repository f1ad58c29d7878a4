"""``aeops validate``: check a catalog export against the marketplace rules; print a table or JSON.

Exit codes (docs/design.md): 0 checked, nothing blocking; 1 findings block some rows or files; 2 could not check
(raised as :class:`aeops.errors.CommandError`, printed as one ``error:`` line).
"""

from __future__ import annotations

import argparse

from aeops.catalog.validation import validate_export
from aeops.commands.output import as_of_arg, config_or_error, counts_line, emit, language, require_local_dir
from aeops.errors import EXIT_FINDINGS, EXIT_OK, CommandError
from aeops.i18n import translator
from aeops.rules.rows import RuleConfigError


def validate_command(args: argparse.Namespace) -> int:
    """``aeops validate EXPORT [--images-dir D] [--certs-dir D] [--as-of YYYY-MM-DD] [--json]``."""

    as_of = as_of_arg(args.as_of)
    if args.images_dir:
        require_local_dir(args.images_dir, "--images-dir")
    if args.certs_dir:
        require_local_dir(args.certs_dir, "--certs-dir")
    try:
        result = validate_export(args.export, images_dir=args.images_dir, certs_dir=args.certs_dir, as_of=as_of,
                                 config=config_or_error())
    except RuleConfigError as exc:
        raise CommandError(str(exc)) from None
    if not result.checked:
        first = next(f for f in result.findings if f.code.startswith("FILE-"))
        where = "" if args.export in first.message else f"{args.export}: "
        raise CommandError(f"{first.code}: {where}{first.message}")
    summary = result.summary()
    lang = language(args)
    _ = translator(lang)
    lines = [
        f"{args.export}: " + _("{rows} rows, {valid} valid, {blocked} blocked; {errors} errors, "
                               "{warnings} warnings").format(
            rows=summary["rows"], valid=summary["valid_rows"], blocked=summary["blocked_rows"],
            errors=summary["errors"], warnings=summary["warnings"]),
        counts_line(result.findings, lang),
    ]
    emit(summary, result.findings, args.json, lines, lang)
    return EXIT_FINDINGS if result.blocking else EXIT_OK
