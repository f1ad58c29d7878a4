"""The settings as the api-server sees them: the ``aeops_config`` Variable (read through Airflow's secrets
backends and metadata DB: ``AIRFLOW_VAR_AEOPS_CONFIG`` first), else ``AEOPS_CONFIG``, else the defaults.

Cached for :data:`TTL_S` seconds so a page view costs no Variable read, yet an edited Variable shows within a
minute without restarting the api-server.
"""

from __future__ import annotations

import threading
import time

from aeops.config import VARIABLE_NAME, AeopsConfig, load_config
from aeops.secrets import get_logger

log = get_logger(__name__)

TTL_S = 60.0
_lock = threading.Lock()
_cached: tuple[float, AeopsConfig] | None = None


def _variable() -> str | None:
    try:
        from airflow.models.variable import Variable

        return Variable.get(VARIABLE_NAME, default_var=None)
    except Exception as exc:  # noqa: BLE001 - no metadata DB here: the environment or the defaults
        log.info("aeops_config Variable not readable (%s); using AEOPS_CONFIG or the defaults", type(exc).__name__)
        return None


def current_config(*, now: float | None = None) -> AeopsConfig:
    """The deployment's settings (ConfigError when the Variable holds invalid settings)."""
    global _cached
    now = time.monotonic() if now is None else now
    with _lock:
        if _cached is not None and now - _cached[0] < TTL_S:
            return _cached[1]
    raw = _variable()
    config = load_config(raw if raw not in (None, "") else None)
    with _lock:
        _cached = (now, config)
    return config


def forget() -> None:
    """Drop the cached settings (tests)."""
    global _cached
    with _lock:
        _cached = None
