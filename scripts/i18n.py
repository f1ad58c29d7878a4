"""Re-extract the translatable messages and update both catalogs (``make i18n``); ``--check`` only reports.

Reads ``babel.cfg``, extracts every ``_()``, ``ngettext()``, ``N_()`` and template ``{{ _() }}`` /
``{% trans %}`` message in-process (Babel's extractor; no ``pybabel`` binary needed), then for
``include/aeops/locale/{en,zh_CN}/LC_MESSAGES/aeops.po``:

- adds new messages (English: the source text itself; Chinese: empty, to be translated),
- drops messages no longer in the code,
- keeps every existing translation, and never guesses one (no fuzzy matching).

It prints the Chinese messages still untranslated; ``tests/unit/test_i18n.py`` fails while any is left.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "include" / "aeops" / "locale"
LANGS = ("en", "zh_CN")
# _ / gettext / ngettext as usual; N_ marks a constant; n_ is the plural function of a language: n_ = ngettext(lang)
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "n_": (1, 2)}
STAMP = datetime(2026, 12, 1, tzinfo=UTC)


def template() -> Catalog:
    """Every message of the sources, as a catalog without translations."""
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    catalog = Catalog(project="aeops", version="0.1.0", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",), strip_comment_tags=True):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def updated(lang: str, source: Catalog) -> Catalog:
    """The catalog of ``lang`` brought in line with ``source`` (a fresh template: update() shares its messages)."""
    path = LOCALE_DIR / lang / "LC_MESSAGES" / "aeops.po"
    if path.is_file():
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang, domain="aeops")
    else:
        catalog = Catalog(locale=lang, domain="aeops", project="aeops", version="0.1.0", charset="utf-8")
    catalog.update(source, no_fuzzy_matching=True, update_header_comment=False)
    catalog.obsolete.clear()
    catalog.fuzzy = False
    catalog.creation_date = catalog.revision_date = STAMP  # stable headers: a re-run changes nothing
    if lang == "en":  # the source language: every message translates to itself
        for message in catalog:
            if not message.id:
                continue
            if isinstance(message.id, tuple | list):
                if not all(message.string or ()):
                    message.string = tuple(message.id[:2])
            elif not message.string:
                message.string = message.id
    return catalog


def untranslated(catalog: Catalog) -> list[str]:
    missing = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        if not all(s and s.strip() for s in strings):
            missing.append(message.id if isinstance(message.id, str) else message.id[0])
    return missing


def main(argv: list[str]) -> int:
    check = "--check" in argv
    problems = 0
    for lang in LANGS:
        catalog = updated(lang, template())
        path = LOCALE_DIR / lang / "LC_MESSAGES" / "aeops.po"
        if not check:
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("wb") as fh:
                write_po(fh, catalog, width=120, sort_output=True, include_previous=False, omit_header=False)
        missing = untranslated(catalog)
        problems += len(missing)
        print(f"{lang}: {len([m for m in catalog if m.id])} messages, {len(missing)} untranslated")
        for msgid in missing:
            print(f"  {msgid!r}")
    return 1 if check and problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
