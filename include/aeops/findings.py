"""Findings: what a rule found, with the stable codes of docs/design.md.

A finding with severity ``error`` blocks its row (or file); ``warning`` does not. ``row`` is the row
number as the user sees it in the file (header = row 1, first data row = row 2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
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


@dataclass(frozen=True, slots=True)
class Finding:
    """One finding; ``to_dict`` gives the JSON shape of ``aeops ... --json``."""

    code: str
    severity: Severity
    message: str
    file: str | None = None
    row: int | None = None
    product_id: int | None = None
    sku_code: str | None = None
    field: str | None = None

    def __post_init__(self) -> None:
        if self.code not in ALL_CODES:
            raise ValueError(f"unknown finding code {self.code!r}")

    @property
    def blocking(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        return {key: data[key] for key in ("code", "severity", "file", "row", "product_id", "sku_code", "field",
                                           "message")}
