"""Which DAGs run for which store, and when: the per-store DAG ids and each store's schedules.

Every store is its own Airflow DAG per daily job (``aliexpress_catalog_sync__<store>``,
``aliexpress_certificate_expiry__<store>``, ``aliexpress_store_settings__<store>``,
``aliexpress_logo_rotation__<store>``): its own schedule in its own time zone, run history, pause switch and
outcome (docs/design.md, "DAG ids"). The all-store DAG of each job (the id without a suffix) stays for manual
runs over several stores.

A store's schedule is its ``schedules`` entry in ``aeops_config`` (cron in the store's ``timezone``); without one
the deployment's default: the ``AEOPS_*_CRON`` environment variable, else the built-in default (the daily sync at
02:00 store time).

Read when the DAG files are parsed, so this module stays light: the ``aeops_config`` text comes from Airflow's
cached Variable read (``airflow.sdk.Variable``; ``AEOPS_CONFIG`` or the built-in single ``demo`` store when the
Variable is not set) and is read as plain JSON: no pydantic, no aeops DB. A document too broken to read gives
no per-store DAG (a warning in the DAG processor's log; ``aeops doctor`` names the problem).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aeops.secrets import get_logger

log = get_logger(__name__)

VARIABLE_NAME = "aeops_config"
DEFAULT_TIMEZONE = "Asia/Shanghai"
DEFAULT_STORE = "demo"
SEPARATOR = "__"  # <job dag_id>__<store>


@dataclass(frozen=True)
class Job:
    """A daily job that runs per store: its all-store DAG id, default crons (each overridable by an environment
    variable) and the environment variable that gave the all-store DAG's time zone."""

    dag_id: str
    crons: tuple[tuple[str, str], ...]
    timezone_env: str

    def default_crons(self) -> list[str]:
        """The deployment's default crons: the environment variables, else the built-in defaults."""
        return [os.environ.get(name) or default for name, default in self.crons]


JOBS: dict[str, Job] = {
    "catalog_sync": Job("aliexpress_catalog_sync", (("AEOPS_SYNC_CRON", "0 2 * * *"),), "AEOPS_SYNC_TIMEZONE"),
    "certificate_expiry": Job("aliexpress_certificate_expiry", (("AEOPS_CERT_CRON", "0 9 * * *"),),
                              "AEOPS_CERT_TIMEZONE"),
    "store_settings": Job("aliexpress_store_settings", (("AEOPS_SETTINGS_CRON", "0 10 * * *"),),
                          "AEOPS_SETTINGS_TIMEZONE"),
    "logo_rotation": Job("aliexpress_logo_rotation", (("AEOPS_LOGO_CRON", "0 9 1 1,4,7,10 *"),
                                                      ("AEOPS_LOGO_FOLLOWUP_CRON", "0 9 15 2,5,8,11 *")),
                         "AEOPS_LOGO_TIMEZONE"),
}


@dataclass(frozen=True)
class StoreSchedule:
    """One store as the DAG files see it: its name, time zone and crons by job."""

    name: str
    timezone: str = DEFAULT_TIMEZONE
    schedules: dict[str, list[str]] = field(default_factory=dict)

    def crons(self, job: str) -> list[str]:
        """The store's crons of ``job`` (its ``schedules`` entry, else the deployment's default)."""
        return self.schedules.get(job) or JOBS[job].default_crons()

    def dag_id(self, job: str) -> str:
        """The store's DAG id of ``job``."""
        return per_store_dag_id(JOBS[job].dag_id, self.name)


def dag_id_suffix(store: str) -> str:
    """The store's name as a DAG id part: letters, digits, ``-``, ``.`` and ``_`` kept, anything else ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", store)


def per_store_dag_id(dag_id: str, store: str) -> str:
    """``<dag_id>__<store>``."""
    return f"{dag_id}{SEPARATOR}{dag_id_suffix(store)}"


def job_dag_id(dag_id: str) -> str:
    """The all-store DAG id of a DAG id (``aliexpress_catalog_sync__demo`` -> ``aliexpress_catalog_sync``)."""
    return dag_id.split(SEPARATOR, 1)[0]


def crons_of(value: Any) -> list[str]:
    """A ``schedules`` entry as a list of crons (one cron string or a list of them)."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    raise ValueError(f"a schedule is a cron string or a list of them, not {value!r}")


def config_text() -> str | None:
    """The ``aeops_config`` document's text: the Variable (Airflow's cached read), else ``AEOPS_CONFIG`` (JSON or
    a file path), else None (the built-in defaults)."""
    raw = None
    try:
        from airflow.sdk import Variable

        raw = Variable.get(VARIABLE_NAME, default=None)
    except Exception as exc:  # noqa: BLE001 - no Airflow here (the CLI) or the Variable cannot be read
        log.debug("aeops_config Variable not read: %s", exc)
    if raw not in (None, ""):
        return raw if isinstance(raw, str) else json.dumps(raw)
    env = os.environ.get("AEOPS_CONFIG", "").strip()
    if not env:
        return None
    if env.startswith("{"):
        return env
    path = Path(env)
    return path.read_text(encoding="utf-8") if path.is_file() else None


def stores_of(document: dict[str, Any] | None) -> list[StoreSchedule]:
    """The stores of a parsed ``aeops_config`` document (the single default store when it names none). Raises
    ValueError on a malformed entry."""
    if document is None or "stores" not in document:
        return [StoreSchedule(DEFAULT_STORE)]
    stores = []
    for entry in document["stores"] or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ValueError(f"a store entry without a name: {entry!r}")
        schedules = {job: crons_of(v) for job, v in (entry.get("schedules") or {}).items()}
        stores.append(StoreSchedule(entry["name"], entry.get("timezone") or DEFAULT_TIMEZONE, schedules))
    return stores


def configured_stores() -> list[StoreSchedule]:
    """Every configured store with its schedules, for the DAG files; [] when the settings cannot be read."""
    try:
        text = config_text()
        return stores_of(json.loads(text) if text else None)
    except (ValueError, OSError) as exc:
        log.warning("aeops_config not readable, no per-store DAG generated: %s", exc)
        return []


def timetable(crons: list[str], timezone: str):
    """A cron timetable at the given crons in ``timezone`` (Airflow's CronTriggerTimetable, or its Multiple form
    for several crons)."""
    from airflow.timetables.trigger import (  # lazy: the CLI runs without Airflow
        CronTriggerTimetable,
        MultipleCronTriggerTimetable,
    )

    if len(crons) == 1:
        return CronTriggerTimetable(crons[0], timezone=timezone)
    return MultipleCronTriggerTimetable(*crons, timezone=timezone)
