"""Findings: what a rule found, with the stable codes of docs/design.md, and its words in any language.

A finding with severity ``error`` blocks its row (or file); ``warning`` does not. ``row`` is the row
number as the user sees it in the file (header = row 1, first data row = row 2).

Words: a finding carries its ``problem`` (what is wrong) and its ``todo`` (what to do about this very cause) as
:class:`Text`: an English template, which is a message of the gettext catalogs, and the values that fill it. They
are rendered in the reader's language where they are shown (``Text.render(gettext)``; the report, the CSV, Slack,
the CLI: :mod:`aeops.notify.finding_texts`). ``message`` is the English rendering (``problem; todo``), kept for the
``--json`` contract, the CSV's ``message_en`` and the logs.

Rules declare each cause once, at module level, as a :class:`Cause` (code, problem, todo); every declared cause is
listed in :data:`CAUSES` so one test renders each in both languages (tests/unit/test_finding_texts.py).

A leaf of the package: imports nothing of aeops (templates are marked for extraction with ``aeops.i18n.N_`` where
they are declared).
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    """How bad a finding is: an error blocks its row or file, a warning is reported only."""
    ERROR = "error"
    WARNING = "warning"


# The finding codes are a contract (docs/design.md); messages may change, codes may not.
ROW_CODES = (
    "SKU-MISSING", "SKU-CHARS", "SKU-DUPLICATE", "PRODUCT-ID-INVALID", "TITLE-MISSING", "TITLE-TOO-LONG",
    "PRICE-INVALID", "DISCOUNT-INVALID", "STOCK-INVALID", "FREIGHT-TEMPLATE-UNKNOWN",
)
IMAGE_CODES = ("IMG-MISSING", "IMG-UNREADABLE", "IMG-TOO-BIG", "ERR-207", "IMG-TRANSPARENT", "IMG-BACKGROUND")
CERT_CODES = (
    "CERT-NAME", "CERT-UNREADABLE", "CERT-MISMATCH", "CERT-VALIDITY", "CERT-EXPIRING", "ERR-412", "CERT-MISSING",
)
LOGO_CODES = ("LOGO-SIZE", "LOGO-FORMAT", "LOGO-STALE")
FILE_CODES = ("FILE-UNREADABLE", "FILE-ENCODING", "FILE-COLUMNS", "FILE-TRUNCATED")
# Warnings of the image detectors and the new-product first-image checks: routed to a person, never blocking.
REVIEW_CODES = ("IMG-NO-FACE", "IMG-TEXT", "IMG-NEW-BACKGROUND", "IMG-NEW-SIZE", "LOGO-TEXT")
ALL_CODES = ROW_CODES + IMAGE_CODES + CERT_CODES + LOGO_CODES + FILE_CODES + REVIEW_CODES

JOIN = "{a}; {b}"
"""How two parts are joined (a problem and its todo; the items of a list). A catalog message like any other
(marked in :mod:`aeops.notify.finding_texts`): Chinese joins with a full-width semicolon."""
RESERVED = frozenset({"code", "severity", "message", "file", "row", "product_id", "sku_code", "field"})
"""Names a template may not use as placeholders: :meth:`Cause.finding` takes them as the finding's own fields."""


def _same(text: str) -> str:
    return text


def placeholders(template: str) -> set[str]:
    """The ``{name}`` placeholders of a template."""
    return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name}


@dataclass(frozen=True, slots=True)
class Text:
    """A message in no language yet: an English ``template`` (a catalog message with ``{name}`` placeholders)
    and the values that fill it.

    A value is shown as it is (a file name, a number, a SKU code: data, never translated), unless it is itself a
    :class:`Text` (a translated part, e.g. why a file name is wrong) or a list of them (joined with :data:`JOIN`).
    Values must be JSON types (the aeops DB keeps them: :meth:`to_json`).
    """

    template: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.template, repr(sorted(self.params.items()))))

    def render(self, gettext: Callable[[str], str] = _same) -> str:
        """The text in the language of ``gettext`` (English without one)."""
        values = {key: _value(value, gettext) for key, value in self.params.items()}
        for template in (gettext(self.template), self.template):  # a translation that lost a placeholder: English
            try:
                return template.format(**values)
            except (KeyError, IndexError, ValueError):
                continue
        return self.template

    def to_json(self) -> dict[str, Any]:
        """The text as JSON: its template and its parameters (for the aeops DB)."""
        return {"template": self.template, "params": {k: _json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: Any) -> Text | None:
        """The text kept by :meth:`to_json` (None for anything else)."""
        if not isinstance(data, Mapping) or not isinstance(data.get("template"), str):
            return None
        params = data.get("params") if isinstance(data.get("params"), Mapping) else {}
        return cls(data["template"], {k: _unjson(v) for k, v in params.items()})


def _value(value: Any, gettext: Callable[[str], str]) -> Any:
    if isinstance(value, Text):
        return value.render(gettext)
    if isinstance(value, list | tuple) and value and all(isinstance(v, Text) for v in value):
        rendered = [v.render(gettext) for v in value]
        joined = rendered[0]
        for item in rendered[1:]:
            joined = gettext(JOIN).format(a=joined, b=item)
        return joined
    return value


def _json(value: Any) -> Any:
    if isinstance(value, Text):
        return {"text": value.to_json()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return value


def _unjson(value: Any) -> Any:
    if isinstance(value, Mapping) and "text" in value:
        return Text.from_json(value["text"]) or ""
    if isinstance(value, list):
        return [_unjson(v) for v in value]
    return value


def join(problem: Text | None, todo: Text | None, gettext: Callable[[str], str] = _same) -> str:
    """``problem; todo`` in the language of ``gettext`` (either may be missing)."""
    parts = [t.render(gettext) for t in (problem, todo) if t is not None]
    if len(parts) == 2:
        return gettext(JOIN).format(a=parts[0], b=parts[1])
    return parts[0] if parts else ""


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding; ``to_dict`` gives the JSON shape of ``aeops ... --json``.

    Built by a rule from its :class:`Cause` (``problem`` and ``todo`` set, ``message`` their English rendering);
    a finding made with only a ``message`` still works everywhere (shown as it is, with the code's advice).
    """

    code: str
    severity: Severity
    message: str = ""
    file: str | None = None
    row: int | None = None
    product_id: int | None = None
    sku_code: str | None = None
    field: str | None = None
    problem: Text | None = None
    todo: Text | None = None

    def __post_init__(self) -> None:
        if self.code not in ALL_CODES:
            raise ValueError(f"unknown finding code {self.code!r}")
        if not self.message and self.problem is not None:
            object.__setattr__(self, "message", join(self.problem, self.todo))

    @property
    def blocking(self) -> bool:
        """Whether the finding blocks its row or file (an error)."""
        return self.severity is Severity.ERROR

    def texts_json(self) -> dict[str, Any] | None:
        """``problem`` and ``todo`` as the aeops DB keeps them (None for a finding with a message only)."""
        if self.problem is None:
            return None
        return {"problem": self.problem.to_json(), "todo": self.todo.to_json() if self.todo else None}

    def to_dict(self) -> dict[str, Any]:
        """The finding's public fields as a dict (the JSON output)."""
        data = asdict(self)
        data["severity"] = str(self.severity)
        return {key: data[key] for key in ("code", "severity", "file", "row", "product_id", "sku_code", "field",
                                           "message")}


def texts_of(item: Any) -> tuple[Text | None, Text | None]:
    """(problem, todo) of a :class:`Finding`, a stored finding row (its ``texts`` column) or a dict holding
    ``texts`` (a finding kept in JSON); (None, None) when it has only a message."""
    if isinstance(item, Finding):
        return item.problem, item.todo
    kept = item.get("texts") if isinstance(item, Mapping) else getattr(item, "texts", None)
    if not isinstance(kept, Mapping):
        return None, None
    return Text.from_json(kept.get("problem")), Text.from_json(kept.get("todo"))


CAUSES: list[Cause] = []
"""Every cause a rule declared (filled at import of the rule modules)."""
PARTS: list[str] = []
"""Every template of a part (a :class:`Text` used as a value of another) a rule declared with :func:`part`."""


@dataclass(frozen=True)
class Cause:
    """One cause of a finding code: what is wrong (``problem``) and what to do about it (``todo``), both English
    templates marked with ``N_`` where they are declared. The advice follows the cause: a password-protected
    certificate is told to upload a copy without a password, a scanned one to get a searchable copy."""

    code: str
    problem: str
    todo: str | None = None
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        if self.code not in ALL_CODES:
            raise ValueError(f"unknown finding code {self.code!r}")
        clash = (placeholders(self.problem) | placeholders(self.todo or "")) & RESERVED
        if clash:
            raise ValueError(f"{self.code}: placeholder(s) {sorted(clash)} are finding fields; rename them")
        CAUSES.append(self)

    def finding(self, *, file: str | None = None, row: int | None = None, product_id: int | None = None,
                sku_code: str | None = None, field: str | None = None, severity: Severity | None = None,
                **params: Any) -> Finding:
        """The finding of this cause; ``params`` fill both templates."""
        return Finding(code=self.code, severity=severity or self.severity, file=file, row=row, product_id=product_id,
                       sku_code=sku_code, field=field, problem=Text(self.problem, params),
                       todo=Text(self.todo, params) if self.todo else None)


def part(template: str) -> str:
    """Declare the template of a part (a translated value of another text); returns it unchanged."""
    PARTS.append(template)
    return template
