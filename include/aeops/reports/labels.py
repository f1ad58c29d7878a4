"""Words people see for aeops's stored keys: run statuses, change kinds and statuses, verification checks.

The stored values (``success``, ``verify_failed``, ...) stay as they are in the DB, the CSV and the JSON; these
are their labels in the reader's language, and the CSS class each status is painted with.
"""

from __future__ import annotations

from aeops.i18n import N_, translator

RUN_STATUS = {
    "success": N_("Succeeded"),
    "partial": N_("Partly done"),
    "failed": N_("Failed"),
    "dry_run": N_("Dry run"),
    "skipped": N_("Skipped"),
    "running": N_("Running"),
    "rejected": N_("Rejected"),
}
# The colour class of a run status: ok (green), warn (amber), bad (red), info (grey/blue).
STATUS_TONE = {"success": "ok", "partial": "warn", "failed": "bad", "dry_run": "info", "skipped": "info",
               "running": "info", "rejected": "warn"}

CHANGE_STATUS = {
    "planned": N_("planned"),
    "sending": N_("sending"),
    "confirmed": N_("confirmed"),
    "failed": N_("failed"),
    "unknown": N_("answer lost"),
    "verified": N_("verified"),
    "verify_failed": N_("not seen on the storefront"),
    "unpushable": N_("cannot be pushed"),
    "rejected": N_("not approved: never sent"),
}
CHANGE_KIND = {"price": N_("price"), "inventory": N_("stock"), "edit": N_("product edit"),
               "unpushable": N_("cannot be pushed")}
CHECK = {"timestamp": N_("last-modified time"), "device": N_("device"), "site": N_("language site"),
         "health": N_("product health"), "product": N_("product page"), "api": N_("product query (API)"),
         "page": N_("storefront page")}
UNREADABLE = {"anti_bot": N_("anti-bot page"), "login": N_("login redirect"), "geo_redirect": N_("geo redirect"),
              "no_data": N_("no item data")}
SEVERITY = {"error": N_("blocking"), "warning": N_("warning"), "info": N_("note")}
TASK_KIND = {"store_settings": N_("store settings"), "logo_rotation": N_("logo rotation"),
             "new_product_image": N_("new-product main image"), "image_review": N_("image review")}
# The short name of each finding code, shown beside the code (which stays as it is: it is the contract).
CODE_NAME = {
    "SKU-MISSING": N_("no SKU code"), "SKU-CHARS": N_("banned characters in SKU"),
    "SKU-DUPLICATE": N_("duplicate SKU code"), "PRODUCT-ID-INVALID": N_("bad product id"),
    "TITLE-MISSING": N_("no title"), "TITLE-TOO-LONG": N_("title too long"), "PRICE-INVALID": N_("bad price"),
    "DISCOUNT-INVALID": N_("bad discount price"), "STOCK-INVALID": N_("bad stock"),
    "FREIGHT-TEMPLATE-UNKNOWN": N_("unknown freight template"), "IMG-MISSING": N_("main image missing"),
    "IMG-UNREADABLE": N_("main image unreadable"), "IMG-TOO-BIG": N_("main image too large"),
    "ERR-207": N_("main image under 800x800"), "IMG-TRANSPARENT": N_("transparent main image"),
    "IMG-BACKGROUND": N_("background not white"), "CERT-NAME": N_("certificate misnamed"),
    "CERT-UNREADABLE": N_("certificate unreadable"), "CERT-MISMATCH": N_("certificate disagrees"),
    "CERT-VALIDITY": N_("validity period wrong"), "CERT-EXPIRING": N_("certificate expiring"),
    "ERR-412": N_("certificate expired"), "CERT-MISSING": N_("certificate missing"),
    "LOGO-SIZE": N_("logo too small"), "LOGO-FORMAT": N_("logo not a PNG"), "LOGO-STALE": N_("logo not rotated"),
    "IMG-NO-FACE": N_("no visible face"), "IMG-TEXT": N_("text or watermark"),
    "IMG-NEW-BACKGROUND": N_("new product: background"), "IMG-NEW-SIZE": N_("new product: image size"),
    "LOGO-TEXT": N_("text over the logo"), "FILE-UNREADABLE": N_("export unreadable"),
    "FILE-ENCODING": N_("export encoding"), "FILE-COLUMNS": N_("export columns"),
    "FILE-TRUNCATED": N_("export cut short"),
}
OUTBOX_STATUS = {"pending": N_("waiting"), "sending": N_("being sent"), "sent": N_("sent"),
                 "folded": N_("folded into an earlier alert"), "failed": N_("refused by Slack")}


def status_label(status: str | None, lang: str | None = "en") -> str:
    """A run status in ``lang`` (an unknown status is shown as stored)."""
    text = RUN_STATUS.get(str(status))
    return translator(lang)(text) if text else str(status)


def status_tone(status: str | None) -> str:
    """The colour tone of a run status (``info`` for an unknown one)."""
    return STATUS_TONE.get(str(status), "info")


def label(table: dict[str, str], key: str | None, lang: str | None = "en") -> str:
    """``key``'s label from one of the tables above, in ``lang`` (the key itself when it has none)."""
    text = table.get(str(key))
    return translator(lang)(text) if text else str(key or "")


def code_name(code: str | None, lang: str | None = "en") -> str:
    """The short name of a finding code in ``lang`` (empty for an unknown code)."""
    return label(CODE_NAME, code, lang) if str(code) in CODE_NAME else ""
