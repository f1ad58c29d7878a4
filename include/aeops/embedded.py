"""The embedded mode's connections, ``aeops_config`` Variable and pools, with this checkout's paths.

``python -m aeops.embedded seed-simulator STATE`` seeds the simulator with the demo marketplace.
``python -m aeops.embedded write DIR`` writes ``connections.json``, ``variables.json`` and ``pools.json``
for ``airflow connections import``, ``airflow variables import`` and ``airflow pools import`` (the
Makefile's set-up does this). Nothing here is a real secret: the demo app and seller exist only in the
local simulator, and the Slack token only in the local Slack sink.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aeops import csvsafe
from aeops.config import parse_config
from aeops.demo import (
    ALL_DEMO_SELLERS,
    DEMO_APP_KEY,
    DEMO_APP_SECRET,
    DEMO_SELLERS,
    DEMO_SLACK_TOKEN,
    DEMO_SPARE_EXPORTS,
    DEMO_STORE_NUMS,
)
from aeops.exports import newest_export, read_export
from aeops.marketplace.simulator.state import SimState

DEMO_TEMPLATES = {"1001", "1002", "1003"}  # the demo sellers' freight templates (the simulator's)
API_POOL = "aliexpress_api"
API_POOL_SLOTS = 4
URGENT_POOL = "aliexpress_urgent"  # the urgent re-run's own slots, so it never queues behind the daily sync
URGENT_POOL_SLOTS = 4
PLANNING_POOL = "aeops_planning"  # the daily sync's plan tasks (CPU and memory): planning_pool_slots at once


def project_dir() -> Path:
    """The project's folder (``$AEOPS_PROJECT_DIR``, else the checkout this module lives in)."""
    return Path(os.environ.get("AEOPS_PROJECT_DIR") or Path(__file__).resolve().parents[2])


def airflow_home() -> Path:
    """``$AIRFLOW_HOME``, else ``.airflow`` in the project folder."""
    return Path(os.environ.get("AIRFLOW_HOME") or project_dir() / ".airflow")


def fernet_key(home: Path | None = None) -> str:
    """The embedded Fernet key for aeops' tokens (``AEOPS_FERNET_KEY``): the Airflow home's ``aeops-fernet.key``,
    made on first use (``scripts/embedded-env`` reads the same file)."""
    from cryptography.fernet import Fernet  # lazy: cryptography only when a secret is encrypted or read

    path = (home or airflow_home()) / "aeops-fernet.key"
    if not path.is_file() or not path.read_text(encoding="ascii").strip():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode() + "\n", encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


def simulator_url() -> str:
    """The local simulator's base URL (``$AEOPS_SIMULATOR_PORT``, default 8765)."""
    return f"http://127.0.0.1:{os.environ.get('AEOPS_SIMULATOR_PORT', '8765')}"


def slack_sink_url() -> str:
    """The local Slack stand-in's API URL (``$AEOPS_SLACK_SINK_PORT``, default 8766)."""
    return f"http://127.0.0.1:{os.environ.get('AEOPS_SLACK_SINK_PORT', '8766')}/api/"


def connections() -> dict[str, dict[str, Any]]:
    """The Airflow connections of embedded mode: one AliExpress connection per demo seller, Slack, the aeops DB."""
    conns: dict[str, dict[str, Any]] = {}
    for conn_id, seller_id, access, refresh in ALL_DEMO_SELLERS.values():  # the spare demo-3's too
        conns[conn_id] = {
            "conn_type": "aliexpress",
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
                "language": "zh-CN",
                "storefront_url": f"{simulator_url()}/store/en/item/{{product_id}}.html",
                "exports": (sample / "exports" / name).as_uri(),
                "export_settle_seconds": 0,  # the sample exports are whole files, never being written when read
                "images_dir": str(sample / "images"),
                "certs": (sample / "certs").as_uri(),
                "logo": (sample / "logo").as_uri(),
                "reports": (home / "reports" / name).as_uri(),
                # store settings as code (aliexpress_store_settings compares the simulator's store page)
                "store_num": DEMO_STORE_NUMS[name],
                "store_name": f"aeops {name} store",
                "store_logo": str(sample / "logo" / "store_logo_800.png"),
                "response_time_hours": 24,
                # the simulator is no live site: read its pages fast, so `make run` takes seconds (the page
                # budget stays the production one)
                "storefront_pages_per_second": 500,
                # what the platform does not document, declared (catalog/account.py): the demo sellers are
                # enterprise-verified, their standing "checked" the day this configuration was written
                "merchant_type": "enterprise",
                "standing_checked_on": datetime.now(UTC).date().isoformat(),
            }
        )
    return {
        "database_url": os.environ.get("AEOPS_DATABASE_URL", f"sqlite:///{home / 'aeops.db'}"),
        # the deployment's storefront rate, shared by every store (verify/politeness.py): as fast as each store's
        "storefront_pages_per_second": 500,
        "stores": stores,
    }


def pools() -> dict[str, dict[str, Any]]:
    """The Airflow pools of embedded mode (the API pool, the urgent pool and the planning pool) with their sizes."""
    cfg = parse_config(aeops_config())
    return {
        API_POOL: {
            "slots": max(API_POOL_SLOTS, cfg.pool_slots()),  # sized from the stores of aeops_config
            "description": "Concurrent AliExpress Open Platform calls (the per-seller QPS limit applies on top)",
            "include_deferred": False,
        },
        PLANNING_POOL: {
            "slots": cfg.planning_pool_slots,
            "description": "Daily sync plans running at once (CPU and memory; their calls are paced by the same "
            "per-seller and app limits)",
            "include_deferred": False,
        },
        URGENT_POOL: {
            "slots": URGENT_POOL_SLOTS,
            "description": "Marketplace calls of urgent re-runs (their own slots, ahead of the daily sync)",
            "include_deferred": False,
        },
    }


def write(directory: Path) -> list[Path]:
    """Write connections.json, variables.json and pools.json into ``directory``; returns the files written."""
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
    """``python -m aeops.embedded write DIR`` or ``seed-simulator DIR``; returns the exit code."""
    if len(argv) == 2 and argv[0] == "write":
        for path in write(Path(argv[1])):
            print(f"wrote {path}")
        return 0
    if len(argv) == 2 and argv[0] == "seed-simulator":
        for store, count in seed_simulator(Path(argv[1])).items():
            print(f"simulator: seeded {count} products for store {store}")
        return 0
    print("usage: python -m aeops.embedded write DIR | seed-simulator STATE_FILE", file=sys.stderr)
    return 2



def _seedable(row: dict[str, Any]) -> bool:
    """Rows the demo marketplace can hold (the export's broken rows exist only in the export)."""

    pid = str(row.get("product_id") or "")
    if not pid.isdigit() or not 0 < int(pid) < 2**63 or not str(row.get("sku_code") or "").strip():
        return False
    try:
        for key in ("price", "discount_price", "stock"):
            raw = row.get(key)
            value = "" if raw is None or raw != raw else str(raw).strip()  # NaN != NaN: an empty cell
            if value and not Decimal(value).is_finite():
                return False
    except InvalidOperation:
        return False
    return True


def demo_marketplace_rows(export_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Yesterday's marketplace for the demo: the export's catalog with a deterministic tenth of it different.

    Every 7th product has an older price, every 5th an older stock, every 13th an older title, so a sync of
    today's export has real (and minimal) work to do. Rows the marketplace cannot hold are left out, and a
    freight template the seller does not have becomes the default one (the platform holds no product on a
    template that does not exist).
    """

    rows = []
    product_index: dict[str, int] = {}
    for row in export_rows:
        if not _seedable(row):
            continue
        n = product_index.setdefault(str(row["product_id"]), len(product_index))
        row = dict(row)
        if n % 7 == 3 and row.get("price"):
            row["price"] = str((Decimal(str(row["price"])) * Decimal("1.10")).quantize(Decimal("0.01")))
        if n % 5 == 2 and str(row.get("stock") or "").isdigit():
            row["stock"] = str(int(row["stock"]) + 3)
        if n % 13 == 5 and row.get("title"):
            row["title"] = f"{row['title']} (old title)"
        if str(row.get("freight_template_id") or "").strip() not in DEMO_TEMPLATES:
            row["freight_template_id"] = "1001"
        rows.append(row)
    return rows


SPARE_ID_OFFSET = 1_000_000  # the spare seller's product ids: its model store's plus this (sellers never share one)


def spare_exports(name: str) -> Path:
    """The export folder of a spare demo seller (``demo-3``): its model store's sample export with its own product
    ids, written by :func:`seed_simulator` into the Airflow home."""
    return airflow_home() / "spare-exports" / name


def _cell(value: object) -> object:
    """A spare export's cell: empty for a missing value (None or NaN)."""
    return "" if value is None or value != value else value


def _spare_export(name: str, like: dict[str, Any]) -> list[dict[str, Any]]:
    """Write the spare seller's export (the model store's rows, product ids + SPARE_ID_OFFSET); returns its rows."""

    location = newest_export(like["exports"])
    if location is None:
        raise FileNotFoundError(f"no sample export for store {like['name']} in {like['exports']}")
    frame = read_export(location).frame
    rows = []
    for row in frame.to_dict("records"):
        pid = str(row.get("product_id") or "").strip()
        rows.append({**row, "product_id": str(int(float(pid)) + SPARE_ID_OFFSET) if pid.replace(".", "").isdigit()
                     else pid})
    folder = spare_exports(name)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / Path(str(location)).name, "w", newline="", encoding="utf-8") as fh:
        columns = [c for c in frame.columns if c != "row"]
        out = csvsafe.writer(fh)  # the one CSV writer (aeops.csvsafe): no cell a spreadsheet would run
        out.writerow(columns)
        out.writerows([_cell(r.get(c)) for c in columns] for r in rows)
    return rows


def seed_simulator(state_file: Path) -> dict[str, int]:
    """Seed the simulator's state file with each demo store's marketplace (see demo_marketplace_rows); the main
    images go into each seller's photobank as uploads do. A spare demo seller (``demo-3``, which
    ``aeops store add`` adds) sells its model store's catalog under its own product ids (:func:`spare_exports`)."""

    state = SimState(state_file)
    seeded = {}
    stores = aeops_config()["stores"]
    for store in stores:
        location = newest_export(store["exports"])
        if location is None:
            raise FileNotFoundError(f"no sample export for store {store['name']} in {store['exports']}")
        frame = read_export(location).frame
        rows = demo_marketplace_rows(frame.to_dict("records"))
        seller_id = DEMO_SELLERS[store["name"]][1]
        seeded[store["name"]] = state.seed_rows(rows, seller_id=seller_id, images_dir=store["images_dir"])
    by_name = {store["name"]: store for store in stores}
    for name, like in DEMO_SPARE_EXPORTS.items():
        rows = demo_marketplace_rows(_spare_export(name, by_name[like]))
        seeded[name] = state.seed_rows(rows, seller_id=ALL_DEMO_SELLERS[name][1],
                                       images_dir=by_name[like]["images_dir"])
    return seeded


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
