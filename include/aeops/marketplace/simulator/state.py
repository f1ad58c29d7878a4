"""The simulator's state (a SQLite file shared by threads and processes) and its fault-injection settings.

Logical layout (``SimState.read()`` and ``GET /_sim/state`` return it, the latter plus computed views)::

    {"version": 1,
     "apps": {"<app_key>": {"secret": ..., "name": ...}},
     "sellers": {"<seller_id>": {"seller_id", "app_key", "shop_name", "product_posting_forbidden",
                                 "account_status", "merchant_type" (assumed: the rich profile answers them),
                                 "access_tokens": {"<token>": expiry_ms}, "refresh_tokens": {...},
                                 "auth_codes": {"<code>": expiry_ms},
                                 "freight_templates": [{"template_id", "template_name", "is_default"}],
                                 "expired_qualification_images": ["<photobank id>"]}},
     "products": {"<product_id>": {"product_id", "seller_id", "subject", "status", "freight_template_id",
                                   "category", "brand", "main_images", "gmt_create_ms", "gmt_modified_ms",
                                   "review": {"started_ms", "due_ms", "reason", "ended_ms"}, "audit_failure_reason",
                                   "qualifications": [{"key", "type", "value"}], "qualifications_on_file",
                                   "offline_reason", "offline_reason_detail", "qualification_restore": {"due_ms"},
                                   "skus": [{"sku_id", "sku_num_id", "property_value_id", "property_value_name",
                                             "sku_code", "price", "discount_price", "stock"}],
                                   "versions": [{"at_ms", "subject", "freight_template_id", "main_images", "skus"}]}},
     "photobank": [{"seller_id", "file_name", "name", "size", "at_ms"}]}

Prices are strings (exact decimals), ids are integers (exact; product ids below 2**63).

Storage: one SQLite database in WAL mode (the ``--state`` path, whatever its extension) with one row per
product (its JSON plus indexed ``seller_id, status, gmt_modified_ms`` for listing), small ``apps``,
``sellers``, ``photobank`` and ``meta`` tables, and ``photo_bytes`` (each photobank image's bytes by its id).
A batch write is one ``BEGIN IMMEDIATE`` transaction that reads and rewrites only its own products, so
100,000 products cost what 100 do; readers never block and
never see half a write; several processes on one host share the file. A JSON state file of the old
format found at the path is converted in place on first open.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from aeops.demo import DEMO_SELLERS
from aeops.marketplace.simulator import photobank, qualifications, reviewer
from aeops.marketplace.simulator.faults import DEVICES, SITES, Faults
from aeops.marketplace.simulator.products import default_state, now_ms, products_from_rows, view

REVIEW_STATUSES = ("auditing", "editingRequired")
"""A product in these statuses has an update the platform has not completed (counted by the completion rate)."""

_SQLITE_MAGIC = b"SQLite format 3\x00"
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS apps (app_key TEXT PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS sellers (seller_id INTEGER PRIMARY KEY, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS products (product_id INTEGER PRIMARY KEY, seller_id INTEGER NOT NULL,"
    " status TEXT NOT NULL, gmt_modified_ms INTEGER NOT NULL, n_versions INTEGER NOT NULL,"
    " last_write_ms INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS products_by_list ON products (seller_id, status, product_id, gmt_modified_ms)",
    "CREATE INDEX IF NOT EXISTS products_by_write ON products (seller_id, n_versions, last_write_ms)",
    "CREATE TABLE IF NOT EXISTS photobank (id INTEGER PRIMARY KEY AUTOINCREMENT, seller_id INTEGER NOT NULL,"
    " size INTEGER NOT NULL, data TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS photo_bytes (image_id TEXT PRIMARY KEY, seller_id INTEGER NOT NULL,"
    " name TEXT NOT NULL, content BLOB NOT NULL)",
)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # e.g. a weight parsed from a request with parse_float=Decimal
        return format(value, "f")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _product_row(product: Mapping[str, Any], text: str) -> tuple[Any, ...]:
    versions = product.get("versions") or []
    last_write = int(versions[-1]["at_ms"]) if versions else int(product.get("gmt_create_ms", 0))
    return (int(product["product_id"]), int(product["seller_id"]), str(product.get("status") or "onSelling"),
            int(product.get("gmt_modified_ms", 0)), len(versions), last_write, text)


_UPSERT_PRODUCT = ("INSERT OR REPLACE INTO products (product_id, seller_id, status, gmt_modified_ms, n_versions,"
                   " last_write_ms, data) VALUES (?, ?, ?, ?, ?, ?, ?)")


class Tx:
    """One write transaction (``SimState.write()``): products and sellers read through it are tracked and
    written back on commit if they changed; everything else is untouched."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._products: dict[int, tuple[str | None, dict[str, Any] | None]] = {}
        self._sellers: tuple[str, dict[str, dict[str, Any]]] | None = None

    def products(self, product_ids: Iterable[Any]) -> dict[int, dict[str, Any]]:
        """Load (and track) several products at once; missing ids are absent from the answer."""
        ids_in = [int(p) for p in product_ids]
        wanted = list(dict.fromkeys(p for p in ids_in if p not in self._products))
        for chunk in range(0, len(wanted), 500):
            ids = wanted[chunk:chunk + 500]
            found = dict(self.conn.execute(
                f"SELECT product_id, data FROM products WHERE product_id IN ({','.join('?' * len(ids))})", ids))
            for pid in ids:
                text = found.get(pid)
                self._products[pid] = (text, None if text is None else json.loads(text))
        out = {}
        for pid in ids_in:
            product = self._products[pid][1]
            if product is not None:
                out[pid] = product
        return out

    def product(self, product_id: Any) -> dict[str, Any] | None:
        """The product ``product_id`` (None for an id that is not a product)."""
        try:
            pid = int(product_id)
        except (TypeError, ValueError):
            return None
        if not 0 <= pid < 2**63:
            return None
        return self.products([pid]).get(pid)

    def put_product(self, product: dict[str, Any]) -> None:
        """Insert or replace a product (written on commit)."""
        pid = int(product["product_id"])
        old = self._products.get(pid)
        self._products[pid] = (old[0] if old else None, product)

    def sellers(self) -> dict[str, dict[str, Any]]:
        """Every seller by ``str(seller_id)`` (tracked; add, change or remove entries)."""
        if self._sellers is None:
            sellers = {str(sid): json.loads(text)
                       for sid, text in self.conn.execute("SELECT seller_id, data FROM sellers")}
            self._sellers = (_dumps(sellers), sellers)
        return self._sellers[1]

    def add_photo(self, entry: Mapping[str, Any], content: bytes | None = None) -> None:
        """A photobank entry (``name`` is the image's photobank name); ``content`` keeps its bytes to serve."""
        self.conn.execute("INSERT INTO photobank (seller_id, size, data) VALUES (?, ?, ?)",
                          (int(entry["seller_id"]), int(entry.get("size") or 0), _dumps(dict(entry))))
        if content is not None and entry.get("name"):
            self.conn.execute("INSERT OR IGNORE INTO photo_bytes (image_id, seller_id, name, content) VALUES "
                              "(?, ?, ?, ?)", (photobank.image_id(entry["name"]), int(entry["seller_id"]),
                                               entry["name"], content))

    def photo(self, name_or_url: str) -> tuple[int, str, bytes] | None:
        """(seller id, name, bytes) of a photobank image, by name or any URL form of it."""
        return _photo(self.conn, name_or_url)

    def photobank_used(self, seller_id: int) -> int:
        """The bytes a seller's photobank holds."""
        row = self.conn.execute("SELECT COALESCE(SUM(size), 0) FROM photobank WHERE seller_id = ?",
                                (int(seller_id),)).fetchone()
        return int(row[0])

    def delete_products(self, seller_id: int) -> None:
        """Delete every product of a seller."""
        self.conn.execute("DELETE FROM products WHERE seller_id = ?", (int(seller_id),))
        self._products = {pid: v for pid, v in self._products.items()
                          if v[1] is None or int(v[1]["seller_id"]) != int(seller_id)}

    def insert_products(self, products: Iterable[dict[str, Any]]) -> None:
        """Bulk insert-or-replace, untracked (for seeding)."""
        self.conn.executemany(_UPSERT_PRODUCT, (_product_row(p, _dumps(p)) for p in products))

    def _flush(self) -> None:
        rows = []
        for pid, (before, product) in self._products.items():
            if product is None:
                continue
            text = _dumps(product)
            if text != before:
                if int(product["product_id"]) != pid:
                    raise ValueError(f"product {pid}: product_id changed to {product['product_id']}")
                rows.append(_product_row(product, text))
        if rows:
            self.conn.executemany(_UPSERT_PRODUCT, rows)
        if self._sellers is not None and _dumps(self._sellers[1]) != self._sellers[0]:
            self.conn.execute("DELETE FROM sellers")
            self.conn.executemany("INSERT INTO sellers (seller_id, data) VALUES (?, ?)",
                                  [(int(k), _dumps(v)) for k, v in self._sellers[1].items()])


class SimState:
    """The simulator's state in a SQLite file (WAL), shared by threads and processes on one host.

    One row per product (its JSON, plus indexed columns for listing), small tables for apps, sellers and
    the photobank, and a ``meta`` table with ``version`` and a ``rev`` counter bumped by every write. A batch
    write reads and rewrites only its own products. :meth:`read` / :meth:`transaction` give the old
    whole-state dict for tests and tools (they load every product: fine for thousands, slow for 100k).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._conn_lock = threading.Lock()
        self._cache: tuple[int, dict[str, Any]] | None = None
        self._cache_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._prepare_file()
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        with self.write() as tx:
            for statement in _SCHEMA:
                tx.conn.execute(statement)
            if tx.conn.execute("SELECT 1 FROM meta WHERE key = 'version'").fetchone() is None:
                _insert_state(tx, default_state())

    # ------------------------------------------------------------------ files and connections
    def _prepare_file(self) -> None:
        """Convert a JSON state file (the old format) in place. (A ``-wal`` left next to a deleted state
        file is harmless: SQLite ignores it for an empty database and resets it when WAL mode starts.)"""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            head = fh.read(len(_SQLITE_MAGIC))
        if head in (b"", _SQLITE_MAGIC):
            return
        if not head.lstrip().startswith(b"{"):
            raise ValueError("not a simulator state file (neither SQLite nor JSON)")
        try:
            data = json.loads(self.path.read_bytes())
        except ValueError as exc:
            raise ValueError(f"unreadable JSON state: {exc}") from None
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.converting")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        conn = sqlite3.connect(tmp, isolation_level=None)
        try:
            conn.execute("BEGIN")
            tx = Tx(conn)
            for statement in _SCHEMA:
                conn.execute(statement)
            _insert_state(tx, data)
            conn.execute("COMMIT")
        finally:
            conn.close()
        os.replace(tmp, self.path)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=60000")
            self._local.conn = conn
            self._local.depth = 0
            with self._conn_lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        with self._conn_lock:
            for conn in self._connections:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def write(self) -> Iterator[Tx]:
        """One exclusive write transaction (``BEGIN IMMEDIATE``); rolled back if the block raises.

        A nested ``write()`` in the same thread joins the outer transaction.
        """
        conn = self._conn()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield self._local.tx
            finally:
                self._local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        tx = Tx(conn)
        self._local.tx, self._local.depth = tx, 1
        try:
            yield tx
            tx._flush()
            conn.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'rev'")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        finally:
            self._local.depth, self._local.tx = 0, None

    # ------------------------------------------------------------------ targeted reads (the simulator's)
    def rev(self) -> int:
        """The state's revision (counts writes)."""
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'rev'").fetchone()
        return int(row[0]) if row else 0

    def app(self, app_key: str) -> dict[str, Any] | None:
        """The app registered under ``app_key`` (None: unknown app)."""
        row = self._conn().execute("SELECT data FROM apps WHERE app_key = ?", (app_key,)).fetchone()
        return None if row is None else json.loads(row[0])

    def sellers(self) -> dict[str, dict[str, Any]]:
        """Every seller by id."""
        return {str(sid): json.loads(text) for sid, text in self._conn().execute("SELECT seller_id, data FROM sellers")}

    def photo(self, name_or_url: str) -> tuple[int, str, bytes] | None:
        """(seller id, name, bytes) of a photobank image, by name or any URL form of it."""
        return _photo(self._conn(), name_or_url)

    def settle_reviews(self, at_ms: int, *, seller_id: int | None = None, product_id: int | None = None) -> int:
        """End the reviews (and qualification restorations) that are due (of one seller or product, else all);
        returns how many ended.

        One indexed read of the products in review or off sale; a write transaction only when one is due."""
        where, args = "status IN ('auditing', 'offline')", []
        if seller_id is not None:
            where += " AND seller_id = ?"
            args.append(int(seller_id))
        if product_id is not None:
            where += " AND product_id = ?"
            args.append(int(product_id))
        due = [int(pid) for pid, text in self._conn().execute(f"SELECT product_id, data FROM products WHERE {where}",
                                                               args) if _settle_due(json.loads(text), at_ms)]
        if not due:
            return 0
        ended = 0
        with self.write() as tx:
            for product in tx.products(due).values():
                ended += reviewer.settle(product, at_ms) or qualifications.settle(product, at_ms)
        return ended

    def product(self, product_id: Any) -> dict[str, Any] | None:
        """One product (with its versions) or None."""
        try:
            pid = int(product_id)
        except (TypeError, ValueError):
            return None
        if not 0 <= pid < 2**63:
            return None
        row = self._conn().execute("SELECT data FROM products WHERE product_id = ?", (pid,)).fetchone()
        return None if row is None else json.loads(row[0])

    def list_products(self, seller_id: int, status: str, *, modified_from: int | None = None,
                      modified_to: int | None = None, product_id: int | None = None, offset: int = 0,
                      limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
        """(matching count, one page by product id) of a seller's products in ``status``."""
        where = "seller_id = ? AND status = ?"
        args: list[Any] = [int(seller_id), status]
        for clause, value in (("gmt_modified_ms >= ?", modified_from), ("gmt_modified_ms <= ?", modified_to),
                              ("product_id = ?", product_id)):
            if value is not None:
                where += f" AND {clause}"
                args.append(int(value))
        conn = self._conn()
        conn.execute("BEGIN")  # one snapshot for the count and the page
        try:
            total = conn.execute(f"SELECT COUNT(*) FROM products WHERE {where}", args).fetchone()[0]
            page = [json.loads(text) for (text,) in conn.execute(
                f"SELECT data FROM products WHERE {where} ORDER BY product_id LIMIT ? OFFSET ?",
                [*args, int(limit), max(0, int(offset))])]
        finally:
            conn.execute("COMMIT")
        return total, page

    def incomplete_products(self, seller_id: int, faults: Faults, at_ms: int) -> tuple[int, list[int]]:
        """(the seller's product count, ids of products with an update the platform has not completed: in
        review or refused by it (``auditing``, ``editingRequired``), or a latest write some storefront view lacks).

        Only written products (more than the seeded version) can lag; of those, only ones written within
        ``propagation_s`` unless a device never updates or some sites are stale. Those few are checked
        with :func:`view`.
        """
        conn = self._conn()
        total = conn.execute("SELECT COUNT(*) FROM products WHERE seller_id = ?", (int(seller_id),)).fetchone()[0]
        marks = ",".join("?" * len(REVIEW_STATUSES))
        reviewing = {int(pid) for (pid,) in conn.execute(
            f"SELECT product_id FROM products WHERE seller_id = ? AND status IN ({marks})",
            (int(seller_id), *REVIEW_STATUSES))}
        sql = "SELECT data FROM products WHERE seller_id = ? AND n_versions > 1"
        args: list[Any] = [int(seller_id)]
        if not faults.never_device and faults.stale_site <= 0:
            sql += " AND last_write_ms > ?"
            args.append(at_ms - int(faults.propagation_s * 1000))
        incomplete = []
        for (text,) in conn.execute(sql, args):
            p = json.loads(text)
            if any(view(p, site, device, faults, at_ms)["gmt_modified_ms"] != p["gmt_modified_ms"]
                   for site in SITES for device in DEVICES):
                incomplete.append(int(p["product_id"]))
        return total, sorted(set(incomplete) | reviewing)

    # ------------------------------------------------------------------ the whole state (tests, tools)
    def _materialize(self) -> tuple[int, dict[str, Any]]:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            meta = dict(conn.execute("SELECT key, value FROM meta"))
            data = {"version": int(meta.get("version", 1)),
                    "apps": {k: json.loads(v) for k, v in conn.execute("SELECT app_key, data FROM apps")},
                    "sellers": {str(k): json.loads(v) for k, v in conn.execute("SELECT seller_id, data FROM sellers")},
                    "products": {str(k): json.loads(v) for k, v in
                                 conn.execute("SELECT product_id, data FROM products ORDER BY product_id")},
                    "photobank": [json.loads(v) for (v,) in conn.execute("SELECT data FROM photobank ORDER BY id")]}
        finally:
            conn.execute("COMMIT")
        return int(meta.get("rev", 0)), data

    def read(self) -> dict[str, Any]:
        """The whole state as one dict (do not mutate; use :meth:`transaction` or :meth:`write`).

        Cached per process until the next write by anyone; loads every product, so prefer the targeted
        reads (:meth:`product`, :meth:`list_products`) on large catalogs.
        """
        with self._cache_lock:
            if self._cache is None or self._cache[0] != self.rev():
                self._cache = self._materialize()
            return self._cache[1]

    @contextlib.contextmanager
    def transaction(self) -> Iterator[dict[str, Any]]:
        """Exclusive read-modify-write of the whole state dict, across threads and processes (loads every
        product; changed, added and removed entries are written back)."""
        with self.write() as tx:
            _rev, data = self._materialize_in(tx)
            originals = {k: _dumps(v) for k, v in data["products"].items()}
            apps, photos = _dumps(data["apps"]), _dumps(data["photobank"])
            sellers = tx.sellers()
            data["sellers"] = sellers
            yield data
            for key in originals.keys() - data["products"].keys():
                tx.conn.execute("DELETE FROM products WHERE product_id = ?", (int(key),))
            changed = [p for k, p in data["products"].items() if originals.get(k) != _dumps(p)]
            tx.insert_products(changed)
            if data["sellers"] is not sellers:
                sellers.clear()
                sellers.update(data["sellers"])
            if _dumps(data["apps"]) != apps:
                tx.conn.execute("DELETE FROM apps")
                tx.conn.executemany("INSERT INTO apps (app_key, data) VALUES (?, ?)",
                                    [(k, _dumps(v)) for k, v in data["apps"].items()])
            if _dumps(data["photobank"]) != photos:
                tx.conn.execute("DELETE FROM photobank")
                for entry in data["photobank"]:
                    tx.add_photo(entry)

    def _materialize_in(self, tx: Tx) -> tuple[int, dict[str, Any]]:
        conn = tx.conn
        meta = dict(conn.execute("SELECT key, value FROM meta"))
        return int(meta.get("rev", 0)), {
            "version": int(meta.get("version", 1)),
            "apps": {k: json.loads(v) for k, v in conn.execute("SELECT app_key, data FROM apps")},
            "sellers": {},
            "products": {str(k): json.loads(v) for k, v in
                         conn.execute("SELECT product_id, data FROM products ORDER BY product_id")},
            "photobank": [json.loads(v) for (v,) in conn.execute("SELECT data FROM photobank ORDER BY id")]}

    # ------------------------------------------------------------------ seeding and admin
    def seed_rows(self, rows: Iterable[Mapping[str, Any]], *, seller_id: int | None = None,
                  replace: bool = True, images_dir: str | os.PathLike[str] | None = None,
                  in_review: bool = False, review_s: float = 0.0) -> int:
        """Load products from canonical export rows (dicts); returns the number of products loaded.

        Each ``main_image`` file (relative names resolve against ``images_dir``) goes into the seller's photobank
        the way an upload does, and the product holds its photobank name; http(s) URLs stay as they are; a
        file that cannot be read leaves the product without a main image. ``in_review`` seeds new products:
        ``auditing`` for ``review_s``, then judged by the reviewer like an edited main image.
        """
        seller = seller_id or next(iter(DEMO_SELLERS.values()))[1]
        at = now_ms()
        products = products_from_rows(rows, seller, at)
        with self.write() as tx:
            if replace:
                tx.delete_products(seller)
            names = _seed_images(tx, products.values(), images_dir, at)
            for product in products.values():
                product["main_images"] = [names[i] for i in product["main_images"] if names.get(i)]
                for version in product["versions"]:
                    version["main_images"] = list(product["main_images"])
                if in_review:
                    image = tx.photo(product["main_images"][0]) if product["main_images"] else None
                    reviewer.start(product, at, review_s, reviewer.refusal(image[2] if image else None,
                                                                       product.get("category")))
            tx.insert_products(products.values())
        return len(products)

    def seed_frame(self, frame: Any, **kw: Any) -> int:
        """Load products from a pandas DataFrame with the canonical export columns."""
        return self.seed_rows(frame.to_dict(orient="records"), **kw)

    def set_seller(self, seller_id: int, **changes: Any) -> None:
        """Change a seller (e.g. ``product_posting_forbidden=True``, ``access_tokens={...}``)."""
        with self.write() as tx:
            tx.sellers()[str(seller_id)].update(changes)

    def cap_tokens(self, at_ms: int, access_ms: int, refresh_ms: int) -> None:
        """Every token lives at most ``access_ms`` (access) or ``refresh_ms`` (refresh) from ``at_ms``: a profile's
        lifetimes applied to the tokens a state already holds (never lengthens one)."""
        with self.write() as tx:
            for seller in tx.sellers().values():
                for key, life in (("access_tokens", access_ms), ("refresh_tokens", refresh_ms)):
                    tokens = seller.get(key) or {}
                    seller[key] = {token: min(int(expiry), at_ms + life) for token, expiry in tokens.items()}

    def snapshot_with_views(self, faults: Faults, at_ms: int | None = None, views: bool = True) -> dict[str, Any]:
        """The whole state plus, per product, what every (site, device) view shows right now."""
        at = now_ms() if at_ms is None else at_ms
        _rev, data = self._materialize()
        for product in data["products"].values():
            if views:
                product["views"] = {f"{site}/{device}": dict(view(product, site, device, faults, at))
                                    for site in SITES for device in DEVICES}
            product.pop("versions", None)
        data["as_of_ms"] = at
        return data


def _settle_due(product: dict[str, Any], at_ms: int) -> bool:
    return reviewer.due(product, at_ms) or qualifications.restore_due(product, at_ms)


def _photo(conn: sqlite3.Connection, name_or_url: str) -> tuple[int, str, bytes] | None:
    image = photobank.image_id(name_or_url)
    if image is None:
        return None
    row = conn.execute("SELECT seller_id, name, content FROM photo_bytes WHERE image_id = ?", (image,)).fetchone()
    return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))


def _seed_images(tx: Tx, products: Iterable[Mapping[str, Any]], images_dir: str | os.PathLike[str] | None,
                 at_ms: int) -> dict[str, str | None]:
    """Each distinct ``main_image`` cell -> its photobank name (files) or itself (URLs); None if unreadable."""
    names: dict[str, str | None] = {}
    for product in products:
        seller = int(product["seller_id"])
        for cell in product.get("main_images") or []:
            if cell in names:
                continue
            if cell.startswith(("http://", "https://")):
                names[cell] = cell
                continue
            path = Path(cell.removeprefix("file://")).expanduser()
            if not path.is_absolute():
                path = Path(images_dir or ".") / path
            try:
                content = path.read_bytes() if path.stat().st_size <= 3 * 1024 * 1024 else None
            except OSError:
                content = None
            if content is None:
                names[cell] = None
                continue
            name = photobank.seeded_name(seller, content, path.name)
            if tx.photo(name) is None:
                tx.add_photo({"seller_id": seller, "file_name": path.name, "name": name, "size": len(content),
                              "at_ms": at_ms, "seeded": True}, content)
            names[cell] = name
    return names


def _insert_state(tx: Tx, data: Mapping[str, Any]) -> None:
    """Write a whole state dict (a new file, or a converted JSON state) into empty tables."""
    conn = tx.conn
    conn.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                     [("version", str(data.get("version", 1))), ("rev", "0")])
    conn.executemany("INSERT OR REPLACE INTO apps (app_key, data) VALUES (?, ?)",
                     [(k, _dumps(v)) for k, v in (data.get("apps") or {}).items()])
    conn.executemany("INSERT OR REPLACE INTO sellers (seller_id, data) VALUES (?, ?)",
                     [(int(k), _dumps(v)) for k, v in (data.get("sellers") or {}).items()])
    tx.insert_products((data.get("products") or {}).values())
    for entry in data.get("photobank") or []:
        tx.add_photo(entry)
