"""Whole exports only: is the newest export finished, or is the ERP still writing it?

An ERP writes its export over seconds or minutes; a run that reads it half-way syncs half a catalog. A file is
taken only when it is *settled*:

- the store configures markers (``export_markers``): its ``<name>.done`` marker exists beside it (the ERP writes
  the marker after the file: the one sure sign);
- otherwise its modification time is at least ``export_settle_seconds`` old (every write moves the time
  forward, so a time that has not moved for the settle time means neither the size nor the content has).

The check costs one ``stat`` (and one ``exists`` for a marker): the daily sync asks it from a reschedule-mode
sensor, which waits between checks without a worker slot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from aeops.exports.newest import newest_export
from aeops.locations import LocationError, resolve
from aeops.secrets import get_logger

log = get_logger(__name__)

MARKER_SUFFIX = ".done"


@dataclass(frozen=True)
class Readiness:
    """The export a run would take (None: the folder holds none), whether it is settled, and why not."""

    location: str | None
    ready: bool
    reason: str = ""


def marker_of(location: str) -> str:
    """The ``<name>.done`` marker of an export, in the same form (path or URL)."""
    return str(location) + MARKER_SUFFIX


def readiness(exports: str, *, settle_seconds: float, markers: bool = False, export: str | None = None,
              now: float | None = None) -> Readiness:
    """Whether the newest export of ``exports`` (or ``export``, when given) may be taken now.

    No export at all is "ready" with ``location`` None: the caller reports the missing export itself.
    LocationError when the folder cannot be listed."""
    location = export or newest_export(exports)
    if not location:
        return Readiness(None, True)
    if markers:
        try:
            done = resolve(marker_of(location)).exists()
        except (LocationError, OSError):
            done = False
        if done:
            return Readiness(location, True)
        return Readiness(location, False, f"waiting for its marker {_name(marker_of(location))} (the ERP writes it "
                                          "when the export is complete)")
    try:
        modified = float(resolve(location).stat().st_mtime)
    except (LocationError, OSError, AttributeError, TypeError, ValueError):
        return Readiness(location, True)  # no modification time to judge by: settle time cannot apply
    age = (time.time() if now is None else now) - modified
    if age >= settle_seconds:
        return Readiness(location, True)
    return Readiness(location, False, f"modified {max(age, 0):.0f} s ago: still being written? It is taken once "
                                      f"unchanged for {settle_seconds:g} s")


def _name(location: str) -> str:
    return str(location).rstrip("/").rsplit("/", 1)[-1]
