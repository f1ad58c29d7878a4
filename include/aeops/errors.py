"""Errors and exit codes every part of aeops may raise or use (a leaf: imports nothing of aeops).

Exit codes of the ``aeops`` command (the contract in docs/design.md): 0 = checked, nothing blocking;
1 = checked, findings that block some rows or files; 2 = could not check at all, with one ``error:`` line.
"""

from __future__ import annotations

EXIT_OK, EXIT_FINDINGS, EXIT_CANNOT_CHECK = 0, 1, 2


class CommandError(Exception):
    """A problem the user can fix (bad argument, unreadable file): printed as one ``error:`` line, exit 2."""
