"""``aeops slack-sink``: a local stand-in for the Slack Web API (filled by the Slack issue)."""

from __future__ import annotations

import argparse

from aeops.cli import CommandError


def slack_sink_command(args: argparse.Namespace) -> int:
    raise CommandError("'aeops slack-sink' is not built yet (issue 7)")
