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
}
# The colour class of a run status: ok (green), warn (amber), bad (red), info (grey/blue).
STATUS_TONE = {"success": "ok", "partial": "warn", "failed": "bad", "dry_run": "info", "skipped": "info",
               "running": "info"}

CHANGE_STATUS = {
    "planned": N_("planned"),
    "sending": N_("sending"),
    "confirmed": N_("confirmed"),
    "failed": N_("failed"),
    "unknown": N_("answer lost"),
    "verified": N_("verified"),
    "verify_failed": N_("not seen on the storefront"),
    "unpushable": N_("cannot be pushed"),
}
CHANGE_KIND = {"price": N_("price"), "inventory": N_("stock"), "edit": N_("product edit"),
               "unpushable": N_("cannot be pushed")}
CHECK = {"timestamp": N_("last-modified time"), "device": N_("device"), "site": N_("language site"),
         "health": N_("product health"), "product": N_("product page"), "api": N_("product query (API)"),
         "page": N_("storefront page")}
UNREADABLE = {"anti_bot": N_("anti-bot page"), "login": N_("login redirect"), "geo_redirect": N_("geo redirect"),
              "no_data": N_("no item data")}
SEVERITY = {"error": N_("blocking"), "warning": N_("warning"), "info": N_("note")}
OUTBOX_STATUS = {"pending": N_("waiting"), "sending": N_("being sent"), "sent": N_("sent"),
                 "folded": N_("folded into an earlier alert"), "failed": N_("refused by Slack")}


def status_label(status: str | None, lang: str | None = "en") -> str:
    """A run status in ``lang`` (an unknown status is shown as stored)."""
    text = RUN_STATUS.get(str(status))
    return translator(lang)(text) if text else str(status)


def status_tone(status: str | None) -> str:
    return STATUS_TONE.get(str(status), "info")


def label(table: dict[str, str], key: str | None, lang: str | None = "en") -> str:
    """``key``'s label from one of the tables above, in ``lang`` (the key itself when it has none)."""
    text = table.get(str(key))
    return translator(lang)(text) if text else str(key or "")
