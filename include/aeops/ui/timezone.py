"""The Airflow UI shows the stores' time zone by default: an ASGI middleware the plugin adds to the api-server.

Airflow 3.3's React UI has no server-side default time zone (``[webserver] default_ui_timezone`` was removed):
it shows times in the browser's zone unless the user picks one in the user menu, which it keeps in the browser's
``localStorage`` under the key ``timezone`` (a JSON string). This middleware adds one line of script to the UI's
HTML shell (and nothing else) that sets that key to the stores' zone when the user has not chosen one, so an
operator in any country sees the seller's times, and a choice made in the user menu still wins.

The zone is ``AEOPS_UI_TIMEZONE`` when set (an IANA name, or ``off`` to leave the UI alone), else the time zone
of the configured stores (the first store's when they differ). Either must be a zone ``zoneinfo`` knows, checked
before it is used: anything else is logged once and the UI is left alone (a value is never written into the page
unchecked), and the script's string literal escapes ``<``, ``>`` and ``&`` besides. Pure ASGI, no FastAPI import:
the plugin file, which every Airflow process loads, stays cheap.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from zoneinfo import ZoneInfo

from aeops.secrets import get_logger
from aeops.ui.settings import current_config

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]

SKIP_PREFIXES = ("/api/", "/auth/", "/execution/", "/aeops", "/static/", "/ui/", "/pluginsv2/", "/assets/")
MAX_HTML = 512 * 1024  # the UI shell is a few kB; anything larger is not it
TTL_S = 60.0
_ZONE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}")
_warned: set[str] = set()


def valid_zone(name: str) -> bool:
    """True for an IANA time-zone name ``zoneinfo`` can load (``Asia/Shanghai``, ``UTC``); no paths, no markup."""

    if not _ZONE_NAME.fullmatch(name):
        return False
    try:
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def store_timezone() -> str | None:
    """The zone the UI should default to (None: leave it alone, also for a value that is not an IANA zone)."""
    chosen = os.environ.get("AEOPS_UI_TIMEZONE", "").strip()
    if chosen.lower() == "off":
        return None
    if not chosen:
        try:
            stores = current_config().stores
        except Exception:  # noqa: BLE001 - unreadable settings: the UI keeps its own default
            return None
        chosen = stores[0].timezone if stores else ""
    if chosen and not valid_zone(chosen):
        if chosen not in _warned:
            _warned.add(chosen)

            get_logger(__name__).warning("AEOPS_UI_TIMEZONE (or the first store's timezone) %r is not an IANA "
                                         "time zone (e.g. Asia/Shanghai): the Airflow UI keeps its own", chosen)
        return None
    return chosen or None


def snippet(zone: str) -> bytes:
    """The script that sets the UI's ``timezone`` key unless the user already has one (``zone`` checked by
    :func:`valid_zone`; the literal escapes ``<``, ``>``, ``&`` all the same)."""
    value = json.dumps(json.dumps(zone))  # the UI stores JSON; this is that JSON as a JS string literal
    value = value.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f"<script>try{{if(localStorage.getItem(\"timezone\")===null)"
            f"localStorage.setItem(\"timezone\",{value})}}catch(e){{}}</script>").encode()


class UiTimezoneMiddleware:
    """Inject :func:`snippet` into the ``<head>`` of the Airflow UI's HTML pages."""

    def __init__(self, app: ASGIApp, zone_of: Callable[[], str | None] = store_timezone) -> None:
        self.app = app
        self.zone_of = zone_of
        self._zone: tuple[float, str | None] | None = None

    def _current_zone(self) -> str | None:
        now = time.monotonic()
        if self._zone is None or now - self._zone[0] > TTL_S:
            self._zone = (now, self.zone_of())
        return self._zone[1]

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Message]],
                       send: Callable[[Message], Awaitable[None]]) -> None:
        """Pass a request through; on an HTML page, set the UI's default time zone to the store's."""
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):] or "/"
        if scope.get("type") != "http" or scope.get("method") != "GET" or path.startswith(SKIP_PREFIXES):
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []
        passing = False

        async def wrapped(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                headers = {k.lower(): v for k, v in message.get("headers", [])}
                if b"text/html" not in headers.get(b"content-type", b"") or b"content-encoding" in headers:
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] == "http.response.body" and start is not None:
                chunks.append(message.get("body", b""))
                body = b"".join(chunks)
                passing = True
                if message.get("more_body"):
                    if len(body) <= MAX_HTML:
                        passing = False
                        return
                    await send(start)  # too big to be the UI shell: pass it on untouched
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                    return
                zone = await asyncio.to_thread(self._current_zone)  # may read the Variable: off the event loop
                if zone and b"<head>" in body and b"localStorage.setItem(\"timezone\"" not in body:
                    body = body.replace(b"<head>", b"<head>" + snippet(zone), 1)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, wrapped)
