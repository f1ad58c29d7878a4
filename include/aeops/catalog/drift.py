"""Which products to read again from the marketplace before planning: the ones that may have drifted."""

from __future__ import annotations

from typing import Any

from aeops.catalog.timestamps import PLATFORM_TZ, parse_gmt


def drifted(state: Any, listed_modified: str | None, tz: str = PLATFORM_TZ) -> bool:
    """Read a product again when aeops never saw it, or the marketplace's last-modified time is newer than both
    what aeops last read and aeops's own last confirmed write (someone edited it in the seller center).

    ``state`` is the product's known state (``fields``, ``marketplace_modified_at``, ``confirmed_at``) or None;
    ``listed_modified`` is the list's ``gmt_modified`` in the platform's zone ``tz``. Both known times are aware UTC
    instants as the aeops DB returns them (:class:`aeops.store.types.UtcDateTime`).
    Our confirmed write is stamped with our clock after the platform answered, so the platform's own stamp of
    that write is not newer; an edit within clock skew of our confirmation could be missed (documented).
    """
    if state is None or not state.fields:
        return True
    listed = parse_gmt(listed_modified, tz)
    known = [t for t in (state.marketplace_modified_at, state.confirmed_at) if t is not None]
    if not known or listed is None:
        return True
    return listed > max(known)
