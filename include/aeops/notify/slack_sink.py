"""``aeops slack-sink``: a local stand-in for the Slack Web API that records every request.

It answers the calls aeops makes through slack_sdk's ``WebClient`` (and so through the Airflow
provider's ``SlackHook``/``SlackNotifier``) the way Slack does:

- ``POST /api/chat.postMessage``: ``{"ok": true, "channel": "C…", "ts": "…", "message": {...}}``;
  replies in threads with ``thread_ts``; channel names (``#aeops-alerts``) map to stable ids;
- ``POST /api/chat.update``: edits a recorded message (``message_not_found`` for an unknown ``ts``);
- ``POST /api/auth.test``; any other method answers ``{"ok": false, "error": "unknown_method"}``.

Bodies are accepted as JSON or form-encoded, with the token in the ``Authorization: Bearer`` header
(or a ``token`` form field). When a token is configured, a missing token answers ``not_authed`` and
a wrong one ``invalid_auth``, as Slack does.

Every ``/api/`` request is appended to ``--out`` as one JSON line: time, API method, headers (the
``Authorization`` value replaced by ``present``), ``auth`` (``present`` and the token's sha256
prefix, so a test can prove which token was used without the token being stored), the body (a
``token`` field removed), the HTTP status and the response.

Control endpoints for tests (not recorded):

- ``POST /_sink/fail`` ``{"mode": "500"|"429"|"timeout", "count": N, "retry_after": S, "delay": S}``:
  the next N Slack calls fail that way (429 carries ``Retry-After: S``; timeout sleeps ``delay``
  seconds before answering 200, longer than the client's timeout);
- ``POST /_sink/reset``: forget messages and failure modes (the --out file is kept);
- ``GET /_sink/messages``: the channels' current messages (updates applied) and the request count.

In tests use :class:`SlackSink` as a context manager (free port on 127.0.0.1, stopped on exit).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aeops.secrets import get_logger

log = get_logger(__name__)

TOKEN_HASH_CHARS = 12
MAX_BODY = 5 * 1024 * 1024


def token_fingerprint(token: str) -> str:
    """The first 12 hex characters of the token's sha256 (what the sink records instead of the token)."""
    return hashlib.sha256(token.encode()).hexdigest()[:TOKEN_HASH_CHARS]


@dataclass
class _Failure:
    mode: str
    remaining: int
    retry_after: int = 1
    delay: float = 0.0


class _State:
    """Messages per channel, injected failures and the request log; guarded by one lock."""

    def __init__(self, out: Path | None, token: str | None) -> None:
        self.lock = threading.Lock()
        self.out = out
        self.token = token
        self.records: list[dict[str, Any]] = []
        self.messages: list[dict[str, Any]] = []
        self.failure: _Failure | None = None
        self._ts = itertools.count(1)
        self._base = int(time.time())

    def next_ts(self) -> str:
        return f"{self._base}.{next(self._ts):06d}"

    def record(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, default=str)
        with self.lock:
            self.records.append(entry)
            if self.out is not None:
                with self.out.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")

    def take_failure(self) -> _Failure | None:
        with self.lock:
            failure = self.failure
            if failure is None:
                return None
            failure.remaining -= 1
            if failure.remaining <= 0:
                self.failure = None
            return failure


def channel_id(channel: str) -> str:
    """Slack answers with channel ids; names map to a stable fake id, ids (C…/G…/D…) pass through."""
    channel = channel.strip()
    if channel[:1] in {"C", "G", "D"} and channel[1:].isalnum() and channel.isupper():
        return channel
    return "C" + hashlib.sha256(channel.lstrip("#").encode()).hexdigest()[:10].upper()


def _parse_body(content_type: str, raw: bytes, query: str) -> dict[str, Any]:
    body: dict[str, Any] = dict(parse_qsl(query))
    if not raw:
        return body
    if "json" in content_type:
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("JSON body must be an object")
        body.update(data)
    else:
        body.update(dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True)))
    return body


def _maybe_json(value: Any) -> Any:
    """Form bodies (and the provider's notifier) send blocks/attachments as JSON strings."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


class _Handler(BaseHTTPRequestHandler):
    server_version = "aeops-slack-sink/1"
    protocol_version = "HTTP/1.1"
    state: _State  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("slack-sink %s " + format, self.address_string(), *args)

    # -- plumbing -------------------------------------------------------------------------------------
    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        ctype = "text/html; charset=utf-8" if isinstance(payload, bytes) else "application/json; charset=utf-8"
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _read(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    # -- routes ---------------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.path).path
        if path == "/_sink/messages":
            with self.state.lock:
                self._send(200, {"messages": list(self.state.messages), "requests": len(self.state.records)})
        elif path == "/_sink/health":
            self._send(200, {"ok": True})
        elif path.startswith("/api/"):
            self._api(path[len("/api/"):], b"")
        else:
            self._send(404, {"ok": False, "error": "not_found"})

    def do_POST(self) -> None:  # noqa: N802 - stdlib name
        path = urlsplit(self.path).path
        try:
            raw = self._read()
        except ValueError as exc:
            self._send(413, {"ok": False, "error": str(exc)})
            return
        if path == "/_sink/fail":
            self._control_fail(raw)
        elif path == "/_sink/reset":
            with self.state.lock:
                self.state.messages.clear()
                self.state.failure = None
            self._send(200, {"ok": True})
        elif path.startswith("/api/"):
            self._api(path[len("/api/"):], raw)
        else:
            self._send(404, {"ok": False, "error": "not_found"})

    def _control_fail(self, raw: bytes) -> None:
        try:
            spec = json.loads(raw or b"{}")
            mode = str(spec.get("mode", "500"))
            if mode not in {"500", "429", "timeout"}:
                raise ValueError(f"mode must be 500, 429 or timeout, not {mode!r}")
            failure = _Failure(
                mode=mode,
                remaining=int(spec.get("count", 1)),
                retry_after=int(spec.get("retry_after", 1)),
                delay=float(spec.get("delay", 2.0)),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            self._send(400, {"ok": False, "error": str(exc)})
            return
        with self.state.lock:
            self.state.failure = failure if failure.remaining > 0 else None
        self._send(200, {"ok": True})

    def _auth(self, body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        header = self.headers.get("Authorization") or ""
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        token = token or str(body.pop("token", "") or "")
        info = {"present": bool(token), "sha256_prefix": token_fingerprint(token) if token else None}
        expected = self.state.token
        if expected is None:
            return info, None
        if not token:
            return info, "not_authed"
        if token != expected:
            return info, "invalid_auth"
        return info, None

    def _api(self, method: str, raw: bytes) -> None:
        ctype = self.headers.get("Content-Type") or ""
        headers = {k: ("present" if k.lower() == "authorization" else v) for k, v in self.headers.items()}
        entry: dict[str, Any] = {
            "time": time.time(),
            "method": method,
            "http_method": self.command,
            "headers": headers,
            "content_type": ctype.split(";")[0],
        }
        try:
            body = _parse_body(ctype, raw, urlsplit(self.path).query)
        except (ValueError, UnicodeDecodeError):
            entry.update(body=None, auth={"present": "Authorization" in self.headers}, status=200)
            response = {"ok": False, "error": "invalid_json"}
            entry["response"] = response
            self.state.record(entry)
            self._send(200, response)
            return
        auth, auth_error = self._auth(body)
        entry.update(body=body, auth=auth)

        failure = self.state.take_failure()
        if failure is not None and failure.mode == "timeout":
            time.sleep(failure.delay)
            failure = None
        if failure is not None and failure.mode == "429":
            response = {"ok": False, "error": "ratelimited"}
            entry.update(status=429, response=response, injected="429")
            self.state.record(entry)
            self._send(429, response, {"Retry-After": str(failure.retry_after)})
            return
        if failure is not None and failure.mode == "500":
            entry.update(status=500, response="<html>Internal Server Error</html>", injected="500")
            self.state.record(entry)
            self._send(500, b"<html><body>Internal Server Error</body></html>")
            return

        response = {"ok": False, "error": auth_error} if auth_error else self._dispatch(method, body)
        entry.update(status=200, response=response)
        self.state.record(entry)
        self._send(200, response)

    # -- Slack methods --------------------------------------------------------------------------------
    def _dispatch(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True, "url": "https://aeops-sink.slack.com/", "team": "aeops sink", "user": "aeops",
                "team_id": "T0AEOPS00", "user_id": "U0AEOPS00", "bot_id": "B0AEOPS00", "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            return self._post_message(body)
        if method == "chat.update":
            return self._update(body)
        return {"ok": False, "error": "unknown_method"}

    def _post_message(self, body: dict[str, Any]) -> dict[str, Any]:
        channel = str(body.get("channel") or "")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        text = body.get("text") or ""
        blocks = _maybe_json(body.get("blocks"))
        attachments = _maybe_json(body.get("attachments"))
        if not text and not blocks and not attachments:
            return {"ok": False, "error": "no_text"}
        cid = channel_id(channel)
        with self.state.lock:
            ts = self.state.next_ts()
            message = {
                "type": "message", "subtype": "bot_message", "bot_id": "B0AEOPS00", "text": text,
                "blocks": blocks or [], "ts": ts, "channel": cid, "channel_name": channel,
            }
            thread_ts = body.get("thread_ts")
            if thread_ts:
                parent = next((m for m in self.state.messages if m["ts"] == thread_ts and m["channel"] == cid), None)
                if parent is None:
                    return {"ok": False, "error": "thread_not_found"}
                message["thread_ts"] = str(thread_ts)
                parent["reply_count"] = parent.get("reply_count", 0) + 1
            self.state.messages.append(message)
        public = {k: v for k, v in message.items() if k != "channel_name"}
        return {"ok": True, "channel": cid, "ts": ts, "message": public}

    def _update(self, body: dict[str, Any]) -> dict[str, Any]:
        cid = channel_id(str(body.get("channel") or ""))
        ts = str(body.get("ts") or "")
        with self.state.lock:
            message = next((m for m in self.state.messages if m["ts"] == ts and m["channel"] == cid), None)
            if message is None:
                return {"ok": False, "error": "message_not_found"}
            if "text" in body:
                message["text"] = body.get("text") or ""
            if "blocks" in body:
                message["blocks"] = _maybe_json(body.get("blocks")) or []
            message["edited"] = {"user": "U0AEOPS00", "ts": self.state.next_ts()}
            public = {k: v for k, v in message.items() if k != "channel_name"}
        return {"ok": True, "channel": cid, "ts": ts, "text": public["text"], "message": public}


class SlackSink:
    """The sink as an object: ``with SlackSink(out=path) as sink: ... sink.api_url ...``.

    ``port=0`` picks a free port. ``token`` (optional) makes the sink check the bearer token.
    """

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, out: Path | str | None = None, token: str | None = None
    ) -> None:
        self.host = host
        self.port = port
        self.state = _State(Path(out) if out else None, token)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The sink's base URL."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """What to put in the ``slack_api_default`` connection's ``base_url`` extra."""
        return f"{self.url}/api/"

    def bind(self) -> None:
        """Open the listening socket (so a port conflict is reported before serving)."""
        handler = type("SinkHandler", (_Handler,), {"state": self.state})
        server = ThreadingHTTPServer((self.host, self.port), handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        if self.state.out is not None:
            self.state.out.parent.mkdir(parents=True, exist_ok=True)
            self.state.out.touch()

    def start(self) -> SlackSink:
        """Serve in a background thread."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="slack-sink", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve requests until :meth:`stop` (binds first when needed)."""
        if self._server is None:
            self.bind()
        assert self._server is not None
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> SlackSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- test helpers (same effect as the control endpoints) ------------------------------------------
    def fail(self, mode: str, count: int = 1, retry_after: int = 1, delay: float = 2.0) -> None:
        """Make the next ``count`` Slack calls fail with ``mode`` (``"500"``, ``"429"`` or ``"timeout"``)."""
        if mode not in {"500", "429", "timeout"}:
            raise ValueError(f"mode must be 500, 429 or timeout, not {mode!r}")
        with self.state.lock:
            self.state.failure = _Failure(mode, count, retry_after, delay) if count > 0 else None

    def reset(self) -> None:
        """Forget the recorded messages and any injected failure."""
        with self.state.lock:
            self.state.messages.clear()
            self.state.failure = None

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Current messages (updates applied), optionally of one channel (name or id)."""
        with self.state.lock:
            items = [dict(m) for m in self.state.messages]
        if channel is not None:
            items = [m for m in items if m["channel"] == channel_id(channel)]
        return items

    def requests(self, method: str | None = None) -> list[dict[str, Any]]:
        """Recorded Slack API requests (what --out holds), optionally of one API method."""
        with self.state.lock:
            items = list(self.state.records)
        return [r for r in items if method is None or r["method"] == method]


__all__ = ["SlackSink", "channel_id", "token_fingerprint"]
