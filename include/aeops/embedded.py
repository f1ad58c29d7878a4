"""The embedded mode's connections, ``aeops_config`` Variable and pools, with this checkout's paths.

``python -m aeops.embedded write DIR`` writes ``connections.json``, ``variables.json`` and ``pools.json``
for ``airflow connections import``, ``airflow variables import`` and ``airflow pools import`` (the
Makefile's set-up does this). Nothing here is a real secret: the demo app and seller exist only in the
local simulator, and the Slack token only in the local Slack sink.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# The simulator's documented demo app and sellers (see aeops.marketplace.simulator).
DEMO_APP_KEY = "500001"
DEMO_APP_SECRET = "demo-app-secret-not-for-production"
DEMO_SELLERS = {
    # store name -> (connection id, seller id, access token, refresh token)
    "demo": ("aliexpress_default", 2000000001, "demo-access-token-main", "demo-refresh-token-main"),
    "demo-kids": ("aliexpress_kids", 2000000002, "demo-access-token-kids", "demo-refresh-token-kids"),
}
DEMO_SLACK_TOKEN = "xoxb-embedded-demo-token"
API_POOL = "aliexpress_api"
API_POOL_SLOTS = 4


def project_dir() -> Path:
    return Path(os.environ.get("AEOPS_PROJECT_DIR") or Path(__file__).resolve().parents[2])


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME") or project_dir() / ".airflow")


def simulator_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('AEOPS_SIMULATOR_PORT', '8765')}"


def slack_sink_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('AEOPS_SLACK_SINK_PORT', '8766')}/api/"


def connections() -> dict[str, dict[str, Any]]:
    conns: dict[str, dict[str, Any]] = {}
    for conn_id, seller_id, access, refresh in DEMO_SELLERS.values():
        conns[conn_id] = {
            "conn_type": "http",
            "description": "AliExpress Open Platform app (embedded mode: the local simulator)",
            "host": simulator_url(),
            "login": DEMO_APP_KEY,
            "password": DEMO_APP_SECRET,
            "extra": json.dumps(
                {"access_token": access, "refresh_token": refresh, "seller_id": seller_id}
            ),
        }
    conns["slack_api_default"] = {
        "conn_type": "slack",
        "description": "Slack bot (embedded mode: the local Slack sink)",
        "password": DEMO_SLACK_TOKEN,
        "extra": json.dumps({"base_url": slack_sink_url(), "timeout": 10}),
    }
    return conns


def aeops_config() -> dict[str, Any]:
    """The embedded ``aeops_config``: two demo stores on the simulator, sample data from include/sample."""
    sample = project_dir() / "include" / "sample"
    home = airflow_home()
    stores = []
    for name, (conn_id, *_rest) in DEMO_SELLERS.items():
        stores.append(
            {
                "name": name,
                "conn_id": conn_id,
                "timezone": "Asia/Shanghai",
                "sync_time": "02:00",
                "exports": (sample / "exports" / name).as_uri(),
                "images_dir": str(sample / "images"),
                "certs": (sample / "certs").as_uri(),
                "logo": (sample / "logo").as_uri(),
                "reports": (home / "reports" / name).as_uri(),
            }
        )
    return {
        "database_url": os.environ.get("AEOPS_DATABASE_URL", f"sqlite:///{home / 'aeops.db'}"),
        "stores": stores,
    }


def pools() -> dict[str, dict[str, Any]]:
    return {
        API_POOL: {
            "slots": API_POOL_SLOTS,
            "description": "Concurrent AliExpress Open Platform calls (the per-seller QPS limit applies on top)",
            "include_deferred": False,
        }
    }


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "connections.json": connections(),
        "variables.json": {"aeops_config": json.dumps(aeops_config(), indent=2)},
        "pools.json": pools(),
    }
    written = []
    for name, content in files.items():
        path = directory / name
        path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "write":
        print("usage: python -m aeops.embedded write DIR", file=sys.stderr)
        return 2
    for path in write(Path(argv[1])):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
