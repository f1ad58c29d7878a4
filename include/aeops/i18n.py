"""Languages: Chinese (``zh-CN``, the default) and English for everything a person reads.

Message catalogs are gettext ``.po`` files in ``include/aeops/locale/<lang>/LC_MESSAGES/aeops.po`` (committed,
reviewed as text). They are compiled in memory the first time a language is used in a process (Babel's
``read_po`` -> ``write_mo`` -> ``Translations``, about 40 ms, then cached), so no ``.mo`` file can go stale
against its ``.po`` and every way of running aeops (``make``, plain ``pytest``, the Docker image, a worker)
sees the same catalogs. English is the source language: its catalog maps every message to itself and exists so
the both-languages test can check it, and a wording change in English needs no code change.

Use::

    from aeops.i18n import N_, translator

    _ = translator(store.language)          # a gettext function for this store's language
    _("Catalog sync skipped")               # -> "目录同步已跳过"
    n_ = ngettext(lang)                     # plurals: bind it to n_ so `make i18n` extracts them
    n_("{n} product", "{n} products", n).format(n=n)

``N_`` marks a module-level constant for extraction without translating it (translate where it is used).
Numbers, percentages and times are formatted per locale with :func:`number`, :func:`percent` and
:func:`datetime_in` (a time in the store's time zone). Adding a message: docs/i18n.md.

A leaf of the package: imports nothing of aeops (and Babel only when used), so every layer can use it cheaply.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from babel.support import NullTranslations

DOMAIN = "aeops"
LOCALE_DIR = Path(__file__).with_name("locale")
DEFAULT_LANGUAGE = "zh-CN"
LANGUAGES = ("zh-CN", "en")  # the values a store's ``language`` may take
_CATALOG = {"zh-CN": "zh_CN", "en": "en"}  # language -> catalog folder (and Babel locale)


def normalize(lang: str | None) -> str:
    """A supported language for ``lang``: ``zh``, ``zh_CN``, ``zh-Hans-CN`` -> ``zh-CN``; ``en-US`` -> ``en``;
    empty or unknown -> the default (``zh-CN``)."""
    text = str(lang or "").strip().replace("_", "-").lower()
    if not text:
        return DEFAULT_LANGUAGE
    if text == "zh" or text.startswith("zh-"):
        return "zh-CN"
    if text == "en" or text.startswith("en-"):
        return "en"
    return DEFAULT_LANGUAGE


def locale_of(lang: str | None) -> str:
    """The Babel locale name of a language (``zh_CN`` or ``en``)."""
    return _CATALOG[normalize(lang)]


def html_lang(lang: str | None) -> str:
    """The ``<html lang>`` value: ``zh-CN`` or ``en``."""
    return normalize(lang)


@functools.cache
def translations(lang: str | None = None) -> NullTranslations:
    """The compiled catalog of ``lang`` (cached per process); a missing catalog falls back to the source text."""
    from babel.messages.mofile import write_mo  # lazy: keeps DAG parsing light (Babel loads on first translation)
    from babel.messages.pofile import read_po  # lazy: keeps DAG parsing light (Babel loads on first translation)
    from babel.support import NullTranslations, Translations  # lazy: keeps DAG parsing light

    folder = _CATALOG[normalize(lang)]
    po_path = LOCALE_DIR / folder / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.is_file():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=folder, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)  # a fuzzy entry falls back to the English source
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def translator(lang: str | None) -> Callable[[str], str]:
    """``gettext`` of ``lang``: ``_ = translator(store.language); _("Failed")``."""
    return translations(lang).gettext


def ngettext(lang: str | None) -> Callable[[str, str, int], str]:
    """``ngettext`` of ``lang``; bind it as ``n_ = ngettext(lang)`` and call ``n_("{n} row", "{n} rows", n)`` (the
    extraction keyword is ``n_``)."""
    return translations(lang).ngettext


def gettext(message: str, lang: str | None = None) -> str:
    """``message`` translated into ``lang`` (the default language without one)."""
    return translations(lang).gettext(message)


def N_(message: str) -> str:  # noqa: N802 - the gettext convention pybabel extracts (-k N_)
    """Mark ``message`` for extraction; it is translated later, where it is shown."""
    return message


# --------------------------------------------------------------------------------------------- formatting
def number(value: float | int, lang: str | None = None) -> str:
    """``1234`` -> ``1,234`` (both locales group by thousands)."""
    from babel.numbers import format_decimal  # lazy: keeps DAG parsing light (Babel loads on first translation)

    return format_decimal(value, locale=locale_of(lang))


def percent(rate: float | None, lang: str | None = None, *, digits: int = 1) -> str:
    """``0.973`` -> ``97.3%``; None -> ``-``."""
    from babel.numbers import format_percent  # lazy: keeps DAG parsing light (Babel loads on first translation)

    if rate is None:
        return "-"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(rate, format=pattern, locale=locale_of(lang))


def _zone(timezone: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(timezone or "UTC")
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return ZoneInfo("UTC")


def as_zone(when: datetime, timezone: str | None) -> datetime:
    """``when`` in ``timezone`` (a naive time is taken as UTC, as the aeops DB stores it)."""
    aware = when if when.tzinfo else when.replace(tzinfo=UTC)
    return aware.astimezone(_zone(timezone))


def datetime_in(when: datetime | None, timezone: str | None, lang: str | None = None, *,
                seconds: bool = False) -> str:
    """A time as the store's people read it: ``2026-11-27 18:05 (UTC+08:00)`` in the store's zone.

    One numeric form for both languages (sortable, unambiguous) with the zone's offset shown, so a reader in
    another zone is never misled. None -> ``-``.
    """
    from babel.dates import format_datetime  # lazy: keeps DAG parsing light (Babel loads on first translation)

    if when is None:
        return "-"
    local = as_zone(when, timezone)
    pattern = "yyyy-MM-dd HH:mm:ss" if seconds else "yyyy-MM-dd HH:mm"
    return f"{format_datetime(local, pattern, locale=locale_of(lang))} ({zone_label(local)})"


def clock_in(when: datetime, timezone: str | None) -> str:
    """``18:05:09 UTC+08:00``: a time of day in the store's zone (for deadlines within a day)."""
    local = as_zone(when, timezone)
    return f"{local:%H:%M:%S} {zone_label(local)}"


def zone_label(local: datetime) -> str:
    """The UTC offset of an aware local time as ``UTC+08:00`` (``UTC`` for a naive one)."""
    offset = local.utcoffset()
    if offset is None:
        return "UTC"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def long_date(day: date, lang: str | None = None) -> str:
    """``2026年11月27日`` / ``Nov 27, 2026``."""
    from babel.dates import format_date  # lazy: keeps DAG parsing light (Babel loads on first translation)

    return format_date(day, "medium", locale=locale_of(lang))
