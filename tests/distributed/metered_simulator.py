"""The real marketplace simulator in its own process, with every API call's arrival time recorded.

``python tests/distributed/metered_simulator.py --port P --state FILE --faults qps=4 --calls calls.jsonl``
serves :func:`aeops.marketplace.simulator.create_app` (exactly what ``aeops simulator`` serves) wrapped in
:class:`CallRecorder`, a pass-through ASGI layer that appends one JSON line per ``/sync`` or ``/rest``
request: arrival time (``time.time()`` when the request reached the simulator), API method, a fingerprint of
the seller's token (never the token) and whether the simulator answered ``ApiCallLimit``. The distributed
test reads that file to measure the per-seller request rate the platform saw from all workers together.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
import urllib.parse
from pathlib import Path
from typing import Any

_MULTIPART_FIELD = re.compile(rb'name="(session|access_token|method)"\r\n\r\n([^\r]*)\r\n')


def token_fingerprint(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def call_fields(body: bytes, query: bytes) -> dict[str, str]:
    """``method`` and the token (``session`` or ``access_token``) of an urlencoded or multipart request."""
    found: dict[str, str] = {}
    for raw in (query, body):
        for key, value in urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
            if key in ("session", "access_token", "method"):
                found.setdefault(key, value)
    for match in _MULTIPART_FIELD.finditer(body):
        found.setdefault(match.group(1).decode(), match.group(2).decode("latin-1"))
    return found


class CallRecorder:
    """ASGI middleware: pass every request through unchanged, record each API call as one JSON line."""

    def __init__(self, app: Any, out: Path) -> None:
        self.app = app
        self.out = out
        self._lock = threading.Lock()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == "/sync" or path.startswith("/rest/")):
            await self.app(scope, receive, send)
            return
        arrived = time.time()
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        answer: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.body":
                answer.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, capture)
        finally:
            fields = call_fields(body, scope.get("query_string", b""))
            token = fields.get("session") or fields.get("access_token") or ""
            entry = {
                "t": arrived,
                "done": time.time(),
                "path": path,
                "method": fields.get("method", path),
                "token": token_fingerprint(token) if token else None,
                "throttled": b"ApiCallLimit" in b"".join(answer),
            }
            with self._lock, self.out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")


def main() -> int:
    import uvicorn

    from aeops.marketplace.simulator.app import create_app
    from aeops.marketplace.simulator.faults import Faults
    from aeops.marketplace.simulator.state import SimState

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--faults", default="")
    parser.add_argument("--calls", required=True, help="JSON lines file: one line per API call")
    args = parser.parse_args()
    out = Path(args.calls)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.touch()
    public_url = f"http://{args.host}:{args.port}"
    app = create_app(SimState(Path(args.state)), Faults.parse(args.faults), public_url=public_url)
    print(f"metered simulator on {public_url} (faults {args.faults or 'none'}), calls in {out}", flush=True)
    uvicorn.run(CallRecorder(app, out), host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
