"""``AliExpressHook`` builds a working client from an Airflow connection; secrets reach Airflow's masker."""

from __future__ import annotations

import json

import pytest
from conftest import ACCESS_TOKEN, REFRESH_TOKEN, SELLER_ID, RunningSimulator

from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET


def test_hook_client_talks_to_the_simulator(simulator: RunningSimulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_ALIEXPRESS_HOOK_TEST", json.dumps({
        "conn_type": "aliexpress", "host": simulator.url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
        "extra": {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "seller_id": SELLER_ID,
                  "qps": 50}}))
    from aeops.marketplace.hooks import AliExpressHook

    assert AliExpressHook.default_conn_name == "aliexpress_default"
    with AliExpressHook("aliexpress_hook_test").get_client() as client:
        assert client.seller_id == SELLER_ID
        assert client.get_product(9007199254740993).product_id == 9007199254740993


def test_registered_secrets_are_masked_by_airflow() -> None:
    import airflow.sdk  # noqa: F401 - the client registers with Airflow only when Airflow is loaded

    from aeops.secrets import redact, register_secret

    register_secret("fresh-token-from-a-refresh-123")
    from airflow.sdk._shared.secrets_masker import redact as airflow_redact

    assert airflow_redact("token fresh-token-from-a-refresh-123") == "token ***"
    assert redact("token fresh-token-from-a-refresh-123") == "token ***"
