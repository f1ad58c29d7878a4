"""A finding's words in the reader's language: what is wrong and what to do about its very cause.

Works on every shape a finding takes: an :class:`aeops.findings.Finding`, a stored finding row (its ``texts``
column), a finding kept in JSON (``{"code", "message", "texts"}``) or the ``to_dict()`` of the CLI. A finding
kept without its texts (rows written before they were kept) is shown with its English ``message`` and the advice of
its code (:data:`ADVICE`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aeops.findings import JOIN, join, texts_of
from aeops.i18n import N_, translator

__all__ = ["ADVICE", "advice", "code_advice", "finding_message", "finding_problem", "finding_todo"]

_JOIN_MESSAGE = N_("{a}; {b}")  # aeops.findings.JOIN: joins a problem and its todo, and listed parts
assert _JOIN_MESSAGE == JOIN

# What to do about a finding code when its cause is not known (a finding kept without its texts): one short
# instruction an operator can act on (English source; translated where shown).
ADVICE: dict[str, str] = {
    "SKU-MISSING": N_("Fill in the SKU code in the ERP export."),
    "SKU-CHARS": N_("Remove & # / and other banned characters from the SKU code in the ERP."),
    "SKU-DUPLICATE": N_("Give each SKU a unique code in the ERP export."),
    "PRODUCT-ID-INVALID": N_("Fix the product id (digits only) in the export."),
    "TITLE-MISSING": N_("Add a title in the ERP."),
    "TITLE-TOO-LONG": N_("Shorten the title in the ERP."),
    "PRICE-INVALID": N_("Fix the price (a positive number) in the ERP."),
    "DISCOUNT-INVALID": N_("Make the discount price positive and below the price."),
    "STOCK-INVALID": N_("Fix the stock (a whole number, 0 or more) in the ERP."),
    "FREIGHT-TEMPLATE-UNKNOWN": N_("Use a shipping template id that exists in the seller center."),
    "IMG-MISSING": N_("Add the main image file or fix its path."),
    "IMG-UNREADABLE": N_("Re-export the main image as a valid JPEG or PNG."),
    "IMG-TOO-BIG": N_("Compress the main image below the size limit."),
    "ERR-207": N_("Replace the main image with one of at least 800x800 px."),
    "IMG-TRANSPARENT": N_("Flatten the transparent PNG onto white (auto-fix available) or re-export."),
    "IMG-BACKGROUND": N_("Use a pure white background for apparel main images."),
    "CERT-NAME": N_("Rename the file to <Brand>_<CertificateType>_<ValidUntilYYYYMMDD>.pdf."),
    "CERT-UNREADABLE": N_("Upload a readable PDF of the certificate (no password, with a text layer)."),
    "CERT-MISMATCH": N_("Make the file name agree with the certificate's own number, issuer and dates."),
    "CERT-VALIDITY": N_("Check the validity period; CE may be valid for at most 2 years."),
    "CERT-EXPIRING": N_("Order the renewed certificate now and upload it before expiry."),
    "ERR-412": N_("Upload a valid certificate now: the category's products are delisted."),
    "CERT-MISSING": N_("Upload the certificate the category needs for this brand."),
    "LOGO-SIZE": N_("Use a logo of at least 800x800 px."),
    "LOGO-FORMAT": N_("Use a PNG logo."),
    "LOGO-STALE": N_("Rotate the store logo (at least once a quarter)."),
    "IMG-NO-FACE": N_("Check the apparel photo: the model's face must be clearly visible (a person decides)."),
    "IMG-TEXT": N_("Check the photo for a watermark or text; re-shoot or clean it if it is one."),
    "IMG-NEW-BACKGROUND": N_("Give the new product's first image a pure white background."),
    "IMG-NEW-SIZE": N_("Use a first image of at least 1000x1000 px for a new product."),
    "LOGO-TEXT": N_("Check the logo: no text may cover it."),
    "FILE-UNREADABLE": N_("Check that the ERP wrote a complete, readable export."),
    "FILE-ENCODING": N_("Export as UTF-8 (or GB18030) text."),
    "FILE-COLUMNS": N_("Add the missing columns to the ERP export."),
    "FILE-TRUNCATED": N_("The export ends mid-row: let the ERP finish writing it (or use .done markers), then "
                         "run again."),
}


def code_advice(code: str, lang: str | None = None) -> str | None:
    """What to do about a finding code in general, in ``lang`` (None for a code without advice)."""
    text = ADVICE.get(str(code))
    return translator(lang)(text) if text else None


def _get(finding: Any, key: str) -> Any:
    return finding.get(key) if isinstance(finding, Mapping) else getattr(finding, key, None)


def finding_problem(finding: Any, lang: str | None = None) -> str:
    """What is wrong, in ``lang`` (a finding kept without its texts: its message as written)."""
    problem, _todo = texts_of(finding)
    if problem is None:
        return str(_get(finding, "message") or "")
    return problem.render(translator(lang))


def finding_todo(finding: Any, lang: str | None = None) -> str | None:
    """What to do about this finding's cause, in ``lang``, as a sentence of its own (first letter upper case);
    the advice of its code when the cause is not known."""
    _problem, todo = texts_of(finding)
    if todo is None:
        return code_advice(str(_get(finding, "code")), lang)
    text = todo.render(translator(lang))
    return text[:1].upper() + text[1:]


def finding_message(finding: Any, lang: str | None = None) -> str:
    """The whole message in ``lang``: what is wrong; what to do (the English one is the finding's ``message``)."""
    problem, todo = texts_of(finding)
    if problem is None:
        return str(_get(finding, "message") or "")
    _ = translator(lang)
    return join(problem, todo, _)


def advice(finding: Any, lang: str | None = None) -> str | None:
    """``finding_todo`` for a finding; for a bare code, the code's advice."""
    if isinstance(finding, str):
        return code_advice(finding, lang)
    return finding_todo(finding, lang)
