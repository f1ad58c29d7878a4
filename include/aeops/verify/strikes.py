"""Multi-site price inconsistency strikes: 3 restrict the store's traffic support, so warn loudly at the 2nd.

A strike is one language site that still disagreed with the others on price or stock when a run's
verification ended (after the re-push). Strikes are counted per store across runs in ``site_strikes``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aeops.i18n import translator
from aeops.notify.messages import SlackMessage, notice
from aeops.notify.send import language_of, send

RESTRICT_AT = 3


def strike_message(store: str, total: int, sites: Sequence[str], details: Sequence[str],
                   run_id: str | None = None, lang: str | None = "en") -> SlackMessage:
    """The alert (in ``lang``) for a store that has ``total`` strikes after this run added strikes for ``sites``."""
    _ = translator(lang)
    where = ", ".join(sites)
    what = "\n".join(details[:5])
    values = {"store": store, "total": total, "limit": RESTRICT_AT, "sites": where}
    fields = {_("Strikes"): _("{total} of {limit}").format(**values), _("Sites"): where}
    if total >= RESTRICT_AT:
        return notice(
            title=_("Traffic restriction: {total} multi-site price inconsistencies").format(**values),
            text=_("Store {store} has {total} multi-site price inconsistency strikes: the marketplace restricts the "
                   "store's traffic support at {limit}. Fix the language site(s) {sites} now (re-save the "
                   "products in the seller center or open a ticket) and check the store's traffic.").format(**values)
            + f"\n{what}",
            store=store, severity="error", fields=fields, dedupe_key=f"site-strike:{store}:{total}",
            thread_key=None)
    if total == RESTRICT_AT - 1:
        return notice(
            title=_("WARNING: strike {total} of {limit}: one more multi-site price inconsistency restricts "
                    "traffic").format(**values),
            text=_("Store {store}: language site(s) {sites} still disagree on price or stock after a re-push. "
                   "This is strike {total}; the next one restricts the store's traffic support. Fix it before the "
                   "next sync.").format(**values) + f"\n{what}",
            store=store, severity="error", fields=fields, dedupe_key=f"site-strike:{store}:{total}")
    return notice(
        title=_("Multi-site price inconsistency (strike {total} of {limit})").format(**values),
        text=_("Store {store}: language site(s) {sites} disagree on price or stock after a re-push.").format(**values)
        + f"\n{what}",
        store=store, severity="warning", fields=fields, dedupe_key=f"site-strike:{store}:{total}")


def alert(store: str, total: int, sites: Sequence[str], details: Sequence[str], *, config=None,
          db_url: str | None = None, run_id: str | None = None) -> None:
    """Post the strike alert in the store's language (Slack trouble: ``aeops.notify.send`` keeps it in the outbox;
    an outbox that cannot be written fails the task, :class:`aeops.notify.send.OutboxWriteFailed`)."""

    message = strike_message(store, total, sites, details, run_id, lang=language_of(store, config))
    send(message, store=store, config=config, db_url=db_url)
