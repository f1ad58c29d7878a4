"""The Jinja2 environment of every page aeops renders (run reports, the UI plugin's pages), one per language.

Templates use new-style gettext (``{{ _("Rows") }}``, ``{{ _("%(n)s rows", n=3) }}``) from :mod:`aeops.i18n`'s
catalogs, autoescaping, and filters that format for the reader: ``dt(tz)`` (a time in the store's zone),
``pct``, ``num``, ``status``/``tone`` (a run status's label and colour class). Every printed value passes
through the secret registry (an error text may quote a token).
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from aeops import i18n
from aeops.reports import labels
from aeops.secrets import redact


def _masked(value: Any) -> Any:
    """Redact secrets from printed text; markup aeops built itself (charts) passes as it is."""
    if isinstance(value, Markup):
        return value
    return redact(value) if isinstance(value, str) else value


@functools.cache
def environment(lang: str | None = None, extra_packages: tuple[str, ...] = ()) -> Environment:
    """The environment for ``lang``; templates of ``extra_packages`` (``"aeops.ui"``) come first."""
    lang = i18n.normalize(lang)
    loaders = [PackageLoader(pkg, "templates") for pkg in extra_packages]
    loaders.append(PackageLoader("aeops.reports", "templates"))
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html", "svg"]),
                      finalize=_masked, extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.globals["lang"] = lang
    env.globals["html_lang"] = i18n.html_lang(lang)
    env.filters["dt"] = lambda when, tz="UTC": i18n.datetime_in(when, tz, lang)
    env.filters["pct"] = lambda rate, digits=1: i18n.percent(rate, lang, digits=digits)
    env.filters["num"] = lambda value: i18n.number(value, lang) if isinstance(value, int | float) else value
    env.filters["status"] = lambda status: labels.status_label(status, lang)
    env.filters["tone"] = labels.status_tone
    env.filters["change_status"] = lambda key: labels.label(labels.CHANGE_STATUS, key, lang)
    env.filters["change_kind"] = lambda key: labels.label(labels.CHANGE_KIND, key, lang)
    env.filters["check"] = lambda key: labels.label(labels.CHECK, key, lang)
    env.filters["unreadable"] = lambda key: labels.label(labels.UNREADABLE, key, lang)
    env.filters["severity"] = lambda key: labels.label(labels.SEVERITY, key, lang)
    env.filters["outbox"] = lambda key: labels.label(labels.OUTBOX_STATUS, key, lang)
    env.filters["task_kind"] = lambda key: labels.label(labels.TASK_KIND, key, lang)
    return env


def render(template: str, lang: str | None, context: dict[str, Any], extra_packages: tuple[str, ...] = ()) -> str:
    """Render a report template in ``lang`` with ``context``."""
    return environment(i18n.normalize(lang), extra_packages).get_template(template).render(**context)
