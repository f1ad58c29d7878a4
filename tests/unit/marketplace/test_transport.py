"""The API client's keep-alive transport: answers read as httpx reads them; the errors that decide a write's retry."""

from __future__ import annotations

import gzip
import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from aeops.marketplace.client import AliExpressClient
from aeops.marketplace.errors import OutcomeUnknown
from aeops.marketplace.transport import KeepAliveTransport


def _serve(handle: Callable[[socket.socket, int], None]) -> tuple[str, socket.socket]:
    """A one-thread TCP server calling ``handle(conn, n)`` for its n-th connection."""
    server = socket.create_server(("127.0.0.1", 0))

    def loop() -> None:
        n = 0
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            n += 1
            threading.Thread(target=handle, args=(conn, n), daemon=True).start()

    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{server.getsockname()[1]}", server


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lengths = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")]
    length = lengths[0] if lengths else 0
    while len(body) < length:
        body += conn.recv(65536)
    return head + b"\r\n\r\n" + body


def _answer(body: bytes, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode()
            + b"\r\n" + extra + b"\r\n" + body)


@pytest.fixture
def servers() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for server in opened:
        server.close()


def test_answers_read_like_httpx_and_connection_reused(servers: list[socket.socket]) -> None:
    seen: list[tuple[int, bytes]] = []

    def handle(conn: socket.socket, n: int) -> None:
        while request := _read_request(conn):
            seen.append((n, request))
            conn.sendall(_answer(gzip.compress(b'{"ok": 1}'), b"Content-Encoding: gzip\r\n"))

    url, server = _serve(handle)
    servers.append(server)
    with httpx.Client(transport=KeepAliveTransport(), timeout=5) as client:
        answers = [client.post(f"{url}/sync?x=1", content=b"a=1&b=2",
                               headers={"Content-Type": "application/x-www-form-urlencoded"}) for _ in range(3)]
    assert [a.json() for a in answers] == [{"ok": 1}] * 3  # the gzip body decoded as httpx does
    assert {n for n, _ in seen} == {1}  # one connection kept alive for the three calls
    assert all(r.startswith(b"POST /sync?x=1 HTTP/1.1") and r.endswith(b"a=1&b=2") for _, r in seen)


def test_connection_closed_by_the_server_is_replaced_before_the_next_call(servers: list[socket.socket]) -> None:
    closed = threading.Semaphore(0)

    def handle(conn: socket.socket, n: int) -> None:
        _read_request(conn)
        conn.sendall(_answer(b'{"n": %d}' % n))
        conn.close()  # keep-alive not honoured (and not announced): the next call must go on a new connection
        closed.release()

    url, server = _serve(handle)
    servers.append(server)
    numbers = []
    with httpx.Client(transport=KeepAliveTransport(), timeout=5) as client:
        for _ in range(3):
            numbers.append(client.post(f"{url}/sync", content=b"x").json()["n"])
            assert closed.acquire(timeout=5)  # the server has closed its side before the next call
    assert numbers == [1, 2, 3]


def test_refused_connection_is_a_connect_error_a_lost_answer_is_not(servers: list[socket.socket]) -> None:
    free = socket.create_server(("127.0.0.1", 0))
    port = free.getsockname()[1]
    free.close()
    with httpx.Client(transport=KeepAliveTransport(), timeout=5) as client, pytest.raises(httpx.ConnectError):
        client.post(f"http://127.0.0.1:{port}/sync", content=b"x")

    def handle(conn: socket.socket, n: int) -> None:
        _read_request(conn)
        conn.close()  # the request arrived, no answer

    url, server = _serve(handle)
    servers.append(server)
    client = AliExpressClient(url, "k", "s", "t", qps=1000, max_attempts=1)
    with pytest.raises(OutcomeUnknown):  # a write whose answer was lost is never sent again blind
        client.call("aliexpress.solution.batch.product.price.update", {"x": 1}, write=True)
    client.close()
