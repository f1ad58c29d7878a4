"""When the storefront does not show a product page at all: an anti-bot page, a login or a geo redirect.

The live site answers a plain HTTP client from a data-centre IP with Alibaba's "baxia" anti-bot interstitial
(docs/aliexpress-api.md §2.13); it also sends some visitors to the login page or to another country's site.
Such an answer says nothing about the product: it is *storefront unreadable* with its cause, never a failed
product, and the product is judged by the API's product query instead (:mod:`aeops.verify.runner`).

Causes (:data:`CAUSES`): ``anti_bot`` (the punish / captcha page: ``/_____tmd_____/punish?x5secdata=``,
``x5secdata``, ``baxia``, ``punish-component``, the ``nc`` slider, the ``bxpunish`` response header, HTTP 429),
``login`` (a redirect to, or a final URL on, a login host), ``geo_redirect`` (a redirect to another country's
host than the one asked for, e.g. ``www.aliexpress.com`` -> ``aliexpress.ru`` / ``aliexpress.us``), ``no_data``
(a page without the item data). Saved and reconstructed examples: ``tests/fixtures/aliexpress/``.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping

ANTI_BOT, LOGIN, GEO_REDIRECT, NO_DATA = "anti_bot", "login", "geo_redirect", "no_data"
CAUSES = (ANTI_BOT, LOGIN, GEO_REDIRECT, NO_DATA)

_ANTI_BOT = re.compile(
    r"_____tmd_____|x5secdata|/punish\?|punish-component|baxia-dialog|bixi\.alicdn\.com/punish|sufei-punish|"
    r"nocaptcha|nc_1_wrapper|captcha interception|unusual traffic from your network|slide to verify",
    re.IGNORECASE)
_LOGIN_HOSTS = ("login.aliexpress.", "passport.aliexpress.", "login.taobao.", "accounts.aliexpress.")
_LOGIN_PATH = re.compile(r"^/(?:login|signin|user/login)\b|/login\.htm", re.IGNORECASE)
_SNIFF = 65536  # where the markers of a punish page are (its config script comes early; a real one is ~30 KB)


def _host(url: str) -> str:
    return (urllib.parse.urlsplit(url).hostname or "").lower()


def is_login_url(url: str) -> bool:
    """Whether ``url`` is a login page (the storefront redirected instead of showing the product)."""
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    return host.startswith(_LOGIN_HOSTS) or bool(_LOGIN_PATH.search(parts.path or ""))


def _country_host(host: str) -> str:
    """``es.aliexpress.com`` -> ``aliexpress.com``; ``m.aliexpress.ru`` -> ``aliexpress.ru``: the registrable host
    that says which country's site it is (language sub-hosts of one site are the same site)."""
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) >= 2 else host


def classify(asked: str, final: str, status: int, body: str = "", headers: Mapping[str, str] | None = None,
             location: str | None = None, has_data: bool = False) -> tuple[str, str] | None:
    """(cause, detail) when the answer to ``asked`` is not the product page of the site asked, else None.

    ``final`` is the URL that answered (after redirects), ``location`` a redirect not followed (3xx). What the
    URLs and headers say decides first (a punish URL, ``bxpunish``, HTTP 429, a login host, another country's
    host, even when that host shows a product page: its prices are another site's); the body's anti-bot markers
    only count on a page without item data (``has_data``), so a product page that merely mentions them stays
    readable."""
    target = urllib.parse.urljoin(asked, location) if location else final
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    in_url = _ANTI_BOT.search(target)
    if status == 429 or lowered.get("bxpunish") or in_url:
        return ANTI_BOT, f"anti-bot page ({in_url.group(0) if in_url else 'HTTP ' + str(status)})"
    if is_login_url(target):
        return LOGIN, f"redirected to the login page {_host(target)}"
    asked_host, target_host = _host(asked), _host(target)
    if target_host and asked_host and _country_host(target_host) != _country_host(asked_host):
        return GEO_REDIRECT, f"redirected from {asked_host} to {target_host}"
    in_body = None if has_data else _ANTI_BOT.search(body[:_SNIFF])
    if in_body:
        return ANTI_BOT, f"anti-bot page ({in_body.group(0)})"
    return None
