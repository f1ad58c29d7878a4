"""``[core] hostname_callable`` for several Celery workers on one machine.

Airflow records a task instance's ``hostname`` from ``hostname_callable`` (default: the FQDN), so two
workers on one host look the same. The distributed test starts each worker with ``AEOPS_WORKER_NAME`` set
to its Celery name (``w1``, ``w2``) and ``AIRFLOW__CORE__HOSTNAME_CALLABLE=tests.distributed.worker_name.hostname``.
"""

from __future__ import annotations

import os
import socket


def hostname() -> str:
    """The worker's name when set, else the machine's FQDN (Airflow's default)."""
    return os.environ.get("AEOPS_WORKER_NAME") or socket.getfqdn()
