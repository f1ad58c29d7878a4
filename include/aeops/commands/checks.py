"""``aeops validate``, ``aeops certs`` and ``aeops logo``: run the rules and print a table or JSON.

Exit codes (docs/design.md): 0 checked, nothing blocking; 1 findings block some rows or files; 2 could not check
(raised as :class:`aeops.errors.CommandError`, printed as one ``error:`` line).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from collections import Counter
from collections.abc import Sequence
from datetime import date
from typing import Any, TextIO

from aeops.errors import EXIT_FINDINGS, EXIT_OK, CommandError
from aeops.findings import Finding
from aeops.i18n import N_, ngettext, normalize, translator
from aeops.notify.finding_texts import finding_message
from aeops.rules.cert_crosscheck import cross_check_folder
from aeops.rules.documents import is_document

_MESSAGE_WIDTH = 100
COLUMN_TITLES = {"FILE": N_("FILE"), "ROW": N_("ROW"), "PRODUCT": N_("PRODUCT"), "SKU": N_("SKU"),
                 "FIELD": N_("FIELD"), "SEVERITY": N_("SEVERITY"), "CODE": N_("CODE"), "MESSAGE": N_("MESSAGE")}


def language(args: argparse.Namespace) -> str:
    """The language of the human-readable output: ``--lang``, else ``$AEOPS_LANGUAGE``, else the first configured
    store's ``language`` (``zh-CN`` by default). ``--json`` output is the same in every language."""
    chosen = getattr(args, "lang", None) or os.environ.get("AEOPS_LANGUAGE")
    if chosen:
        return normalize(chosen)
    try:
        from aeops.config import load_config

        return load_config().stores[0].language
    except Exception:  # noqa: BLE001 - unreadable settings are reported by the command itself when it needs them
        return normalize(None)


def _width(text: str) -> int:
    """Columns a terminal uses for ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fit(text: str, width: int) -> str:
    """``text`` cut to ``width`` columns and padded to exactly that many."""
    out, used = [], 0
    for ch in text:
        w = _width(ch)
        if used + w > width:
            break
        out.append(ch)
        used += w
    return "".join(out) + " " * (width - used)


def _as_of(value: str | None) -> date:
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date like 2026-11-26") from None


def _config() -> Any:
    from aeops.config import ConfigError, load_config

    try:
        return load_config()
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def _local_dir(location: str, what: str) -> None:
    if "://" not in location and not os.path.isdir(location):
        raise CommandError(f"{what} {location} is not a folder")


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def render_table(findings: Sequence[Finding], out: TextIO, *, show_file: bool | None = None,
                 lang: str | None = "en") -> None:
    """Findings as an aligned text table (columns without any value are left out), headers and each finding's
    message in ``lang``."""
    if not findings:
        return
    _ = translator(lang)
    if show_file is None:
        show_file = len({f.file for f in findings}) > 1
    columns: list[tuple[str, Any]] = []
    if show_file:
        columns.append(("FILE", lambda f: os.path.basename(f.file or "")))
    for title, attr in (("ROW", "row"), ("PRODUCT", "product_id"), ("SKU", "sku_code"), ("FIELD", "field")):
        if any(getattr(f, attr) is not None for f in findings):
            columns.append((title, lambda f, a=attr: _cell(getattr(f, a))))
    columns += [("SEVERITY", lambda f: str(f.severity)), ("CODE", lambda f: f.code)]
    titles = [_(COLUMN_TITLES[title]) for title, _get in columns]
    cells = [[get(f) for _title, get in columns] for f in findings]
    widths = [max(_width(title), *(_width(row[i]) for row in cells)) for i, title in enumerate(titles)]
    widths = [min(w, 40) for w in widths]
    header = "  ".join(_fit(title, w) for title, w in zip(titles, widths, strict=True)) + "  " + _("MESSAGE")
    print(header.rstrip(), file=out)
    for finding, row in zip(findings, cells, strict=True):
        left = "  ".join(_fit(c, w) for c, w in zip(row, widths, strict=True))
        print(f"{left}  {finding_message(finding, lang)}", file=out)


def _emit(summary: dict[str, Any], findings: Sequence[Finding], as_json: bool, lines: list[str],
          lang: str | None = "en") -> None:
    if as_json:
        json.dump({"summary": summary, "findings": [f.to_dict() for f in findings]}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    render_table(findings, sys.stdout, lang=lang)
    if findings:
        print(file=sys.stdout)
    for line in lines:
        print(line, file=sys.stdout)


def _counts_line(findings: Sequence[Finding], lang: str | None = "en") -> str:
    _ = translator(lang)
    if not findings:
        return _("no findings")
    counts = Counter(f.code for f in findings)
    return _("by code: {counts}").format(counts=", ".join(f"{code} {n}" for code, n in sorted(counts.items())))


def validate_command(args: argparse.Namespace) -> int:
    """``aeops validate EXPORT [--images-dir D] [--certs-dir D] [--as-of YYYY-MM-DD] [--json]``."""
    from aeops.catalog.validation import validate_export
    from aeops.rules.rows import RuleConfigError

    as_of = _as_of(args.as_of)
    if args.images_dir:
        _local_dir(args.images_dir, "--images-dir")
    if args.certs_dir:
        _local_dir(args.certs_dir, "--certs-dir")
    try:
        result = validate_export(args.export, images_dir=args.images_dir, certs_dir=args.certs_dir, as_of=as_of,
                                 config=_config())
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
        _counts_line(result.findings, lang),
    ]
    _emit(summary, result.findings, args.json, lines, lang)
    return EXIT_FINDINGS if result.blocking else EXIT_OK


def certs_command(args: argparse.Namespace) -> int:
    """``aeops certs DIR [--as-of YYYY-MM-DD] [--json]``."""
    as_of = _as_of(args.as_of)
    _local_dir(args.dir, "certificate folder")
    from aeops.catalog.validation import optional_rules

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
        _counts_line(findings, lang),
    ]
    _emit(summary, findings, args.json, lines, lang)
    return EXIT_FINDINGS if errors else EXIT_OK


def logo_command(args: argparse.Namespace) -> int:
    """``aeops logo FILE [--json]``."""
    if "://" not in args.file and not os.path.isfile(args.file):
        raise CommandError(f"{args.file} is not a file")
    from aeops.catalog.validation import optional_rules

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
    _emit(summary, findings, args.json, [f"{args.file}: {verdict}", _counts_line(findings, lang)], lang)
    return EXIT_FINDINGS if errors else EXIT_OK
