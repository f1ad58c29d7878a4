"""Compliance documents beside the certificates: brand authorisation letters and category admission papers.

The guide names them with the CE/FCC/CPC certificates, and they live in the same folder and registry. They are
named like certificates, ``<Brand>_<Type>_<ValidUntilYYYYMMDD>.pdf``, with one of the types of
:data:`DOC_TYPES` (``Acme_BrandAuth_20271231.pdf``, ``Acme_CategoryAdmission_20270630.pdf``; the type's case is
forgiven and written back in its canonical form). Neither carries a certificate number or a test lab's name in a
certificate's sense, so their text is read by what each document is:

- ``BrandAuth`` (the brand owner lets the seller sell the brand): ``Brand:`` (the name's brand),
  ``Authorised by:`` (the brand owner granting it: kept as the registry's *issuer*, so a letter from another
  owner than the previous one waits for a person's approval like a certificate from another lab),
  ``Authorised seller:`` (who may sell) and ``Valid until:`` (the name's date);
- ``CategoryAdmission`` (the platform admits the brand to a category): ``Brand:``, ``Category:`` (one or more,
  separated by ``,`` ``;`` ``、`` or ``/``: the categories whose products it keeps on sale) and ``Valid until:``.

Optional on both: ``Issue date:`` (not after the valid-until), a number (``Authorisation No:``, ``Admission
No:``, ``Certificate No:``) and, on an admission, ``Issuer:`` / ``Issued by:``. Labels in English and Chinese
(``授权方``, ``被授权方``, ``类目``, ...), spacing and case tolerated, ``:`` or ``：``. What is missing is
``CERT-MISMATCH`` (the text does not say what the name claims), like a certificate's missing line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from aeops.findings import Cause, part
from aeops.i18n import N_

__all__ = ["BRAND_AUTH", "CATEGORY_ADMISSION", "DOC_TYPES", "canonical_type", "document_fields",
           "is_document", "missing_lines", "split_categories", "type_label"]

BRAND_AUTH = "BrandAuth"
CATEGORY_ADMISSION = "CategoryAdmission"
DOC_TYPES = (BRAND_AUTH, CATEGORY_ADMISSION)
"""The document types of the registry (beside certificate types such as CE, CPC, FCC)."""
TYPE_LABELS = {BRAND_AUTH: part(N_("brand authorisation")), CATEGORY_ADMISSION: part(N_("category admission"))}
"""How a person reads each document type (catalog messages: also parts of the findings below)."""

# What is wrong with a document's text, and what to do about that cause (the certificate's own: aeops.rules.certs)
DOC_LINES_MISSING = {
    BRAND_AUTH: Cause("CERT-MISMATCH", N_("brand authorisation {name}: the PDF text has no readable {labels} line(s) "
                                          "(dates such as 2027-01-31, 2027年1月31日 or 31.01.2027)"),
                      N_("ask the brand owner for a complete authorisation letter: whose brand, who authorises whom, "
                         "until when")),
    CATEGORY_ADMISSION: Cause("CERT-MISMATCH", N_("category admission {name}: the PDF text has no readable {labels} "
                                                  "line(s) (dates such as 2027-01-31, 2027年1月31日 or 31.01.2027)"),
                              N_("get the complete admission paper: the brand, the categories admitted, until when")),
}
DOC_DISAGREES = Cause("CERT-MISMATCH", N_("{kind} {name} disagrees with its own text: {differences}"),
                      N_("rename the file from the document's text (or get the right document)"))

_LABELS = {
    "authoriser": r"authori[sz]ed\s+by|authori[sz]er|authori[sz]ing\s+party|brand\s+owner|trademark\s+owner|"
                  r"licensor|grantor|授权方|授权人|授权单位|品牌方|品牌所有人|品牌持有人|商标所有人|商标注册人",
    "seller": r"authori[sz]ed\s+(?:seller|party|store|shop|company|distributor)|authori[sz]ed\s+to|licensee|"
              r"grantee|被授权方|被授权人|被授权单位|被授权店铺|被授权企业",
    "categories": r"(?:admitted\s+)?categor(?:y|ies)|类目|经营类目|准入类目|kategorie|cat[ée]gorie|categor[ií]a",
    "doc_number": r"(?:authori[sz]ation|admission|document|letter)\s*(?:no\.?|number|#)|授权(?:书)?编号|准入编号|"
                  r"文件编号",
}
_LINE_RES = {
    key: re.compile(rf"^\s*(?:{label})\s*[:：]\s*(?P<value>.*?)\s*$", re.IGNORECASE | re.MULTILINE)
    for key, label in _LABELS.items()
}
_CATEGORY_SPLIT = re.compile(r"\s*[,;，；、/]\s*")


def canonical_type(value: str | None) -> str | None:
    """The document type ``value`` names (case aside: ``brandauth`` -> ``BrandAuth``), else None."""
    wanted = (value or "").strip().casefold()
    return next((t for t in DOC_TYPES if t.casefold() == wanted), None)


def type_label(cert_type: str, _: Callable[[str], str] | None = None) -> str:
    """How a person reads the type: ``brand authorisation``, ``category admission`` (translated by ``_``), or a
    certificate's type as it is (``CE``)."""
    label = TYPE_LABELS.get(cert_type)
    if label is None:
        return cert_type
    return _(label) if _ else label


def is_document(cert_type: str | None) -> bool:
    """True for a document type (:data:`DOC_TYPES`), False for a certificate type (CE, CPC, ...)."""
    return canonical_type(cert_type) is not None


def split_categories(value: str | None) -> tuple[str, ...]:
    """The categories written in a ``Category:`` line (``Toys, Home`` -> ``("Toys", "Home")``)."""
    return tuple(part for part in _CATEGORY_SPLIT.split((value or "").strip()) if part)


def document_fields(text: str) -> dict[str, Any]:
    """The document's own labelled lines (keys of the labels above; ``categories`` as a tuple); a missing label
    gives no key."""
    found: dict[str, Any] = {}
    for key, pattern in _LINE_RES.items():
        match = pattern.search(text)
        if match and match["value"].strip():
            found[key] = split_categories(match["value"]) if key == "categories" else match["value"].strip()
    return found


def missing_lines(doc_type: str, fields: dict[str, Any]) -> list[str]:
    """The lines a document of ``doc_type`` must carry and does not (``fields``: the certificate labels read by
    :func:`aeops.rules.certs.parse_certificate_text` merged with :func:`document_fields`)."""
    need: list[tuple[str, Any]] = [("Brand", fields.get("brand"))]
    if doc_type == BRAND_AUTH:
        need += [("Authorised by", fields.get("authoriser") or fields.get("issuer")),
                 ("Authorised seller", fields.get("seller"))]
    else:
        need.append(("Category", fields.get("categories")))
    need.append(("Valid until", fields.get("valid_until")))
    return [label for label, value in need if not value]
