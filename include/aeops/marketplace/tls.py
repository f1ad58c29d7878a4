"""The process's TLS context for aeops' HTTPS clients, built once and shared.

``httpx.Client()`` builds a new :class:`ssl.SSLContext` for every client (loading the CA bundle: about 20 ms of CPU
each); the API client and the storefront reader of one task would each pay it. An SSL context is safe to share
between clients and threads, and the one built here is the one httpx would build itself (``verify=True``: certifi's
bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set): built again when those variables change.
"""

from __future__ import annotations

import os
import ssl
import threading

import httpx

_lock = threading.Lock()
_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def tls_context() -> ssl.SSLContext:
    """The shared context (pass it as ``verify=`` to ``httpx.Client``)."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    with _lock:
        context = _contexts.get(key)
        if context is None:
            context = _contexts[key] = httpx.create_ssl_context()
        return context
