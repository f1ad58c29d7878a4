"""The checks ``aeops doctor`` and ``aeops store add`` make, each problem one :class:`Problem` (what is wrong and
what to fix, in the reader's language): a store's connection, credentials, token and documented standing, its
folders and schedules; the Slack token; the Fernet key; the pools; the aeops DB's schema.

Every check catches its own trouble: one broken part never hides the others' problems.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aeops.catalog.context import client_for, context
from aeops.catalog.credentials import ReauthoriseNeeded
from aeops.config import AeopsConfig, StoreConfig
from aeops.locations import LocationError, resolve
from aeops.marketplace.errors import ApiError
from aeops.notify.send import DEFAULT_CONN_ID, slack_client
from aeops.schedules import JOBS, StoreSchedule, crons_of, timetable
from aeops.secrets import get_logger, scrub
from aeops.store.crypto import KeyMissing, configured_keys
from aeops.store.db import current_revision, head_revision, redact_url
from aeops.store.ledger import Ledger
from aeops.sync.errors import SyncError
from aeops.sync.preflight import preflight

log = get_logger(__name__)
Translate = Callable[[str], str]


@dataclass(frozen=True)
class Problem:
    """One problem of the deployment: where, what is wrong, what to do (already in the reader's language)."""

    where: str
    what: str
    fix: str

    def line(self) -> str:
        """``where: what -> fix`` on one line."""
        return " ".join(f"✗ {self.where}: {self.what} → {self.fix}".split())


def _detail(exc: BaseException) -> str:
    return scrub(" ".join(f"{type(exc).__name__}: {exc}".split()))[:300]


def airflow_connection(conn_id: str) -> Any | None:
    """The Airflow connection ``conn_id`` (environment, secrets backend or metadata DB); None when not defined."""
    try:
        from airflow.models.connection import Connection

        return Connection.get_connection_from_secrets(conn_id)
    except Exception:  # noqa: BLE001 - not defined anywhere
        return None


def check_marketplace(cfg: AeopsConfig, store: StoreConfig, _: Translate) -> tuple[list[Problem], dict[str, Any]]:
    """The store's connection, credentials, token (refreshed when due, as every task does) and documented standing,
    asked of the marketplace like the daily sync's preflight; returns the problems and, when it answered, the
    seller id and the standing."""

    where = _("store {store}").format(store=store.name)
    if airflow_connection(store.conn_id) is None:
        return [Problem(where, _("connection {conn} is not defined").format(conn=store.conn_id),
                        _("add it (Admin > Connections, type aliexpress: app key, app secret, tokens in extra)"))], {}
    try:
        client = client_for(context(store.name, cfg), max_attempts=2, timeout=15.0)  # an answer, not a retry loop
        return [], preflight(store.name, config=cfg, client=client)
    except ReauthoriseNeeded:
        return [Problem(where, _("the token of connection {conn} has expired and its refresh token is refused")
                        .format(conn=store.conn_id),
                        _("have the seller authorise the app again and put the new tokens in connection {conn}")
                        .format(conn=store.conn_id))], {}
    except SyncError as exc:  # credentials refused, or writes not allowed (standing): the message says which
        return [Problem(where, scrub(str(exc)), _("fix the connection or the store's standing declaration "
                                                  "(merchant_type, standing_checked_on) as the message says"))], {}
    except ApiError as exc:
        return [Problem(where, _("the marketplace did not answer for connection {conn}: {error}")
                        .format(conn=store.conn_id, error=_detail(exc)),
                        _("check the connection's host and try again later"))], {}
    except Exception as exc:  # noqa: BLE001 - unreachable host, broken connection extra, ...
        return [Problem(where, _("connection {conn} does not work: {error}").format(conn=store.conn_id,
                                                                                    error=_detail(exc)),
                        _("check the connection's host, app key and secret"))], {}


FOLDERS = {  # setting -> (required?, what it holds)
    "exports": True, "images_dir": False, "certs": False, "logo": False,
}


def check_folders(store: StoreConfig, _: Translate) -> list[Problem]:
    """The store's folders exist (exports required; the others when set) and the exports folder holds an export."""

    where = _("store {store}").format(store=store.name)
    problems = []
    for setting, required in FOLDERS.items():
        location = str(getattr(store, setting) or "").strip()
        if not location:
            if required:
                problems.append(Problem(where, _("no {setting} folder is set").format(setting=setting),
                                        _("set {setting} in the store's entry of aeops_config")
                                        .format(setting=setting)))
            continue
        try:
            exists = resolve(location).exists()
        except (LocationError, OSError, ValueError) as exc:
            problems.append(Problem(where, _("{setting} folder {location} cannot be opened: {error}")
                                    .format(setting=setting, location=location, error=_detail(exc)),
                                    _("fix {setting} in aeops_config").format(setting=setting)))
            continue
        if not exists:
            problems.append(Problem(where, _("{setting} folder {location} does not exist")
                                    .format(setting=setting, location=location),
                                    _("create it, or fix {setting} in aeops_config").format(setting=setting)))
    return problems


def check_schedules(store: StoreConfig, _: Translate, *, paused: Callable[[str], bool | None] | None = None
                    ) -> list[Problem]:
    """Each per-store job's crons make a timetable in the store's time zone; with ``paused`` (the metadata DB's
    answer per DAG id: None = not parsed yet) a paused store DAG is named too."""

    where = _("store {store}").format(store=store.name)
    schedule = StoreSchedule(store.name, store.timezone, {j: crons_of(v) for j, v in store.schedules.items()})
    problems, stopped = [], []
    for job in JOBS:
        dag_id = schedule.dag_id(job)
        try:
            timetable(schedule.crons(job), store.timezone)
        except Exception as exc:  # noqa: BLE001 - a bad cron from the environment or the settings
            problems.append(Problem(where, _("DAG {dag}: schedule {crons} is not usable: {error}")
                                    .format(dag=dag_id, crons=", ".join(schedule.crons(job)), error=_detail(exc)),
                                    _("fix schedules.{job} in aeops_config (or its AEOPS_*_CRON default)")
                                    .format(job=job)))
            continue
        if paused is not None and paused(dag_id):
            stopped.append(dag_id)
    if stopped:
        problems.append(Problem(where, _("paused, so not run on their schedule: {dags}")
                                .format(dags=", ".join(stopped)),
                                _("unpause them in the Airflow UI (or: airflow dags unpause DAG_ID)")))
    return problems


def dag_paused(dag_id: str) -> bool | None:
    """Whether Airflow has ``dag_id`` paused (None: not known to the metadata DB yet, or no metadata DB)."""
    try:
        from airflow.models.dag import DagModel

        model = DagModel.get_dagmodel(dag_id)
    except Exception:  # noqa: BLE001 - no metadata DB here
        return None
    return None if model is None else bool(model.is_paused)


def check_slack(_: Translate, conn_id: str | None = None) -> list[Problem]:
    """Slack accepts the bot token of the Slack connection (``auth.test``)."""

    conn_id = conn_id or DEFAULT_CONN_ID
    where = "Slack"
    if airflow_connection(conn_id) is None:
        return [Problem(where, _("connection {conn} is not defined").format(conn=conn_id),
                        _("add it (type slack, the bot token as password)"))]
    try:
        answer = slack_client(conn_id, timeout=10).api_call("auth.test")
        data = getattr(answer, "data", answer)
        ok = bool(data.get("ok")) if isinstance(data, dict) else False
        error = data.get("error") if isinstance(data, dict) else None
    except Exception as exc:  # noqa: BLE001 - slack_sdk raises SlackApiError on ok=false
        response = getattr(exc, "response", None)
        if response is None:
            return [Problem(where, _("Slack cannot be reached through connection {conn}: {error}")
                            .format(conn=conn_id, error=_detail(exc)),
                            _("check the connection's base_url and the network (the token was not checked)"))]
        ok, error = False, response.get("error")
    if ok:
        return []
    return [Problem(where, _("Slack refuses the bot token of connection {conn} ({error})")
                    .format(conn=conn_id, error=error),
                    _("put the bot's current token (xoxb-...) in connection {conn}").format(conn=conn_id))]


def check_fernet(url: str, _: Translate) -> list[Problem]:
    """A Fernet key is configured and opens the tokens aeops keeps."""

    where = _("Fernet key")
    try:
        if not configured_keys():
            raise KeyMissing("none")
    except Exception:  # noqa: BLE001 - KeyMissing, or a malformed key
        return [Problem(where, _("no usable Fernet key: refreshed tokens cannot be stored encrypted"),
                        _("set AEOPS_FERNET_KEY (or Airflow's fernet_key) to a Fernet key"))]
    try:
        unreadable = Ledger(url).tokens.unreadable()
    except Exception as exc:  # noqa: BLE001 - the DB check names a DB problem
        log.debug("tokens not checked: %s", exc)
        return []
    if unreadable:
        return [Problem(where, _("the tokens of connection(s) {conns} cannot be decrypted with the configured keys")
                        .format(conns=", ".join(unreadable)),
                        _("put the key they were encrypted with back (new,old) and run: aeops db rotate-tokens"))]
    return []


def check_pools(cfg: AeopsConfig, _: Translate) -> list[Problem]:
    """The pools aeops's tasks run in exist with at least one slot; the API pool has a slot per store."""

    api_pool = os.environ.get("AEOPS_API_POOL", "aliexpress_api")
    sizes = {api_pool: cfg.pool_slots(), os.environ.get("AEOPS_URGENT_POOL", "aliexpress_urgent"): 4,
             os.environ.get("AEOPS_PLANNING_POOL", "aeops_planning"): cfg.planning_pool_slots}
    problems = []
    for name, slots in sizes.items():
        try:
            from airflow.models.pool import Pool

            pool = Pool.get_pool(name)
        except Exception as exc:  # noqa: BLE001 - no metadata DB here
            log.debug("pool %s not checked: %s", name, exc)
            return []
        if pool is None or (pool.slots or 0) < 1:
            problems.append(Problem(_("pool {pool}").format(pool=name),
                                    _("the pool is missing or has no slot: its tasks never start"),
                                    _("create it: airflow pools set {pool} {slots} aeops").format(
                                        pool=name, slots=slots)))
        elif name == api_pool and pool.slots < len(cfg.stores):
            problems.append(Problem(_("pool {pool}").format(pool=name),
                                    _("{slots} slot(s) for {stores} stores: stores wait for each other's calls")
                                    .format(slots=pool.slots, stores=len(cfg.stores)),
                                    _("resize it: airflow pools set {pool} {slots} aeops").format(
                                        pool=name, slots=slots)))
    return problems


def check_schema(url: str, _: Translate) -> list[Problem]:
    """The aeops DB answers and its schema is at the newest revision."""

    where = _("aeops DB")
    try:
        current, head = current_revision(url), head_revision()
    except Exception as exc:  # noqa: BLE001 - unreachable, wrong password, ...
        return [Problem(where, _("{url} cannot be opened: {error}").format(url=redact_url(url), error=_detail(exc)),
                        _("check the aeops_db connection (or AEOPS_DATABASE_URL)"))]
    if current != head:
        return [Problem(where, _("schema at revision {current}, newest is {head}")
                        .format(current=current or "-", head=head), _("run: aeops db upgrade"))]
    return []


def check_store(cfg: AeopsConfig, store: StoreConfig, _: Translate, *, marketplace: bool = True,
                paused: Callable[[str], bool | None] | None = None) -> list[Problem]:
    """Every check of one store: connection, token and standing (``marketplace``), folders, schedules."""
    problems = check_marketplace(cfg, store, _)[0] if marketplace else []
    return problems + check_folders(store, _) + check_schedules(store, _, paused=paused)
