"""The ``aeops_config`` settings: one JSON document, validated, with documented defaults.

Where the settings come from, first match wins:

1. an explicit dict passed to :func:`load_config` (tests, the DAG tasks after reading the Variable);
2. the ``AEOPS_CONFIG`` environment variable: a JSON document, or the path of a JSON file;
3. the built-in defaults below (one store called ``demo`` on the embedded simulator).

``AEOPS_DATABASE_URL`` always overrides ``database_url`` so a deployment can point every process at
its database without editing the Variable. Inside Airflow, :func:`load_airflow_config` reads the
``aeops_config`` Variable first.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

VARIABLE_NAME = "aeops_config"
DEFAULT_LANGUAGE_SITES = ("en", "ru", "es", "fr", "pt")


class ConfigError(ValueError):
    """The settings are not usable; the message says which field and why."""


class StoreConfig(BaseModel):
    """One AliExpress store (an agency may configure many)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Short unique store name used in the aeops DB, reports and Slack")
    conn_id: str = Field("aliexpress_default", description="Airflow connection with the app key/secret/tokens")
    timezone: str = Field("Asia/Shanghai", description="The seller's time zone (IANA name): its 'today' for dates")
    platform_tz: str = Field(
        "Asia/Shanghai", description="Zone of the platform's gmt_* times (IANA name); Beijing time on AliExpress"
    )
    exports: str = Field("", description="ObjectStoragePath folder (or file) holding the ERP catalog exports")
    images_dir: str = Field("", description="Folder that relative main_image paths are resolved against")
    certs: str = Field("", description="ObjectStoragePath folder holding certificate PDFs")
    logo: str = Field("", description="ObjectStoragePath folder where a new store logo is dropped")
    reports: str = Field("", description="ObjectStoragePath folder where HTML/CSV run reports are written")
    category_certs: dict[str, list[str]] = Field(
        default_factory=lambda: {"electronics": ["CE"], "toys": ["CPC"]},
        description="Categories that need a certificate type, e.g. electronics -> CE",
    )
    apparel_categories: list[str] = Field(
        default_factory=lambda: ["apparel"], description="Categories whose main image needs a pure white background"
    )
    language_sites: list[str] = Field(default_factory=lambda: list(DEFAULT_LANGUAGE_SITES))
    slack_alerts_channel: str = Field("#aeops-alerts", description="Channel for failures and warnings")
    slack_reports_channel: str = Field("#aeops-reports", description="Channel for run summaries")
    qps: float = Field(
        18.0, gt=0, description="Client-side calls per second per seller: ~90% of the platform limit (20), for jitter"
    )
    token_refresh_days: int = Field(3, ge=0, description="Refresh the access token when it expires within N days")

    @field_validator("timezone", "platform_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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
    cert_warn_days: list[int] = Field(default_factory=lambda: [30, 14, 7, 1])
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
    review_deadline_minutes: float = Field(
        120.0, gt=0, description="Alert when a product is still in the marketplace's review this long after its new "
        "main image was sent (the guide: the review takes at most 2 hours)"
    )
    slack_fold_window_minutes: float = Field(60.0, ge=0)

    @field_validator("stores")
    @classmethod
    def _unique_names(cls, stores: list[StoreConfig]) -> list[StoreConfig]:
        names = [s.name for s in stores]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"store names must be unique; repeated: {', '.join(duplicates)}")
        if not stores:
            raise ValueError("at least one store is required")
        return stores

    def store(self, name: str) -> StoreConfig:
        """The store called ``name``; ConfigError listing the known names otherwise."""
        for store in self.stores:
            if store.name == name:
                return store
        raise ConfigError(f"unknown store {name!r}; configured: {', '.join(s.name for s in self.stores)}")

    def resolved_database_url(self) -> str:
        """``AEOPS_DATABASE_URL``, else ``database_url``, else SQLite ``aeops.db`` in AIRFLOW_HOME (or cwd)."""
        url = os.environ.get("AEOPS_DATABASE_URL") or self.database_url
        if url:
            return url
        home = Path(os.environ.get("AIRFLOW_HOME", "."))
        return f"sqlite:///{home.resolve() / 'aeops.db'}"


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
    from airflow.sdk import Variable

    raw = Variable.get(VARIABLE_NAME, default=None)
    return load_config(raw if raw not in (None, "") else None)
