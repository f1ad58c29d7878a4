"""Fast checks of the distributed test's own tools: rate measuring, call recording, teardown (run by ``make test``)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.distributed.metered_simulator import CallRecorder, call_fields, token_fingerprint
from tests.distributed.rates import max_in_window, seller_rates
from tests.distributed.worker_name import hostname


def test_max_in_window_counts_the_busiest_half_open_interval() -> None:
    # Four calls 0.25 s apart fit in one second; the fifth at exactly +1.0 s starts a new window.
    spaced = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25]
    assert max_in_window(spaced, 1.0) == 4
    assert max_in_window(spaced, 0.9) == 4
    # Two unshared limiters at the same rate interleave: twice the calls in the same window.
    doubled = sorted(spaced + [t + 0.1 for t in spaced])
    assert max_in_window(doubled, 0.9) == 8
    assert max_in_window([], 1.0) == 0


def test_seller_rates_group_calls_by_token_owner_and_count_throttles() -> None:
    sellers = {"1": {"seller_id": 1, "access_tokens": {"tok-a": 0}},
               "2": {"seller_id": 2, "access_tokens": {"tok-b": 0, "tok-b2": 0}}}
    calls = [{"t": 0.0, "token": token_fingerprint("tok-a"), "throttled": False},
             {"t": 0.1, "token": token_fingerprint("tok-a"), "throttled": True},
             {"t": 0.2, "token": token_fingerprint("tok-b2"), "throttled": False},
             {"t": 0.3, "token": None, "throttled": False}]
    rates = seller_rates(calls, sellers, 0.9)
    assert {k: (r.calls, r.throttled, r.max_per_window) for k, r in rates.items()} == {1: (2, 1, 2), 2: (1, 0, 1)}


def test_call_fields_read_urlencoded_and_multipart_bodies() -> None:
    assert call_fields(b"method=a.b&session=tok&sign=X", b"") == {"method": "a.b", "session": "tok"}
    multipart = (b'--x\r\nContent-Disposition: form-data; name="session"\r\n\r\ntok2\r\n'
                 b'--x\r\nContent-Disposition: form-data; name="method"\r\n\r\nup.load\r\n--x--\r\n')
    assert call_fields(multipart, b"") == {"session": "tok2", "method": "up.load"}
    assert call_fields(b"", b"access_token=t3") == {"access_token": "t3"}


def test_call_recorder_passes_requests_through_and_records_them(tmp_path: Path) -> None:
    seen = {}

    async def app(scope, receive, send):
        seen["body"] = (await receive())["body"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"error_response": {"code": "ApiCallLimit"}}'})

    sent = []

    async def receive():
        return {"type": "http.request", "body": b"method=m&session=secret-token", "more_body": False}

    async def send(message):
        sent.append(message)

    out = tmp_path / "calls.jsonl"
    scope = {"type": "http", "path": "/sync", "query_string": b""}
    asyncio.run(CallRecorder(app, out)(scope, receive, send))
    assert seen["body"] == b"method=m&session=secret-token"
    assert sent[-1]["body"].startswith(b'{"error_response"')
    (entry,) = [json.loads(line) for line in out.read_text().splitlines()]
    assert entry["method"] == "m" and entry["throttled"] is True
    assert entry["token"] == token_fingerprint("secret-token") and "secret-token" not in out.read_text()


def test_worker_hostname_is_the_worker_name_when_set(monkeypatch) -> None:
    monkeypatch.setenv("AEOPS_WORKER_NAME", "w2")
    assert hostname() == "w2"
    monkeypatch.delenv("AEOPS_WORKER_NAME")
    assert hostname()


def test_stack_stop_also_ends_children_that_left_the_process_group(tmp_path: Path) -> None:
    import os
    import sys

    from tests.distributed.stack import Stack, wait_until

    # Like a task supervisor: the child moves to a process group of its own, then ignores SIGTERM.
    script = ("import os, signal, sys, time\n"
              "if os.fork() == 0:\n"
              "    os.setpgid(0, 0); signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
              "    open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)\n"
              "time.sleep(60)\n")
    marker = tmp_path / "child.pid"
    stack = Stack(tmp_path / "logs", dict(os.environ))
    stack.start("parent", [sys.executable, "-c", script, str(marker)])
    wait_until(lambda: marker.exists() and marker.read_text(), 10, "child started", interval=0.01)
    killed = stack.stop(grace=3)  # the parent dies of SIGTERM well within it, even on a busy machine
    assert killed == [int(marker.read_text())]
    assert stack.leftovers() == []
