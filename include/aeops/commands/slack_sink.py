"""``aeops slack-sink``: serve the local stand-in for the Slack Web API until interrupted."""

from __future__ import annotations

import argparse
import os
import signal

from aeops.errors import CommandError
from aeops.notify.slack_sink import SlackSink
from aeops.secrets import get_logger

log = get_logger(__name__)


def slack_sink_command(args: argparse.Namespace) -> int:
    """``aeops slack-sink``: serve until interrupted. ``AEOPS_SLACK_SINK_TOKEN`` enables the token check."""
    token = os.environ.get("AEOPS_SLACK_SINK_TOKEN") or None
    sink = SlackSink(host=args.host, port=args.port, out=args.out, token=token)
    try:
        sink.bind()
    except OSError as exc:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    log.info("slack-sink listening on %s (base_url %s), recording to %s", sink.url, sink.api_url, args.out)
    try:
        sink.serve_forever()
    except KeyboardInterrupt:
        log.info("slack-sink stopping")
    finally:
        if sink._server is not None:
            sink._server.server_close()
    return 0
