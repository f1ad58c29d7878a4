"""The API client's HTTP transport: ``http.client`` connections kept alive, one per thread and host.

httpx's own transport (httpcore + h11) costs ~0.8 ms of CPU per request here, most of the CPU of an API call; the
same request over ``http.client`` costs about a third of it (the storefront reader does the same for its pages,
:mod:`aeops.verify.page_reader`). What the client relies on is kept:

* a connection that could not be opened raises ``httpx.ConnectError`` / ``httpx.ConnectTimeout`` (nothing was sent:
  a write may be retried); any failure after that raises another ``httpx.TransportError`` (``WriteError``,
  ``ReadTimeout``, ``ReadError``, ``RemoteProtocolError``: the answer is lost, a write is not retried);
* a kept-alive connection is reused only while the server has not closed it (a socket that is readable while idle
  is closed and replaced before the request, as httpcore does);
* the answer is handed to httpx as it came (content encodings are decoded by httpx), HTTPS uses the process's TLS
  context (:mod:`aeops.marketplace.tls`), the client's timeouts apply to connecting and to each read.
"""

from __future__ import annotations

import http.client
import select
import socket
import threading
from typing import Any

import httpx

from aeops.marketplace.tls import tls_context

_HOP_HEADERS = {b"transfer-encoding", b"content-length"}


def _idle_closed(sock: socket.socket | None) -> bool:
    """True when a kept-alive connection's socket is gone or readable while idle (the server closed it)."""
    if sock is None:
        return True
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class KeepAliveTransport(httpx.BaseTransport):
    """``http.client`` connections for :class:`httpx.Client`, one kept alive per thread and (scheme, host, port)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[threading.Thread, http.client.HTTPConnection]] = []

    def _connection(self, url: httpx.URL, timeouts: dict[str, Any]) -> http.client.HTTPConnection:
        conns: dict[tuple[str, str, int | None], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "conns", {})
        key = (url.scheme, url.host, url.port)
        conn = conns.get(key)
        if conn is not None and not _idle_closed(conn.sock):
            return conn
        if conn is not None:
            conn.close()
        connect = timeouts.get("connect")
        if url.scheme == "https":
            conn = http.client.HTTPSConnection(url.host, url.port, timeout=connect, context=tls_context())
        else:
            conn = http.client.HTTPConnection(url.host, url.port, timeout=connect)
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(str(exc)) from exc
        except OSError as exc:
            conn.close()
            raise httpx.ConnectError(str(exc)) from exc
        if conn.sock is not None:
            conn.sock.settimeout(timeouts.get("read"))
        conns[key] = conn
        with self._lock:  # the connections of threads that have ended are closed here (a pool's threads come and go)
            for owner, other in self._open:
                if not owner.is_alive():
                    other.close()
            self._open = [(owner, other) for owner, other in self._open if owner.is_alive()]
            self._open.append((threading.current_thread(), conn))
        return conn

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and read the whole answer."""
        timeouts = dict(request.extensions.get("timeout") or {})
        conn = self._connection(request.url, timeouts)
        body = request.read()
        try:
            conn.putrequest(request.method, request.url.raw_path.decode("ascii"), skip_host=True,
                            skip_accept_encoding=True)
            for name, value in request.headers.raw:
                if name.lower() not in _HOP_HEADERS:
                    conn.putheader(name.decode("latin-1"), value.decode("latin-1"))
            if body or request.method not in ("GET", "HEAD"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
        except TimeoutError as exc:
            conn.close()
            raise httpx.WriteTimeout(str(exc)) from exc
        except (http.client.HTTPException, OSError) as exc:
            conn.close()
            raise httpx.WriteError(str(exc)) from exc
        try:
            response = conn.getresponse()
            content = response.read()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ReadTimeout(str(exc)) from exc
        except http.client.HTTPException as exc:
            conn.close()
            raise httpx.RemoteProtocolError(str(exc)) from exc
        except OSError as exc:
            conn.close()
            raise httpx.ReadError(str(exc)) from exc
        if response.will_close:
            conn.close()
        return httpx.Response(response.status, headers=response.getheaders(), stream=httpx.ByteStream(content),
                              extensions={"http_version": b"HTTP/1.1"})

    def close(self) -> None:
        """Close every connection this transport opened."""
        with self._lock:
            for _owner, conn in self._open:
                conn.close()
            self._open.clear()
