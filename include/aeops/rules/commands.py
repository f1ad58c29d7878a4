"""``aeops validate``, ``aeops certs`` and ``aeops logo`` (filled by the validation issue)."""

from __future__ import annotations

import argparse

from aeops.cli import CommandError


def validate_command(args: argparse.Namespace) -> int:
    raise CommandError("'aeops validate' is not built yet (issue 4)")


def certs_command(args: argparse.Namespace) -> int:
    raise CommandError("'aeops certs' is not built yet (issue 4)")


def logo_command(args: argparse.Namespace) -> int:
    raise CommandError("'aeops logo' is not built yet (issue 4)")
