"""``aeops simulator``: the local AliExpress Open Platform simulator (filled by the client/simulator issue)."""

from __future__ import annotations

import argparse

from aeops.cli import CommandError


def simulator_command(args: argparse.Namespace) -> int:
    raise CommandError("'aeops simulator' is not built yet (issue 3)")
