"""``AliExpressHook``: an Airflow hook that builds an :class:`AliExpressClient` from a connection.

Connection type ``aliexpress`` (registered by :mod:`aeops.provider`, so the Airflow UI shows its own form),
e.g. ``aliexpress_default`` (see :mod:`aeops.embedded`): ``host`` = gateway base URL
(``https://api-sg.aliexpress.com`` or the simulator), ``login`` = app key, ``password`` = app secret,
extras ``access_token``, ``refresh_token``, ``seller_id`` (optional ``qps``, ``rate_limit``, ``storefront``).
Airflow is imported only when this module is, so the client itself works without Airflow.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseHook

from aeops.marketplace.client import AliExpressClient
from aeops.secrets import register_secret


class AliExpressHook(BaseHook):
    """Get a client for one seller: ``AliExpressHook("aliexpress_kids").get_client(qps=10)``."""

    conn_name_attr = "aliexpress_conn_id"
    default_conn_name = "aliexpress_default"
    conn_type = "aliexpress"  # must match aeops.provider's connection type
    hook_name = "AliExpress Open Platform"

    def __init__(self, aliexpress_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.aliexpress_conn_id = aliexpress_conn_id

    def client_kwargs(self) -> dict[str, Any]:
        """The client's constructor arguments from the connection (secrets registered with the masker)."""
        conn = self.get_connection(self.aliexpress_conn_id)
        extra = conn.extra_dejson or {}
        host = conn.host or "https://api-sg.aliexpress.com"
        if "://" not in host:
            host = f"{conn.schema or 'https'}://{host}" + (f":{conn.port}" if conn.port else "")
        for secret in (conn.password, extra.get("access_token"), extra.get("refresh_token")):
            register_secret(secret)
        kwargs: dict[str, Any] = {
            "base_url": host,
            "app_key": conn.login,
            "app_secret": conn.password,
            "access_token": extra.get("access_token"),
            "refresh_token": extra.get("refresh_token"),
            "seller_id": int(extra["seller_id"]) if extra.get("seller_id") not in (None, "") else None,
        }
        if extra.get("qps"):
            kwargs["qps"] = float(extra["qps"])
        if extra.get("rate_limit"):
            kwargs["rate_limit"] = extra["rate_limit"]
        return kwargs

    def get_client(self, **overrides: Any) -> AliExpressClient:
        """A ready client; keyword arguments override the connection's (e.g. ``qps``, ``rate_limit``)."""
        if not self.aliexpress_conn_id:
            raise ValueError("no connection id")
        return AliExpressClient(**{**self.client_kwargs(), **overrides})

    def get_conn(self) -> AliExpressClient:
        """The connection's client (Airflow's hook interface; same as :meth:`get_client`)."""
        return self.get_client()

    def test_connection(self) -> tuple[bool, str]:
        """The UI's "Test" button: one signed read of the seller profile."""
        try:
            profile = self.get_client().merchant_profile()
        except Exception as exc:  # noqa: BLE001 - the UI shows the one line
            return False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
        posting = {True: "forbidden by the platform", False: "allowed"}.get(profile.posting_forbidden, "not stated")
        return True, f"seller {profile.seller_id}: product posting {posting}"
