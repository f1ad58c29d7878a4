"""Airflow provider metadata of aeops: the ``aliexpress`` connection type and its form.

Found by Airflow through the ``apache_airflow_provider`` entry point in ``pyproject.toml`` and read by every
Airflow process (API server, scheduler, CLI), so this module imports nothing. Airflow 3.2+ builds the
connection form of the UI from the declarative ``ui-field-behaviour`` and ``conn-fields`` entries below
(``GET /ui/connections/hook_meta``); hook methods such as ``get_connection_form_widgets`` no longer reach it.
``conn-fields`` are stored as plain keys of ``Connection.extra`` (``access_token``, ``seller_id``, ...), the
keys :class:`aeops.marketplace.hooks.AliExpressHook` reads.

Check it with ``airflow providers hooks`` / ``airflow providers widgets`` / ``airflow providers behaviours``.
"""

from __future__ import annotations

from typing import Any

CONNECTION_TYPE = "aliexpress"
HOOK_CLASS = "aeops.marketplace.hooks.AliExpressHook"

_SECRET = {"type": ["string", "null"], "format": "password"}


def get_provider_info() -> dict[str, Any]:
    """The Airflow provider metadata of aeops: its AliExpress connection type and its form."""
    return {
        # must equal the distribution name ([project] name in pyproject.toml)
        "package-name": "aeops",
        "name": "aeops",
        "description": "AliExpress store operations: the AliExpress Open Platform connection type.",
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": HOOK_CLASS,
                "hook-name": "AliExpress Open Platform",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {"host": "Gateway URL", "login": "App key", "password": "App secret"},
                    "placeholders": {
                        "host": "https://api-sg.aliexpress.com",
                        "login": "the app key of your Open Platform app",
                        "seller_id": "2000000001",
                    },
                },
                "conn-fields": {
                    "access_token": {
                        "label": "Access token",
                        "description": "The seller's OAuth access token (aeops refreshes it and keeps the newest, "
                        "encrypted, in its own database).",
                        "schema": _SECRET,
                    },
                    "refresh_token": {
                        "label": "Refresh token",
                        "description": "The seller's OAuth refresh token.",
                        "schema": _SECRET,
                    },
                    "seller_id": {
                        "label": "Seller ID",
                        "description": "The seller (store) id the tokens belong to.",
                        "schema": {"type": ["integer", "null"], "minimum": 1},
                    },
                    "qps": {
                        "label": "Max requests per second",
                        "description": "Client-side calls per second for this seller (the store's qps setting "
                        "wins when set).",
                        "schema": {"type": ["number", "null"], "minimum": 0.1},
                    },
                    "rate_limit": {
                        "label": "Shared rate limit",
                        "description": "Where workers share the per-seller rate limit, e.g. redis://host:6379/1 "
                        "(empty: per process).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "storefront": {
                        "label": "Storefront",
                        "description": "Where verification reads product pages: aliexpress or simulator (empty: "
                        "from the gateway host).",
                        "schema": {"type": ["string", "null"], "enum": ["aliexpress", "simulator", None]},
                    },
                },
            }
        ],
    }
