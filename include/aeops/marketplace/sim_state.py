"""The simulator's state (a JSON file shared by processes) and its fault-injection settings.

State layout (``GET /_sim/state`` returns it, plus computed views)::

    {"version": 1,
     "apps": {"<app_key>": {"secret": ..., "name": ...}},
     "sellers": {"<seller_id>": {"seller_id", "app_key", "shop_name", "account_status",
                                 "access_tokens": {"<token>": expiry_ms}, "refresh_tokens": {...},
                                 "freight_templates": [{"template_id", "template_name", "is_default"}]}},
     "products": {"<product_id>": {"product_id", "seller_id", "subject", "status", "freight_template_id",
                                   "category", "brand", "main_image_urls", "gmt_create_ms", "gmt_modified_ms",
                                   "skus": [{"sku_id", "sku_code", "price", "discount_price", "stock"}],
                                   "versions": [{"at_ms", "subject", "freight_template_id", "skus"}]}},
     "photobank": [{"seller_id", "file_name", "url", "size", "at_ms"}]}

Prices are strings (exact decimals), ids are JSON integers (exact in Python). Every write takes an
exclusive ``fcntl`` lock on ``<state>.lock``, re-reads the file if another process changed it, and replaces
the file atomically (temp file + ``os.replace``), so readers never see half a file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import random
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from aeops.embedded import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS

DEVICES = ("desktop", "mobile", "anonymous")
SITES = ("en", "ru", "es", "fr", "pt")
FREIGHT_TEMPLATES = [
    {"template_id": 1001, "template_name": "Standard Shipping", "is_default": True},
    {"template_id": 1002, "template_name": "Free Shipping", "is_default": False},
    {"template_id": 1003, "template_name": "Express (DHL)", "is_default": False},
]
DAY_MS = 86_400_000
KEEP_VERSIONS = 8


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Faults:
    """``--faults`` settings. Probabilities are per call (``item_fail`` per product); all draws come from one
    ``random.Random(seed)`` per process, and ``stale_site`` is a pure function of (seed, product, site)."""

    throttle: float = 0.0  # answer ApiCallLimit ("ban will last 1 seconds")
    item_fail: float = 0.0  # a product lands in update_failed_list with a retryable system code
    server_error: float = 0.0  # answer a SYSTEM error_response (nothing applied)
    lost_response: float = 0.0  # apply the call, then drop the connection without an answer
    stale_site: float = 0.0  # share of (product, language site) pairs that keep showing the seeded values
    propagation_s: float = 0.0  # delay between a write and its visibility on storefront views
    latency_ms: float = 0.0  # added to every API answer
    qps: float = 0.0  # per-seller calls per second; more are answered with ApiCallLimit (0 = no limit)
    never_device: str = ""  # a device (desktop/mobile/anonymous) that never shows updates
    daily_quota: int = 0  # calls per app per process before AppCallLimit (daily) (0 = no limit)
    seed: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> Faults:
        """``"throttle=0.1,item_fail=0.05,propagation_s=2,never_device=mobile,seed=7"`` -> Faults.

        Raises ValueError with a one-line reason on unknown keys or bad values.
        """
        faults = cls()
        if not spec:
            return faults
        types = {f.name: f.type for f in fields(cls)}
        for part in spec.split(","):
            part = part.strip()
            if not part:
                continue
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in types:
                raise ValueError(f"bad fault {part!r}; known: {', '.join(types)}")
            value = value.strip()
            try:
                if key == "never_device":
                    if value not in DEVICES:
                        raise ValueError
                    setattr(faults, key, value)
                elif key in {"seed", "daily_quota"}:
                    setattr(faults, key, int(value))
                else:
                    number = float(value)
                    if number < 0 or (key in {"throttle", "item_fail", "server_error", "lost_response",
                                               "stale_site"} and number > 1):
                        raise ValueError
                    setattr(faults, key, number)
            except ValueError:
                raise ValueError(f"bad value for fault {key}: {value!r}") from None
        return faults

    def rng(self) -> random.Random:
        return random.Random(self.seed)

    def is_stale(self, product_id: int, site: str) -> bool:
        if self.stale_site <= 0:
            return False
        digest = hashlib.sha256(f"{self.seed}:{product_id}:{site}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64 < self.stale_site


def default_state(at_ms: int | None = None) -> dict[str, Any]:
    """The demo app and sellers of :mod:`aeops.embedded` with an empty catalog (tokens valid for a year)."""
    at = now_ms() if at_ms is None else at_ms
    sellers = {}
    for name, (_conn_id, seller_id, access, refresh) in DEMO_SELLERS.items():
        sellers[str(seller_id)] = {
            "seller_id": seller_id, "app_key": DEMO_APP_KEY, "shop_name": f"{name} store",
            "account_status": "normal",
            "access_tokens": {access: at + 365 * DAY_MS}, "refresh_tokens": {refresh: at + 730 * DAY_MS},
            "freight_templates": [dict(t) for t in FREIGHT_TEMPLATES],
        }
    return {"version": 1, "apps": {DEMO_APP_KEY: {"secret": DEMO_APP_SECRET, "name": "aeops demo app"}},
            "sellers": sellers, "products": {}, "photobank": []}


def _money(value: Any, field_name: str, row: int) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or str(value).strip() == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"row {row}: {field_name} {value!r} is not a number") from None
    return format(number, "f")


def _text(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def products_from_rows(rows: Iterable[Mapping[str, Any]], seller_id: int, at_ms: int) -> dict[str, dict[str, Any]]:
    """Catalog products from canonical export rows (one row per SKU; product fields repeat per row)."""
    products: dict[str, dict[str, Any]] = {}
    for n, row in enumerate(rows, start=1):
        pid_text = _text(row.get("product_id"))
        if pid_text is None:
            continue
        try:
            pid = int(Decimal(pid_text)) if "." in pid_text or "e" in pid_text.lower() else int(pid_text)
        except (ValueError, InvalidOperation):
            raise ValueError(f"row {n}: product_id {pid_text!r} is not an integer") from None
        seller = int(_text(row.get("seller_id")) or seller_id)
        product = products.setdefault(str(pid), {
            "product_id": pid, "seller_id": seller, "subject": _text(row.get("title")) or f"Product {pid}",
            "status": _text(row.get("status")) or "onSelling",
            "freight_template_id": int(float(_text(row.get("freight_template_id")) or 1001)),
            "category": _text(row.get("category")), "brand": _text(row.get("brand")),
            "main_image_urls": [u for u in [_text(row.get("main_image"))] if u],
            "gmt_create_ms": at_ms, "gmt_modified_ms": at_ms, "skus": [], "versions": [],
        })
        stock_text = _text(row.get("stock"))
        product["skus"].append({
            "sku_id": f"14:{200 + len(product['skus'])}",
            "sku_code": _text(row.get("sku_code")),
            "price": _money(row.get("price"), "price", n) or "0.01",
            "discount_price": _money(row.get("discount_price"), "discount_price", n),
            "stock": int(float(stock_text)) if stock_text else 0,
        })
    for product in products.values():
        product["versions"] = [snapshot(product, at_ms)]
    return products


def snapshot(product: Mapping[str, Any], at_ms: int) -> dict[str, Any]:
    """What storefront views show for ``product`` once a write at ``at_ms`` has propagated."""
    return {"at_ms": at_ms, "gmt_modified_ms": product["gmt_modified_ms"], "subject": product["subject"],
            "freight_template_id": product["freight_template_id"],
            "main_image_urls": list(product.get("main_image_urls") or []),
            "skus": [{k: s[k] for k in ("sku_code", "price", "discount_price", "stock")} for s in product["skus"]]}


def record_write(product: dict[str, Any], at_ms: int) -> None:
    """Stamp a write: new last-modified time and a new version (the first, seeded one is always kept)."""
    product["gmt_modified_ms"] = max(at_ms, int(product.get("gmt_modified_ms", 0)) + 1)
    versions = product.setdefault("versions", [])
    versions.append(snapshot(product, at_ms))
    if len(versions) > KEEP_VERSIONS:
        del versions[1:len(versions) - KEEP_VERSIONS + 1]


def view(product: Mapping[str, Any], site: str, device: str, faults: Faults, at_ms: int) -> dict[str, Any]:
    """The version a storefront (language ``site``, ``device``) shows at ``at_ms``."""
    versions = product.get("versions") or [snapshot(product, product.get("gmt_create_ms", 0))]
    if device == faults.never_device or faults.is_stale(int(product["product_id"]), site):
        return versions[0]
    delay = int(faults.propagation_s * 1000)
    shown = versions[0]
    for version in versions:
        if version["at_ms"] + delay <= at_ms:
            shown = version
    return shown


class SimState:
    """The state file plus a per-process cache. Thread- and process-safe for the simulator's use."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._cache: dict[str, Any] | None = None
        self._stamp: tuple[int, int, int] | None = None
        self._thread_lock = threading.RLock()
        if not self.path.exists():
            with self.transaction():
                pass

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _load(self) -> dict[str, Any]:
        stamp = self._file_stamp()
        if stamp is None:
            self._cache, self._stamp = default_state(), None
        elif stamp != self._stamp or self._cache is None:
            self._cache = json.loads(self.path.read_bytes())
            self._stamp = stamp
        return self._cache

    def read(self) -> dict[str, Any]:
        """The current state (do not mutate; use :meth:`transaction`)."""
        with self._thread_lock:
            return self._load()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Exclusive read-modify-write of the state, across threads and processes."""
        with self._thread_lock:
            self.lock_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.lock_path, "a+") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                data = self._load()
                yield data
                fd, tmp = tempfile.mkstemp(prefix=self.path.name, dir=self.path.parent)
                try:
                    with os.fdopen(fd, "wb") as out:
                        out.write(json.dumps(data, separators=(",", ":")).encode())
                    os.replace(tmp, self.path)
                except BaseException:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp)
                    raise
                self._stamp = self._file_stamp()

    # ------------------------------------------------------------------ seeding and admin
    def seed_rows(self, rows: Iterable[Mapping[str, Any]], *, seller_id: int | None = None,
                  replace: bool = True) -> int:
        """Load products from canonical export rows (dicts); returns the number of products loaded."""
        seller = seller_id or next(iter(DEMO_SELLERS.values()))[1]
        products = products_from_rows(rows, seller, now_ms())
        with self.transaction() as data:
            if replace:
                data["products"] = {k: v for k, v in data["products"].items()
                                    if int(v["seller_id"]) != seller}
            data["products"].update(products)
        return len(products)

    def seed_frame(self, frame: Any, **kw: Any) -> int:
        """Load products from a pandas DataFrame with the canonical export columns."""
        return self.seed_rows(frame.to_dict(orient="records"), **kw)

    def seed_from_export(self, location: str, **kw: Any) -> int:
        """Load products from a catalog export (``aeops.exports.read_export``, else a plain CSV read)."""
        try:
            from aeops.exports import read_export
        except ImportError:
            read_export = None
        if read_export is not None:
            export = read_export(location)
            if not export.readable:
                raise ValueError("; ".join(f"{f.code}: {f.message}" for f in export.findings) or "unreadable")
            return self.seed_frame(export.frame, **kw)
        import pandas as pd

        return self.seed_frame(pd.read_csv(location, dtype=str, keep_default_na=False), **kw)

    def set_seller(self, seller_id: int, **changes: Any) -> None:
        """Change a seller (e.g. ``account_status="frozen"``, ``access_tokens={...}``)."""
        with self.transaction() as data:
            data["sellers"][str(seller_id)].update(changes)

    def snapshot_with_views(self, faults: Faults, at_ms: int | None = None, views: bool = True) -> dict[str, Any]:
        """The whole state plus, per product, what every (site, device) view shows right now."""
        at = now_ms() if at_ms is None else at_ms
        data = json.loads(json.dumps(self.read()))
        for product in data["products"].values():
            product.pop("versions", None)
        if views:
            raw = self.read()["products"]
            for key, product in data["products"].items():
                product["views"] = {
                    f"{site}/{device}": {k: v for k, v in view(raw[key], site, device, faults, at).items()}
                    for site in SITES for device in DEVICES
                }
        data["as_of_ms"] = at
        return data
