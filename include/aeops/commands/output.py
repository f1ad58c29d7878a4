"""What ``aeops validate``, ``aeops certs`` and ``aeops logo`` share: the output language, the findings table,
the JSON document and the summary lines.

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

from aeops.config import ConfigError, load_config
from aeops.errors import CommandError
from aeops.findings import Finding
from aeops.i18n import N_, normalize, translator
from aeops.notify.finding_texts import finding_message

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


def as_of_arg(value: str | None) -> date:
    """``--as-of YYYY-MM-DD`` as a date (today without it); a one-line error for anything else."""
    if not value:
        return date.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--as-of {value!r} is not a date like 2026-11-26") from None


def config_or_error() -> Any:
    """The aeops settings; unreadable settings are a one-line error."""
    try:
        return load_config()
    except ConfigError as exc:
        raise CommandError(str(exc)) from None


def require_local_dir(location: str, what: str) -> None:
    """A one-line error when a local ``location`` is not a folder (URLs are checked by their reader)."""
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


def emit(summary: dict[str, Any], findings: Sequence[Finding], as_json: bool, lines: list[str],
          lang: str | None = "en") -> None:
    """Print one JSON document (``--json``) or the findings table followed by the summary ``lines``."""
    if as_json:
        json.dump({"summary": summary, "findings": [f.to_dict() for f in findings]}, sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return
    render_table(findings, sys.stdout, lang=lang)
    if findings:
        print(file=sys.stdout)
    for line in lines:
        print(line, file=sys.stdout)


def counts_line(findings: Sequence[Finding], lang: str | None = "en") -> str:
    """The findings counted by code, in ``lang``."""
    _ = translator(lang)
    if not findings:
        return _("no findings")
    counts = Counter(f.code for f in findings)
    return _("by code: {counts}").format(counts=", ".join(f"{code} {n}" for code, n in sorted(counts.items())))


