"""Why a store's daily sync stops."""

from __future__ import annotations


class SyncError(RuntimeError):
    """A store's sync cannot go on; the message says why and what to do."""


class SkipStore(Exception):
    """Nothing to do for this store in this run (e.g. the export was already synced)."""
