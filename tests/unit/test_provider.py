"""The ``aliexpress`` connection type: registered through the provider entry point, with its own form fields."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from aeops.embedded import connections
from aeops.marketplace.hooks import AliExpressHook
from aeops.provider import CONNECTION_TYPE, get_provider_info

FORM_FIELDS = {"access_token", "refresh_token", "seller_id"}


def test_airflow_lists_the_form_fields_of_the_aliexpress_connection_type() -> None:
    """What an operator sees: `airflow providers widgets` lists the extra fields of the connection form."""
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "providers", "widgets", "-o", "json"], capture_output=True, text=True,
                          timeout=120, env=os.environ.copy())
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads(done.stdout[done.stdout.index("["):])
    ours = {r["connection_parameter_name"]: r for r in rows if r["package_name"] == "aeops"}
    assert {f"extra__aliexpress__{name}" for name in FORM_FIELDS} <= set(ours)
    assert {r["class"] for r in ours.values()} == {"aeops.marketplace.hooks.AliExpressHook"}


def test_the_standard_fields_are_relabelled_app_key_and_app_secret() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    behaviour = manager.field_behaviours[CONNECTION_TYPE]
    assert behaviour["relabeling"] == {"host": "Gateway URL", "login": "App key", "password": "App secret"}
    assert set(behaviour["hidden_fields"]) == {"schema", "port"}
    widgets = manager.connection_form_widgets
    for name in ("access_token", "refresh_token"):  # secrets are password fields in the form
        assert widgets[f"extra__aliexpress__{name}"].field["schema"]["format"] == "password"


def test_provider_info_names_the_distribution_and_the_hook_of_the_same_type() -> None:
    info = get_provider_info()
    assert info["package-name"] == "aeops"
    (conn_type,) = info["connection-types"]
    assert conn_type["connection-type"] == AliExpressHook.conn_type == "aliexpress"
    assert conn_type["hook-class-name"] == f"{AliExpressHook.__module__}.{AliExpressHook.__name__}"
    assert FORM_FIELDS <= set(conn_type["conn-fields"])


def test_the_embedded_connections_use_the_aliexpress_type() -> None:
    conns = connections()
    marketplace = {cid: c for cid, c in conns.items() if cid != "slack_api_default"}
    assert marketplace and {c["conn_type"] for c in marketplace.values()} == {"aliexpress"}
    for conn in marketplace.values():
        assert FORM_FIELDS <= set(json.loads(conn["extra"]))
