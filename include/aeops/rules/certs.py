"""Certificate rules: file name, readability, text vs name, CE validity span, expiry; CERT-MISSING per row.

A certificate is a PDF named ``<Brand>_<Type>_<ValidUntilYYYYMMDD>.pdf`` whose text carries the lines
``Certificate No:``, ``Brand:``, ``Type:``, ``Issuer:``, ``Issue date: YYYY-MM-DD`` and
``Valid until: YYYY-MM-DD`` (labels matched case-insensitively, spacing tolerated). The compliance documents
of :mod:`aeops.rules.documents` (types ``BrandAuth``, ``CategoryAdmission``) are named and checked the same way,
with the lines their kind carries. Every check takes an explicit ``as_of`` date; nothing here reads the wall clock.

Public functions: :func:`check_certificate` (one file; also used by the certificate-watch DAG),
:func:`scan_certificates` (a folder) and :func:`cert_missing` (rows whose category needs a certificate
type their brand has no valid certificate of). The cross-check against the registry is
:mod:`aeops.rules.cert_crosscheck`.
"""

from __future__ import annotations

import hashlib
import io
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from os import PathLike
from typing import Any, Literal, Protocol

from aeops.findings import Cause, Finding, Severity, Text, part
from aeops.i18n import N_
from aeops.locations import resolve
from aeops.rules.documents import (
    BRAND_AUTH,
    DOC_DISAGREES,
    DOC_LINES_MISSING,
    DOC_TYPES,
    TYPE_LABELS,
    canonical_type,
    document_fields,
    missing_lines,
)
from aeops.secrets import get_logger

log = get_logger(__name__)

__all__ = [
    "CE_MAX_YEARS",
    "CPC_DEADLINE_DAYS",
    "CPC_WARN_DAYS",
    "EXPIRING_DAYS",
    "CertInfo",
    "cert_missing",
    "check_certificate",
    "parse_certificate_name",
    "parse_certificate_text",
    "scan_certificates",
]

EXPIRING_DAYS = 30
"""A certificate expiring within this many days (inclusive) gets CERT-EXPIRING (the platform wants
toys' CPC re-uploaded at least 30 days before expiry)."""
CPC_WARN_DAYS = 60
"""A CPC certificate (toys) is ``expiring`` this many days ahead: its alerts start earlier (60 and 45 days)."""
CPC_DEADLINE_DAYS = 30
"""Toys' CPC must be re-uploaded at least this many days before it expires: from here on it is an error."""
CE_MAX_YEARS = 2
"""A CE certificate may be valid for at most this many years from its issue date."""
MAX_PDF_BYTES = 20 * 1024 * 1024
"""Certificates larger than this are not parsed (CERT-UNREADABLE): a one-page certificate is kilobytes."""
MAX_PDF_PAGES = 50
"""A certificate with more pages is refused before any text is extracted (20 MB of tiny pages would be thousands)."""
MAX_TEXT_SECONDS = 20.0
"""The text of one certificate is read for at most this long (checked between pages), then refused."""

CertStatus = Literal["valid", "expiring", "expired", "invalid"]

_NAME_RE = re.compile(r"^(?P<brand>[^_/\\]+)_(?P<type>[A-Za-z0-9]+)_(?P<date>\d{8})\.pdf$")
_TYPE_RE = re.compile(r"[A-Z0-9]+")
_LABELS = {  # English, Chinese, German, French, Italian, Spanish labels (the most specific first)
    "number": r"certificate\s*(?:no\.?|number|#)|证书编号|证书号码|证书号|zertifikats?[\s-]*(?:nr\.?|nummer)|"
              r"n[°ºo]\.?\s*(?:de\s+|du\s+)?certificat|num[ée]ro\s+(?:de\s+|du\s+)?certificat|"
              r"certificato\s+n\.?|n[úu]mero\s+de\s+certificado",
    "brand": r"brand|品牌|marke|marque|marca|商标",
    "cert_type": r"(?:certificate\s+)?type|证书类型|认证类型|类型|zertifikatstyp|typ|type\s+de\s+certificat|tipo",
    "issuer": r"issuer|issued\s+by|发证机构|颁发机构|签发机构|发证单位|认证机构|aussteller|ausgestellt\s+von|"
              r"d[ée]livr[ée]\s+par|[ée]metteur|rilasciato\s+da|emitido\s+por",
    "issue_date": r"issue\s*date|date\s+of\s+issue|发证日期|签发日期|颁发日期|ausstellungsdatum|ausgestellt\s+am|"
                  r"date\s+d['’]\s*[ée]mission|date\s+de\s+d[ée]livrance|data\s+di\s+rilascio|"
                  r"fecha\s+de\s+emisi[óo]n",
    "valid_until": r"valid\s*until|expiry\s*date|expires|有效期至|有效期限至|有效期限|有效期|到期日期|到期日|"
                   r"g[üu]ltig\s+bis|valable\s+jusqu['’]\s*au|date\s+d['’]\s*expiration|valido\s+fino\s+al|"
                   r"v[áa]lido\s+hasta",
}
_LINE_RES = {
    key: re.compile(rf"^\s*(?:{label})\s*[:：]\s*(?P<value>.*?)\s*$", re.IGNORECASE | re.MULTILINE)
    for key, label in _LABELS.items()
}
_ISO_DATE_RE = re.compile(r"(\d{4})\s*[-./]\s*(\d{1,2})\s*[-./]\s*(\d{1,2})(?!\d)")
_CN_DATE_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_EU_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})\s*[./-]\s*(\d{1,2})\s*[./-]\s*(\d{4})(?!\d)")
_MONTHS = {m: i for i, names in enumerate((
    ("jan", "january", "januar", "janvier"), ("feb", "february", "februar", "février", "fevrier"),
    ("mar", "march", "märz", "maerz", "mars"), ("apr", "april", "avril"), ("may", "mai"),
    ("jun", "june", "juni", "juin"), ("jul", "july", "juli", "juillet"), ("aug", "august", "août", "aout"),
    ("sep", "sept", "september", "septembre"), ("oct", "october", "oktober", "octobre"),
    ("nov", "november", "novembre"), ("dec", "december", "dezember", "décembre", "decembre")), start=1)
    for m in names}
_WORD_DATE_RE = re.compile(r"(?<!\d)(\d{1,2})\.?\s+([^\W\d_]+)\.?\s+(\d{4})|([^\W\d_]+)\.?\s+(\d{1,2}),?\s+(\d{4})")


# Each cause of a certificate finding: what is wrong with certificate {name}, and what to do about that cause.
MISNAMED = Cause("CERT-NAME", N_("certificate file {name} is misnamed: {reason}"),
                 N_("rename it to <Brand>_<Type>_<ValidUntilYYYYMMDD>.pdf, e.g. Acme_CE_20270131.pdf"))
NOT_READ = Cause("CERT-UNREADABLE", N_("certificate {name} cannot be read ({error})"),
                 N_("check that the file can be read and is complete"))
TOO_LARGE = Cause("CERT-UNREADABLE", N_("certificate {name} is larger than {limit} MB"),
                  N_("upload the certificate itself (a few pages)"))
PASSWORD = Cause("CERT-UNREADABLE", N_("certificate {name} cannot be checked: it is password-protected"),
                 N_("upload a copy without a password"))
ENCRYPTED = Cause("CERT-UNREADABLE", N_("certificate {name} cannot be checked: it uses encryption this installation "
                                        "cannot open ({error})"), N_("upload a copy without encryption"))
NOT_PDF = Cause("CERT-UNREADABLE", N_("certificate {name} cannot be checked: it is not a readable PDF ({error})"),
                N_("re-export or re-scan it"))
TOO_MANY_PAGES = Cause("CERT-UNREADABLE", N_("certificate {name} has {pages} pages, more than the {limit} aeops "
                                              "reads; not checked"), N_("upload the certificate itself, not a bundle"))
TOO_SLOW = Cause("CERT-UNREADABLE", N_("certificate {name}: reading its text took longer than {seconds} s; not "
                                       "checked"), N_("upload the issuer's PDF or a smaller copy"))
NO_TEXT = Cause("CERT-UNREADABLE", N_("certificate {name} has no text layer (a scan?)"),
                N_("upload the issuer's PDF or a searchable copy so the number and dates can be checked"))
LINES_MISSING = Cause("CERT-MISMATCH", N_("certificate {name}: the PDF text has no readable {labels} line(s) (dates "
                                          "such as 2027-01-31, 2027年1月31日 or 31.01.2027)"),
                      N_("ask the issuer for a complete certificate"))
DISAGREES = Cause("CERT-MISMATCH", N_("certificate {name} disagrees with its own text: {differences}"),
                  N_("rename the file from the certificate's text (or get the right certificate)"))
ISSUED_AFTER = Cause("CERT-VALIDITY", N_("certificate {name} is issued {issued} after its valid-until {until}"),
                     N_("check the dates with the issuer"))
CE_TOO_LONG = Cause("CERT-VALIDITY", N_("CE certificate {name} runs from {issued} to {until}, longer than the {years} "
                                        "years a CE certificate may be valid"),
                    N_("get a certificate valid until {latest} at the latest"))
EXPIRED = Cause("ERR-412", N_("certificate {name} expired on {until} ({days} day(s) before {as_of})"),
                N_("products of its category get delisted: upload a renewed certificate"))
CPC_DEADLINE = Cause("CERT-EXPIRING", N_("CPC certificate {name} expires on {until}, in {days} day(s) from {as_of}: "
                                         "the re-upload deadline has passed (toys' CPC must be re-uploaded at least "
                                         "{deadline} days before expiry)"), N_("upload the renewal today"))
EXPIRING = Cause("CERT-EXPIRING", N_("certificate {name} expires on {until}, in {days} day(s) from {as_of}"),
                 N_("upload the renewal now (at least {warn} days ahead)"), Severity.WARNING)
BRAND_LACKS = Cause("CERT-MISSING", N_("category {category} needs a {type} certificate and brand {brand} has no valid "
                                       "{type} certificate on {as_of}"),
                    N_("add {file_name} to the certificate folder"))
NO_BRAND = Cause("CERT-MISSING", N_("category {category} needs a {type} certificate and the row has no brand, so no "
                                    "{type} certificate can match on {as_of}"),
                 N_("fill in the brand and add its certificate"))
# why a file name is not <Brand>_<Type>_<ValidUntilYYYYMMDD>.pdf
NAME_SUFFIX = part(N_("the name must end in '.pdf' (lower case)"))
NAME_PARTS = part(N_("the name has {n} part(s) separated by '_', expected Brand_Type_YYYYMMDD"))
NAME_NO_BRAND = part(N_("the brand part is empty"))
NAME_TYPE = part(N_("the type {type} must be upper-case letters/digits such as CE, CPC, FCC, or a document type: "
                    "{documents}"))
NAME_STAMP = part(N_("the valid-until part {stamp} must be 8 digits YYYYMMDD"))
NAME_BRAND_SPACES = part(N_("the brand part is empty or has leading/trailing spaces"))
NAME_NOT_A_DATE = part(N_("the valid-until part {stamp} is not a calendar date"))
# what the text says against the name
TEXT_BRAND = part(N_("brand {in_text} in the text vs {in_name} in the name"))
TEXT_TYPE = part(N_("type {in_text} in the text vs {in_name} in the name"))
TEXT_VALID_UNTIL = part(N_("valid until {in_text} in the text vs {in_name} in the name"))


class _Readable(Protocol):
    """Anything with a name and bytes: ``pathlib.Path`` or Airflow's ``ObjectStoragePath``."""

    @property
    def name(self) -> str: ...

    def read_bytes(self) -> bytes: ...


@dataclass(frozen=True, slots=True)
class CertInfo:
    """What one certificate file says, and its status at the ``as_of`` it was checked on.

    ``status``: ``invalid`` when the file has a blocking problem other than expiry (misnamed, text
    disagreeing, CE span too long); else ``expired`` / ``expiring`` (within :data:`EXPIRING_DAYS`) /
    ``valid``. Brand, type and valid-until come from the file name (what the platform sees), or from the
    text when the name cannot be parsed. For a document (:mod:`aeops.rules.documents`) ``issuer`` is who
    granted it (a brand authorisation's brand owner) and ``categories`` what a category admission admits.
    """

    brand: str
    cert_type: str
    valid_until: date
    number: str | None
    issuer: str | None
    issue_date: date | None
    file: str
    sha256: str
    status: CertStatus
    categories: tuple[str, ...] = ()  # a CategoryAdmission's admitted categories, as written

    def days_left(self, as_of: date) -> int:
        """Days from ``as_of`` to the valid-until day (0 on the last valid day, negative once expired)."""
        return (self.valid_until - as_of).days

    def usable(self, as_of: date) -> bool:
        """True when the certificate proves its brand/type on ``as_of`` (not invalid, not expired)."""
        return self.status != "invalid" and self.days_left(as_of) >= 0


@dataclass(frozen=True, slots=True)
class ParsedName:
    brand: str
    cert_type: str
    valid_until: date


def brand_key(text: object) -> str:
    """Brand (and category) comparison key: case-folded, inner whitespace collapsed; None and NaN are ""."""
    return "" if text is None or text != text else " ".join(str(text).split()).casefold()  # NaN != NaN


def _dates_in(value: str) -> list[date]:
    """Every calendar date written in ``value``, in order: ``2027-01-31``, ``2027/1/31``, ``2027年1月31日``,
    European ``31.01.2027`` / ``31/01/2027`` (day first), ``31 January 2027``, ``January 31, 2027``."""
    found: list[tuple[int, date]] = []

    def add(at: int, year: str | int, month: str | int, day: str | int) -> None:
        try:
            found.append((at, date(int(year), int(month), int(day))))
        except ValueError:
            pass

    taken: list[tuple[int, int]] = []
    for pattern, order in ((_CN_DATE_RE, "ymd"), (_ISO_DATE_RE, "ymd"), (_EU_DATE_RE, "dmy")):
        for match in pattern.finditer(value):
            if any(a < match.end() and match.start() < b for a, b in taken):
                continue
            taken.append(match.span())
            parts = dict(zip(order, match.groups(), strict=True))
            add(match.start(), parts["y"], parts["m"], parts["d"])
    for match in _WORD_DATE_RE.finditer(value):
        if any(a < match.end() and match.start() < b for a, b in taken):
            continue
        day, month, year = (match[1], match[2], match[3]) if match[1] else (match[5], match[4], match[6])
        number = _MONTHS.get(month.casefold())
        if number:
            add(match.start(), year, number, day)
    return [d for _, d in sorted(found)]


def _parse_date(value: str, *, last: bool = False) -> date | None:
    """The date in a label's value (a range such as ``2025-01-01 至 2027-01-31`` gives the first, or with
    ``last`` the last); None when the value holds no date."""
    dates = _dates_in(value)
    if not dates:
        return None
    return dates[-1] if last else dates[0]


def _add_years(day: date, years: int) -> date:
    """Same calendar day ``years`` later (29 Feb -> 28 Feb)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def parse_certificate_name(name: str) -> tuple[ParsedName | None, Text | None]:
    """Parse ``<Brand>_<Type>_<YYYYMMDD>.pdf``; ``(parsed, None)`` or ``(None, what is wrong)``. The type is a
    certificate's (upper-case letters and digits: CE, CPC, FCC) or a document's (:data:`DOC_TYPES`, case aside:
    returned in its canonical form)."""
    match = _NAME_RE.match(name)
    if not match:
        if not name.endswith(".pdf"):
            return None, Text(NAME_SUFFIX)
        parts = name[: -len(".pdf")].split("_")
        if len(parts) != 3:
            return None, Text(NAME_PARTS, {"n": len(parts)})
        brand, cert_type, stamp = parts
        if not brand.strip():
            return None, Text(NAME_NO_BRAND)
        if not (_TYPE_RE.fullmatch(cert_type) or canonical_type(cert_type)):
            return None, Text(NAME_TYPE, {"type": repr(cert_type), "documents": " / ".join(DOC_TYPES)})
        return None, Text(NAME_STAMP, {"stamp": repr(stamp)})
    brand = match["brand"]
    if brand != brand.strip() or not brand.strip():
        return None, Text(NAME_BRAND_SPACES)
    cert_type = canonical_type(match["type"]) or match["type"]
    if not _TYPE_RE.fullmatch(cert_type) and cert_type not in DOC_TYPES:
        return None, Text(NAME_TYPE, {"type": repr(match["type"]), "documents": " / ".join(DOC_TYPES)})
    try:
        valid_until = datetime.strptime(match["date"], "%Y%m%d").date()
    except ValueError:
        return None, Text(NAME_NOT_A_DATE, {"stamp": repr(match["date"])})
    return ParsedName(brand=brand, cert_type=cert_type, valid_until=valid_until), None


def parse_certificate_text(text: str) -> dict[str, Any]:
    """The labelled fields found in a certificate's text (keys of ``_LABELS``; dates as ``date``/None).

    Labels are read in English, Chinese (证书编号, 品牌, 证书类型, 发证机构, 发证日期, 有效期至) and the common
    European forms (Zertifikat-Nr., Gültig bis, Délivré par, ...). A missing label gives no key; a date label
    whose value holds no date (ISO, ``2027年1月31日``, ``31.01.2027``, ``31 January 2027``) maps to ``None``.
    """
    found: dict[str, Any] = {}
    for key, pattern in _LINE_RES.items():
        match = pattern.search(text)
        if not match:
            continue
        value = match["value"].strip()
        if key in ("issue_date", "valid_until"):
            found[key] = _parse_date(value, last=key == "valid_until")
        else:
            found[key] = value
    return found


def _read_pdf_text(data: bytes) -> tuple[str | None, tuple[Cause, dict[str, Any]] | None]:
    """``(text, None)`` or ``(None, (cause, its values))``; never raises (pypdf errors, encryption, anything).
    At most :data:`MAX_PDF_PAGES` pages (counted before any text is extracted) and :data:`MAX_TEXT_SECONDS`."""
    from pypdf import PdfReader  # lazy: pypdf only to read a certificate PDF

    try:
        reader = PdfReader(io.BytesIO(data))  # tries the empty password itself
        if reader.is_encrypted and reader.decrypt("") == 0:
            return None, (PASSWORD, {})
        if (pages := len(reader.pages)) > MAX_PDF_PAGES:
            return None, (TOO_MANY_PAGES, {"pages": pages, "limit": MAX_PDF_PAGES})
        deadline, texts = time.monotonic() + MAX_TEXT_SECONDS, []
        for page in reader.pages:
            if time.monotonic() > deadline:
                return None, (TOO_SLOW, {"seconds": f"{MAX_TEXT_SECONDS:g}"})
            texts.append(page.extract_text() or "")
        return "\n".join(texts), None
    except Exception as exc:  # noqa: BLE001 - any parser failure is a finding, never a traceback
        name = type(exc).__name__
        if name in ("FileNotDecryptedError", "WrongPasswordError"):
            return None, (PASSWORD, {})
        if name == "DependencyError":
            return None, (ENCRYPTED, {"error": str(exc)})
        return None, (NOT_PDF, {"error": f"{name}: {str(exc)[:120]}"})


def _as_readable(path: str | PathLike[str] | _Readable) -> _Readable:
    if isinstance(path, (str, PathLike)):
        return resolve(str(path))
    return path


def check_certificate(
    path: str | PathLike[str] | _Readable, as_of: date, *, warn_days: int = EXPIRING_DAYS,
    cpc_warn_days: int = CPC_WARN_DAYS, cpc_deadline_days: int = CPC_DEADLINE_DAYS,
) -> tuple[CertInfo | None, list[Finding]]:
    """Check one certificate file on ``as_of``: name, readability, text vs name, CE span, expiry.

    Returns ``(info, findings)``; ``info`` is None when neither the name nor the text says which brand,
    type and valid-until date the file is for. Never raises for bad files. A CPC certificate is expiring
    from ``cpc_warn_days`` ahead (warning) and from ``cpc_deadline_days`` its CERT-EXPIRING is an error: the
    platform's re-upload deadline has passed.
    """
    source = _as_readable(path)
    name = source.name
    file = str(source)
    findings: list[Finding] = []

    def add(cause: Cause, **params: Any) -> None:
        findings.append(cause.finding(file=file, name=repr(name), **params))

    parsed, name_problem = parse_certificate_name(name)
    if name_problem:
        add(MISNAMED, reason=name_problem)
    try:
        data = source.read_bytes() if _size_ok(source) else None
    except OSError as exc:
        add(NOT_READ, error=f"{type(exc).__name__}: {exc}")
        return None, findings
    if data is None:
        add(TOO_LARGE, limit=MAX_PDF_BYTES // 2**20)
        return None, findings
    sha256 = hashlib.sha256(data).hexdigest()
    text, unreadable = _read_pdf_text(data)
    if unreadable:
        add(unreadable[0], **unreadable[1])
        return None, findings
    assert text is not None
    fields = parse_certificate_text(text)
    if not text.strip():
        add(NO_TEXT)
        return None, findings

    document = canonical_type(parsed.cert_type if parsed else fields.get("cert_type"))
    if document:
        fields.update(document_fields(text))
        missing = missing_lines(document, fields)
    else:
        missing = [label for key, label in (
            ("number", "Certificate No"), ("brand", "Brand"), ("cert_type", "Type"), ("issuer", "Issuer"),
            ("issue_date", "Issue date"), ("valid_until", "Valid until"),
        ) if not fields.get(key)]
    if missing:
        add(DOC_LINES_MISSING[document] if document else LINES_MISSING,
            labels=", ".join(repr(m + ":") for m in missing))
    if parsed:
        disagreements = []
        if fields.get("brand") and brand_key(fields["brand"]) != brand_key(parsed.brand):
            disagreements.append(Text(TEXT_BRAND, {"in_text": repr(fields["brand"]), "in_name": repr(parsed.brand)}))
        if not document and fields.get("cert_type") and fields["cert_type"].strip().upper() != parsed.cert_type:
            disagreements.append(Text(TEXT_TYPE, {"in_text": repr(fields["cert_type"]),
                                                  "in_name": repr(parsed.cert_type)}))
        if fields.get("valid_until") and fields["valid_until"] != parsed.valid_until:
            disagreements.append(Text(TEXT_VALID_UNTIL, {"in_text": str(fields["valid_until"]),
                                                         "in_name": str(parsed.valid_until)}))
        if disagreements:
            add(DOC_DISAGREES if document else DISAGREES, differences=disagreements,
                **({"kind": Text(TYPE_LABELS[document])} if document else {}))

    brand = parsed.brand if parsed else fields.get("brand")
    cert_type = parsed.cert_type if parsed else document or (fields.get("cert_type") or "").strip().upper() or None
    valid_until = parsed.valid_until if parsed else fields.get("valid_until")
    issue_date = fields.get("issue_date")
    issuer = (fields.get("authoriser") or fields.get("issuer")) if document == BRAND_AUTH else fields.get("issuer")
    number = fields.get("number") or fields.get("doc_number")

    if issue_date and valid_until:
        if issue_date > valid_until:
            add(ISSUED_AFTER, issued=str(issue_date), until=str(valid_until))
        elif cert_type == "CE" and valid_until > _add_years(issue_date, CE_MAX_YEARS):
            add(CE_TOO_LONG, issued=str(issue_date), until=str(valid_until), years=CE_MAX_YEARS,
                latest=str(_add_years(issue_date, CE_MAX_YEARS)))

    invalid = bool(findings)
    if cert_type == "CPC":
        warn_days = max(warn_days, cpc_warn_days)
    if valid_until is not None:
        days_left = (valid_until - as_of).days
        dates = {"until": str(valid_until), "as_of": str(as_of)}
        if days_left < 0:
            add(EXPIRED, days=-days_left, **dates)
        elif cert_type == "CPC" and days_left <= cpc_deadline_days:
            add(CPC_DEADLINE, days=days_left, deadline=cpc_deadline_days, **dates)
        elif days_left <= warn_days:
            add(EXPIRING, days=days_left, warn=warn_days, **dates)
    if not (brand and cert_type and valid_until):
        return None, findings
    status: CertStatus
    if invalid:
        status = "invalid"
    elif (valid_until - as_of).days < 0:
        status = "expired"
    elif (valid_until - as_of).days <= warn_days:
        status = "expiring"
    else:
        status = "valid"
    info = CertInfo(
        brand=brand, cert_type=cert_type, valid_until=valid_until, number=number or None, issuer=issuer or None,
        issue_date=issue_date, file=file, sha256=sha256, status=status, categories=fields.get("categories") or (),
    )
    log.debug("certificate %s: %s, %d finding(s)", name, status, len(findings))
    return info, findings


def _size_ok(source: _Readable) -> bool:
    stat = getattr(source, "stat", None)
    if stat is None:
        return True
    try:
        return int(stat().st_size) <= MAX_PDF_BYTES
    except (OSError, AttributeError, TypeError, ValueError):
        return True


def scan_certificates(
    directory: str | PathLike[str], as_of: date, *, warn_days: int = EXPIRING_DAYS
) -> tuple[list[CertInfo], list[Finding]]:
    """Check every file of ``directory`` (hidden files skipped; not recursive), sorted by name.

    Files not ending in ``.pdf`` get CERT-NAME. A folder that does not exist is an ``OSError`` the
    caller turns into a one-line error (it is not a certificate problem).
    """
    folder = _as_readable(directory)
    if not folder.is_dir():  # type: ignore[attr-defined]
        raise NotADirectoryError(f"certificate folder {str(directory)!r} does not exist or is not a folder")
    infos: list[CertInfo] = []
    findings: list[Finding] = []
    entries = sorted(folder.iterdir(), key=lambda p: p.name)  # type: ignore[attr-defined]
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_file():
            continue
        info, found = check_certificate(entry, as_of, warn_days=warn_days)
        findings.extend(found)
        if info is not None:
            infos.append(info)
    log.info("scanned %d certificate file(s) in %s: %d usable, %d finding(s)", len(entries), directory,
             sum(i.usable(as_of) for i in infos), len(findings))
    return infos, findings


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _category_key(value: Any) -> str:
    return "" if value is None or value != value else brand_key(value)  # value != value: NaN


def cert_missing(
    frame: Any, certs: Iterable[CertInfo], category_certs: dict[str, list[str]], as_of: date
) -> list[Finding]:
    """CERT-MISSING (error) for every row whose category needs a certificate type its brand lacks.

    ``frame`` is a pandas DataFrame with columns ``row``, ``product_id``, ``sku_code``, ``category``,
    ``brand``. Categories and brands compare case-insensitively. A certificate counts when it is usable
    on ``as_of`` (not invalid, not expired; an expiring one still counts). One finding per row and
    missing type; work is done once per distinct (category, brand) pair.
    """
    needed = {brand_key(cat): [t.strip().upper() for t in types] for cat, types in category_certs.items()}
    have = {(brand_key(c.brand), c.cert_type.upper()) for c in certs if c.usable(as_of)}
    if frame is None or len(frame) == 0 or not needed:
        return []
    categories = frame["category"].map(_category_key)
    brands = frame["brand"].map(_category_key) if "brand" in frame.columns else categories.map(lambda _: "")
    findings: list[Finding] = []
    missing_by_pair: dict[tuple[str, str], list[str]] = {}
    for cat, brand in set(zip(categories, brands, strict=True)):
        types = needed.get(cat)
        if types:
            lacking = [t for t in types if not brand or (brand, t) not in have]
            if lacking:
                missing_by_pair[(cat, brand)] = lacking
    if not missing_by_pair:
        return []
    mask = [(c, b) in missing_by_pair for c, b in zip(categories, brands, strict=True)]
    subset = frame[mask]
    for (_, rec), cat, brand in zip(subset.iterrows(), categories[mask], brands[mask], strict=True):
        shown_brand = rec.get("brand")
        shown_brand = "" if shown_brand is None or shown_brand != shown_brand else str(shown_brand).strip()
        where = {"row": _int_or_none(rec.get("row")), "product_id": _int_or_none(rec.get("product_id")),
                 "sku_code": None if rec.get("sku_code") is None else str(rec.get("sku_code")), "field": "brand",
                 "category": repr(str(rec.get("category")).strip()), "as_of": str(as_of)}
        for cert_type in missing_by_pair[(cat, brand)]:
            if shown_brand:
                findings.append(BRAND_LACKS.finding(**where, type=cert_type, brand=repr(shown_brand),
                                                    file_name=f"{shown_brand}_{cert_type}_<ValidUntilYYYYMMDD>.pdf"))
            else:
                findings.append(NO_BRAND.finding(**where, type=cert_type))
    return findings
