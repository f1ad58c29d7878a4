"""The ``aeops_config`` settings: one JSON document, validated, with documented defaults.

Where the settings come from, first match wins:

1. an explicit dict passed to :func:`load_config` (tests, the DAG tasks after reading the Variable);
2. the ``AEOPS_CONFIG`` environment variable: a JSON document, or the path of a JSON file;
3. the built-in defaults below (one store called ``demo`` on the embedded simulator).

The aeops DB (:meth:`AeopsConfig.resolved_database_url`), first match wins: ``AEOPS_DATABASE_URL`` (the
embedded mode and tests set it), the Airflow connection ``aeops_db`` (production: its password then lives only in
a connection, so it can come from a secrets backend), ``database_url`` (no password allowed: secrets live only
in connections), SQLite ``aeops.db`` in ``AIRFLOW_HOME``. Inside Airflow, :func:`load_airflow_config` reads the
``aeops_config`` Variable first.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from aeops.i18n import DEFAULT_LANGUAGE, LANGUAGES
from aeops.schedules import JOBS, crons_of, dag_id_suffix
from aeops.secrets import register_secret
from aeops.store.db import connection_url, url_has_password

VARIABLE_NAME = "aeops_config"
DB_CONN_ID = "aeops_db"
DB_ENV = "AEOPS_DATABASE_URL"
# Airflow connection types the aeops DB may be given as, and the SQLAlchemy driver each means
DB_DRIVERS = {"postgres": "postgresql+psycopg2", "postgresql": "postgresql+psycopg2", "sqlite": "sqlite"}
DB_QUERY_EXTRAS = ("sslmode", "sslcert", "sslkey", "sslrootcert", "connect_timeout", "application_name", "options")
DEFAULT_LANGUAGE_SITES = ("en", "ru", "es", "fr", "pt")


class ConfigError(ValueError):
    """The settings are not usable; the message says which field and why."""


class ExportGuardConfig(BaseModel):
    """The daily sync's export guard (``aeops.sync.export_guard``): thresholds past which a store's export is held
    for a person's approval before anything is pushed. Percentages are of the SKUs (or products) compared."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Hold an export that crosses a threshold (false: never hold)")
    changed_prices_percent: float = Field(
        20.0, ge=0, le=100, description="Hold when more than this share of the compared SKUs change price")
    price_move_percent: float = Field(
        50.0, gt=0, description="Hold when any SKU's price (or discount price) moves by more than this")
    zero_stock_percent: float = Field(
        20.0, ge=0, le=100, description="Hold when more than this share of the SKUs in stock drop to zero stock")
    dropped_products_percent: float = Field(
        10.0, ge=0, le=100, description="Hold when more than this share of the previous export's products are "
        "missing from this one")


class StoreConfig(BaseModel):
    """One AliExpress store (an agency may configure many)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Short unique store name used in the aeops DB, reports and Slack")
    conn_id: str = Field("aliexpress_default", description="Airflow connection with the app key/secret/tokens")
    timezone: str = Field("Asia/Shanghai", description="The seller's time zone (IANA name): its 'today' for dates")
    language: str = Field(
        DEFAULT_LANGUAGE, description="Language of Slack messages, reports and the UI pages: zh-CN (default) or en"
    )
    storefront_url: str = Field(
        "https://www.aliexpress.com/item/{product_id}.html",
        description="A product's storefront page ({product_id} is replaced); reports link every product to it",
    )
    platform_tz: str = Field(
        "Asia/Shanghai", description="Zone of the platform's gmt_* times (IANA name); Beijing time on AliExpress"
    )
    exports: str = Field("", description="ObjectStoragePath folder (or file) holding the ERP catalog exports")
    export_settle_seconds: float = Field(
        120.0, ge=0, description="An export is taken only once unchanged (size and modification time) this long: "
        "the ERP may still be writing a newer one"
    )
    export_markers: bool = Field(
        False, description="The ERP writes <name>.done beside each finished export: take an export only once its "
        "marker exists (instead of the settle time)"
    )
    export_max_age_hours: float = Field(
        24.0, gt=0, description="Alert when the store's newest export is older than this at run time (the ERP "
        "stopped exporting?; the guide: key fields synchronised within 24 hours)"
    )
    unsynced_alert_hours: float = Field(
        24.0, gt=0, description="Alert when a change has stayed unsynced (failed, unverified, blocked) longer than "
        "this (the guide: key fields synchronised within 24 hours of a change)"
    )
    export_guard: ExportGuardConfig = Field(
        default_factory=ExportGuardConfig, description="Thresholds past which an export waits for a person's "
        "approval before it is pushed (docs/design.md, the export guard)"
    )
    partial_is_success: bool = Field(
        False, description="A daily sync that ends partial (writes failed, unverified, still in review or not sent) "
        "leaves the store's finish task green; by default that task fails, after the report and the Slack summary "
        "are written, so a partial day is never mistaken for a good one"
    )
    images_dir: str = Field("", description="Folder that relative main_image paths are resolved against; a local "
                            "main_image outside it is refused")
    price_files: str = Field("", description="Folder an urgent run's price_file may be read from (besides the "
                             "exports folder); any other path is refused")
    certs: str = Field("", description="ObjectStoragePath folder holding certificate PDFs")
    logo: str = Field("", description="ObjectStoragePath folder where a new store logo is dropped")
    reports: str = Field("", description="ObjectStoragePath folder where HTML/CSV run reports are written")
    category_certs: dict[str, list[str]] = Field(
        default_factory=lambda: {"electronics": ["CE"], "toys": ["CPC"]},
        description="Categories that need a certificate type, e.g. electronics -> CE",
    )
    category_ids: dict[str, int] = Field(
        default_factory=dict, description="The platform's numeric category id of a category name (for "
        "aliexpress.category.qualifications.list); a category without one is sent by its name"
    )
    apparel_categories: list[str] = Field(
        default_factory=lambda: ["apparel"], description="Categories whose main image needs a pure white background"
    )
    language_sites: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGE_SITES))
    slack_alerts_channel: str = Field("#aeops-alerts", description="Channel for failures and warnings")
    slack_reports_channel: str = Field("#aeops-reports", description="Channel for run summaries")
    slack_finding_details: bool = Field(
        False, description="Also post every finding of a run as replies in its summary's thread (20 a message); "
        "by default the summary lists the top findings and links the report, which holds them all"
    )
    qps: float = Field(
        18.0, gt=0, description="Client-side calls per second per seller: ~90% of the platform limit (20), for jitter"
    )
    token_refresh_days: int = Field(3, ge=0, description="Refresh the access token when it expires within N days")
    # What the platform does not document about the seller account, declared by the operator (catalog/account.py).
    merchant_type: Literal["enterprise", "individual"] | None = Field(
        None, description="The seller account's verification as the seller center shows it: enterprise or "
        "individual (only enterprise-verified accounts may change compliance files; the API does not say)"
    )
    standing_checked_on: date | None = Field(
        None, description="The day a person checked the account's standing in the seller center (not frozen, no "
        "serious violation; the API does not say): aeops writes on this declaration unless the platform forbids "
        "posting"
    )
    # Store settings as code (aliexpress_store_settings): what the storefront must show; empty = not tracked.
    store_name: str = Field("", max_length=64, description="The store name the storefront must show")
    store_logo: str = Field("", description="The approved logo file (path or URL): PNG, at least 800x800, no text")
    store_banners: list[str] = Field(default_factory=list, description="The approved banner file(s), in page order")
    response_time_hours: float | None = Field(
        None, gt=0, le=72, description="Customer-service response-time target in hours: the storefront's shown "
        "response time must be at most this"
    )
    store_num: int | None = Field(
        None, gt=0, description="The store number in the storefront URL (/store/<number>); empty: from the connection"
    )
    storefront_pages_per_second: float = Field(
        1.0, gt=0, le=1000, description="Storefront item pages this store's verification reads a second per language "
        "site at most (the live site's anti-bot protection answers fast readers with captcha pages; the embedded "
        "simulator allows more); every page also takes a slot of the deployment's shared storefront_pages_per_second"
    )
    storefront_page_budget: int = Field(
        300, ge=0, description="Storefront item pages verification reads a run at most; every changed product is "
        "checked by the API's product query, pages go to a sample that grows with risk (0: no pages)"
    )

    schedules: dict[str, str | list[str]] = Field(
        default_factory=dict, description="When the store's DAGs run, in its time zone: cron by job "
        "(catalog_sync, certificate_expiry, store_settings, logo_rotation; a list for several times); a job not "
        "named runs at the deployment's default (AEOPS_SYNC_CRON ... , else 02:00 store time for the daily sync)"
    )

    @field_validator("schedules")
    @classmethod
    def _known_jobs_and_crons(cls, value: dict[str, Any]) -> dict[str, Any]:
        from croniter import croniter  # lazy: only a store with its own schedules needs it

        for job, crons in value.items():
            if job not in JOBS:
                raise ValueError(f"unknown job {job!r} in schedules; known: {', '.join(JOBS)}")
            for cron in crons_of(crons):
                if not croniter.is_valid(cron):
                    raise ValueError(f"schedules.{job}: {cron!r} is not a cron expression")
        return value

    @field_validator("store_name")
    @classmethod
    def _store_name(cls, value: str) -> str:
        value = " ".join(value.split())
        if value and any(ord(c) < 32 for c in value):
            raise ValueError("store_name must not hold control characters")
        return value

    @property
    def tracks_settings(self) -> bool:
        """True when any store setting is configured (the store-settings DAG compares only these)."""
        return bool(self.store_name or self.store_logo or self.store_banners or self.response_time_hours)

    @field_validator("merchant_type", mode="before")
    @classmethod
    def _merchant_type(cls, value: Any) -> Any:
        return value.strip().lower() or None if isinstance(value, str) else value

    @field_validator("standing_checked_on")
    @classmethod
    def _checked_in_the_past(cls, value: date | None) -> date | None:
        if value is not None and value > (datetime.now(UTC) + timedelta(days=1)).date():  # any zone's today
            raise ValueError(f"standing_checked_on {value.isoformat()} is in the future: give the day the account "
                             "was checked")
        return value

    @field_validator("language")
    @classmethod
    def _known_language(cls, value: str) -> str:
        text = value.strip().replace("_", "-").lower()
        for lang in LANGUAGES:
            if text == lang.lower() or (lang == "zh-CN" and text in ("zh", "zh-hans", "zh-hans-cn")):
                return lang
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {value!r}")

    @field_validator("storefront_url")
    @classmethod
    def _product_page(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or "{product_id}" not in value:
            raise ValueError(f"storefront_url must be an http(s) URL with {{product_id}}, not {value!r}")
        return value

    @field_validator("timezone", "platform_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class AeopsConfig(BaseModel):
    """All aeops settings that are not secrets (secrets live in Airflow connections)."""

    model_config = ConfigDict(extra="forbid")

    database_url: str = Field("", description="SQLAlchemy URL of the aeops DB; empty = SQLite in AIRFLOW_HOME")
    stores: list[StoreConfig] = Field(default_factory=lambda: [StoreConfig(name="demo")])
    sku_allowed_chars: str = Field(
        r"A-Za-z0-9_.:+()-",
        description="Character class (regex body) of characters allowed in SKU codes",
    )
    image_url_hosts: list[str] = Field(
        default_factory=list, description="Hosts main_image URLs may be fetched from; no other URL is fetched"
    )
    image_max_download_mb: float = Field(3.0, gt=0)
    rate_limit_backend: str = Field(
        "", description="Where the shared limits live: memory (one process), file:///dir (one host's processes), "
        "redis://host:port/db (every Celery worker); empty: $AEOPS_RATE_LIMIT, else memory"
    )
    storefront_pages_per_second: float = Field(
        1.0, gt=0, le=1000, description="Storefront item pages verification reads a second per language site over "
        "every store of the deployment together (one shared limiter in rate_limit_backend: all stores read "
        "aliexpress.com from the same hosts); a store's own storefront_pages_per_second may only lower its share"
    )
    app_qps: float | None = Field(
        None, gt=0, description="Calls per second of the app over every store (the platform's per-app limit, as "
        "the app's console shows it; empty: not limited here)"
    )
    app_api_qps: dict[str, float] = Field(
        default_factory=dict, description="Calls per second of the app per API over every store, e.g. "
        "{\"aliexpress.solution.batch.product.price.update\": 10}"
    )
    api_pool_slots_per_store: int = Field(
        2, ge=1, description="Slots of the aliexpress_api pool per configured store (aeops-demo-setup, make setup and "
        "aeops doctor size the pool from it: pool_slots())"
    )
    planning_pool_slots: int = Field(
        4, ge=1, description="Slots of the aeops_planning pool: how many stores' plans (the daily sync's CPU- and "
        "memory-heaviest task: ~3 CPU-s and ~450 MB at 10,000 products) run at once over the deployment; about "
        "twice the workers' cores (docs/production.md)"
    )
    app_daily_quota: int | None = Field(
        None, gt=0, description="The app's daily call quota over every store (resets 24:00 Beijing time); aeops "
        "stops calling once it is used up instead of being banned"
    )
    cert_warn_days: list[int] = Field(default_factory=lambda: [30, 14, 7, 1])
    cert_cpc_warn_days: list[int] = Field(
        default_factory=lambda: [60, 45], description="CPC (toys) certificates: warnings this many days ahead, "
        "before the re-upload deadline"
    )
    cert_cpc_deadline_days: int = Field(
        30, ge=0, description="CPC (toys) certificates must be re-uploaded at least this many days before expiry; "
        "from here on the alert is an error"
    )
    cert_replace_restore_minutes: float = Field(
        120.0, gt=0, description="How long aliexpress_certificate_replace waits for the products to be onSelling "
        "with the new qualification (the guide: within 2 hours of the upload)"
    )
    verify_deadline_minutes: float = Field(30.0, gt=0, description="How long verification waits for the storefront")
    verify_page_all_threshold: int = Field(
        200, ge=0, description="Up to this many changed products, every device x site page of each is checked"
    )
    verify_sample_size: int = Field(
        200, ge=0, description="Above the threshold: pages of a seeded random sample of this many (+ high-risk ones)"
    )
    verify_risky_cross_size: int = Field(
        1000, ge=0, description="High-risk products (price changes) that get every site + every device; beyond it "
        "a seeded sample of this many does, the rest one page each dealt over every (site, device) pair"
    )
    review_trigger_minutes: float = Field(
        120.0, gt=0, description="Alert when no review has started (the product never seen `auditing`) this long "
        "after its new main image was sent (the guide: a main-image change must trigger the review within 2 hours)"
    )
    review_deadline_minutes: float = Field(
        120.0, gt=0, description="Alert when a product is still in the marketplace's review this long after its new "
        "main image was sent (the guide: the review takes at most 2 hours)"
    )
    slack_fold_window_minutes: float = Field(60.0, ge=0)
    new_product_days: int = Field(
        7, ge=0, description="A product first seen on the marketplace within this many days is new: its main image "
        "gets the strict first-image checks and a 'set as new-product main image' task when it changes"
    )
    urgent_approval_skus: int = Field(
        100, ge=0, description="An urgent price override (not a dry run) changing more SKUs than this waits for "
        "approval"
    )
    urgent_approval_percent: float = Field(
        30.0, ge=0, description="An urgent price override moving any price by more than this percentage waits for "
        "approval"
    )

    @field_validator("database_url")
    @classmethod
    def _no_password(cls, value: str) -> str:
        if value and url_has_password(value):
            raise ValueError(f"must not hold a password: give the aeops DB as the Airflow connection {DB_CONN_ID!r} "
                             f"(or {DB_ENV}) instead")
        return value

    @field_validator("stores")
    @classmethod
    def _unique_names(cls, stores: list[StoreConfig]) -> list[StoreConfig]:
        names = [s.name for s in stores]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"store names must be unique; repeated: {', '.join(duplicates)}")
        suffixes = [dag_id_suffix(n) for n in names]
        clashes = sorted({n for n, x in zip(names, suffixes, strict=True) if suffixes.count(x) > 1})
        if clashes:
            raise ValueError(f"stores {', '.join(clashes)} would share a DAG id (<dag_id>__<store>: characters other "
                             "than letters, digits, '-', '.', '_' become '_'); rename one")
        if not stores:
            raise ValueError("at least one store is required")
        return stores

    def pool_slots(self) -> int:
        """The ``aliexpress_api`` pool's size for this deployment: ``api_pool_slots_per_store`` per store, at least 4
        (each store's run keeps its pushes and verification going while the others' do; the per-seller QPS and the
        app's shared limits pace the calls on top)."""
        return max(4, self.api_pool_slots_per_store * len(self.stores))

    def store(self, name: str) -> StoreConfig:
        """The store called ``name``; ConfigError listing the known names otherwise."""
        for store in self.stores:
            if store.name == name:
                return store
        raise ConfigError(f"unknown store {name!r}; configured: {', '.join(s.name for s in self.stores)}")

    def resolved_database_url(self) -> str:
        """``AEOPS_DATABASE_URL``, else the ``aeops_db`` connection, else ``database_url``, else SQLite ``aeops.db``
        in AIRFLOW_HOME (or cwd)."""
        url = os.environ.get(DB_ENV) or database_url_from_connection() or self.database_url
        if url:
            return url
        home = Path(os.environ.get("AIRFLOW_HOME", "."))
        return f"sqlite:///{home.resolve() / 'aeops.db'}"


def _in_task() -> bool:
    runner = sys.modules.get("airflow.sdk.execution_time.task_runner")
    return getattr(runner, "SUPERVISOR_COMMS", None) is not None


def _airflow_connection(conn_id: str):
    """The Airflow connection ``conn_id`` or None: the task SDK (inside tasks and the DAG processor: environment,
    secrets backends, the API server), else Airflow's own lookup (CLI: environment, secrets backends, metadata DB)."""
    try:
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(conn_id)
    except ImportError:
        return None
    except Exception:  # noqa: BLE001 - AirflowNotFoundException, or no way to ask from here
        if _in_task():
            return None
    try:
        from airflow.models.connection import Connection

        return Connection.get_connection_from_secrets(conn_id)
    except Exception:  # noqa: BLE001 - not defined anywhere
        return None


def url_of_connection(conn: Any) -> str:
    """The SQLAlchemy URL of an Airflow connection of type ``postgres`` or ``sqlite`` (its password registered with
    :mod:`aeops.secrets`). ``postgres``: host, port, login, password, schema = database, extras such as ``sslmode``
    become query parameters. ``sqlite``: host = the database file."""

    conn_type = str(conn.conn_type or "").lower()
    driver = DB_DRIVERS.get(conn_type)
    if driver is None:
        raise ConfigError(f"connection {conn.conn_id!r} has type {conn_type!r}; the aeops DB must be one of "
                          f"{', '.join(sorted(DB_DRIVERS))}")
    if driver == "sqlite":
        return f"sqlite:///{conn.host or conn.schema or ''}"
    register_secret(conn.password)
    extra = conn.extra_dejson or {}
    query = {k: str(extra[k]) for k in DB_QUERY_EXTRAS if extra.get(k) not in (None, "")}
    return connection_url(driver, username=conn.login or None, password=conn.password or None,
                          host=conn.host or None, port=int(conn.port) if conn.port else None,
                          database=conn.schema or None, query=query)


_connection_urls: dict[str, str | None] = {}


def database_url_from_connection(conn_id: str = DB_CONN_ID) -> str | None:
    """The aeops DB's URL from the Airflow connection ``aeops_db`` (None when it is not defined); looked up once per
    process."""
    if conn_id not in _connection_urls:
        conn = _airflow_connection(conn_id)
        _connection_urls[conn_id] = url_of_connection(conn) if conn is not None else None
    return _connection_urls[conn_id]


def forget_connection_urls() -> None:
    """Look the ``aeops_db`` connection up again on next use (tests, long-lived processes after a change)."""
    _connection_urls.clear()


def parse_config(raw: dict[str, Any] | str) -> AeopsConfig:
    """Validate a settings document (dict or JSON text); ConfigError with every problem on failure."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise ConfigError(f"aeops_config is not valid JSON: {exc}") from None
    try:
        return AeopsConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"aeops_config is invalid: {problems}") from None


def load_config(raw: dict[str, Any] | str | None = None) -> AeopsConfig:
    """Settings from ``raw``, else ``AEOPS_CONFIG`` (JSON or a file path), else the defaults."""
    if raw is not None:
        return parse_config(raw)
    env = os.environ.get("AEOPS_CONFIG", "").strip()
    if env:
        if env.startswith("{"):
            return parse_config(env)
        path = Path(env)
        if not path.is_file():
            raise ConfigError(f"AEOPS_CONFIG points at {env!r}, which is not a file")
        return parse_config(path.read_text(encoding="utf-8"))
    return AeopsConfig()


def load_airflow_config() -> AeopsConfig:
    """Inside an Airflow task: the ``aeops_config`` Variable, falling back to :func:`load_config`."""
    from airflow.sdk import Variable  # lazy: the CLI runs without Airflow

    raw = Variable.get(VARIABLE_NAME, default=None)
    return load_config(raw if raw not in (None, "") else None)
