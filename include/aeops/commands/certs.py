"""``aeops certs``: check a folder of certificate PDFs and compliance documents; print a table or JSON.

Exit codes (docs/design.md): 0 checked, nothing blocking; 1 findings block some rows or files; 2 could not check
(raised as :class:`aeops.errors.CommandError`, printed as one ``error:`` line).
"""

from __future__ import annotations

import argparse
from collections import Counter

from aeops.catalog.validation import optional_rules
from aeops.commands.output import as_of_arg, counts_line, emit, language, require_local_dir
from aeops.errors import EXIT_FINDINGS, EXIT_OK, CommandError
from aeops.i18n import ngettext, translator
from aeops.rules.cert_crosscheck import cross_check_folder
from aeops.rules.documents import is_document


def certs_command(args: argparse.Namespace) -> int:
    """``aeops certs DIR [--as-of YYYY-MM-DD] [--json]``."""
    as_of = as_of_arg(args.as_of)
    require_local_dir(args.dir, "certificate folder")

    certs_module = optional_rules("certs")
    if certs_module is None:
        raise CommandError("the certificate rules (aeops.rules.certs) are not installed")
    certificates, findings = certs_module.scan_certificates(args.dir, as_of)
    findings += cross_check_folder(certificates)  # a changed issuer: a warning the upload would ask a person about
    errors = sum(1 for f in findings if f.blocking)
    summary = {
        "folder": args.dir, "as_of": as_of.isoformat(), "certificates": len(certificates),
        "documents": sum(1 for c in certificates if is_document(c.cert_type)),
        "findings": len(findings), "errors": errors, "warnings": len(findings) - errors,
        "by_code": dict(sorted(Counter(f.code for f in findings).items())),
    }
    lang = language(args)
    _, n_ = translator(lang), ngettext(lang)
    read = n_("{n} certificate read as of {day}", "{n} certificates read as of {day}",
              len(certificates)).format(n=len(certificates), day=as_of.isoformat())
    if summary["documents"]:
        read += " " + n_("({n} of them a compliance document: brand authorisation or category admission)",
                         "({n} of them compliance documents: brand authorisations, category admissions)",
                         summary["documents"]).format(n=summary["documents"])
    lines = [
        f"{args.dir}: " + _("{read}; {errors} errors, {warnings} warnings").format(
            read=read, errors=errors, warnings=len(findings) - errors),
        counts_line(findings, lang),
    ]
    emit(summary, findings, args.json, lines, lang)
    return EXIT_FINDINGS if errors else EXIT_OK
