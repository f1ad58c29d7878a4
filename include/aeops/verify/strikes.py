"""Multi-site price inconsistency strikes: 3 restrict the store's traffic support, so warn loudly at the 2nd.

A strike is one language site that still disagreed with the others on price or stock when a run's
verification ended (after the re-push). Strikes are counted per store across runs in ``site_strikes``.
"""

from __future__ import annotations

from collections.abc import Sequence

from aeops.notify.messages import SlackMessage, notice

RESTRICT_AT = 3


def strike_message(store: str, total: int, sites: Sequence[str], details: Sequence[str],
                   run_id: str | None = None) -> SlackMessage:
    """The alert for a store that has ``total`` strikes after this run added strikes for ``sites``."""
    where = ", ".join(sites)
    what = "\n".join(details[:5])
    fields = {"Strikes": f"{total} of {RESTRICT_AT}", "Sites": where}
    if total >= RESTRICT_AT:
        return notice(
            title=f"Traffic restriction: {total} multi-site price inconsistencies",
            text=(f"Store {store} has {total} multi-site price inconsistency strikes: the marketplace restricts the "
                  f"store's traffic support at {RESTRICT_AT}. Fix the language site(s) {where} now (re-save the "
                  f"products in the seller center or open a ticket) and check the store's traffic.\n{what}"),
            store=store, severity="error", fields=fields, dedupe_key=f"site-strike:{store}:{total}",
            thread_key=None)
    if total == RESTRICT_AT - 1:
        return notice(
            title=f"WARNING: strike {total} of {RESTRICT_AT}: one more multi-site price inconsistency restricts "
                  "traffic",
            text=(f"Store {store}: language site(s) {where} still disagree on price or stock after a re-push. "
                  f"This is strike {total}; the next one restricts the store's traffic support. Fix it before the "
                  f"next sync.\n{what}"),
            store=store, severity="error", fields=fields, dedupe_key=f"site-strike:{store}:{total}")
    return notice(
        title=f"Multi-site price inconsistency (strike {total} of {RESTRICT_AT})",
        text=f"Store {store}: language site(s) {where} disagree on price or stock after a re-push.\n{what}",
        store=store, severity="warning", fields=fields, dedupe_key=f"site-strike:{store}:{total}")


def alert(store: str, total: int, sites: Sequence[str], details: Sequence[str], *, config=None,
          db_url: str | None = None, run_id: str | None = None) -> None:
    """Post the strike alert (never raises: ``aeops.notify.send`` keeps it in the outbox on trouble)."""
    from aeops.notify.send import send

    send(strike_message(store, total, sites, details, run_id), store=store, config=config, db_url=db_url)
