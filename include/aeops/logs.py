"""Logging set-up for the ``aeops`` command line (inside Airflow tasks, Airflow's own logging is used)."""

from __future__ import annotations

import logging
import os
import sys


def configure_cli_logging(verbose: bool = False) -> None:
    """Log ``aeops.*`` messages to stderr as ``time level name: message``.

    The level comes from ``--verbose`` or ``AEOPS_LOG_LEVEL`` (default ``INFO``). Idempotent.
    """
    level_name = "DEBUG" if verbose else os.environ.get("AEOPS_LOG_LEVEL", "INFO").upper()
    logger = logging.getLogger("aeops")
    logger.setLevel(getattr(logging, level_name, logging.INFO))
    if not any(getattr(h, "_aeops", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._aeops = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = False
