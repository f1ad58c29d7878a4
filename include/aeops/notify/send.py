"""One call for DAG tasks and callbacks: put a message in the outbox, then deliver what is pending.

``send(message, store="demo")`` picks the store's alerts or reports channel from the message's
severity, writes the outbox row (folding duplicates), and delivers every pending row in order through
``SlackHook(slack_conn_id="slack_api_default").client`` — the Airflow Slack provider's slack_sdk
``WebClient``, so the connection's token, ``base_url`` (the local sink in the embedded mode),
``timeout`` and ``proxy`` apply. Delivery never raises: a Slack failure is logged and reported in the
returned :class:`SendResult`, and the message waits in the outbox for the next task or run. A message that
cannot be *written to the outbox* (the aeops DB is unreachable, the settings are broken) raises
:class:`OutboxWriteFailed`: nothing would keep it, so the task fails (where people look) and its retry writes it
again, instead of the alert being lost behind a log line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from aeops.config import AeopsConfig, ConfigError, StoreConfig, load_airflow_config, load_config
from aeops.i18n import DEFAULT_LANGUAGE, translator
from aeops.notify.messages import SlackMessage
from aeops.notify.outbox import DeliveryReport, SlackClient, choose_channel, deliver_pending, enqueue, release_backoff
from aeops.notify.outbox_admin import outbox_health
from aeops.secrets import get_logger, register_secret

log = get_logger(__name__)

DEFAULT_CONN_ID = "slack_api_default"


@dataclass
class SendResult:
    """What :func:`send` did: the outbox row, the channel chosen, the delivery and any errors."""
    outbox_id: int | None = None
    channel: str | None = None
    delivery: DeliveryReport | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """True when the outbox was empty after this call (this message and everything before it)."""
        return self.delivery is not None and self.delivery.pending == 0 and not self.errors


def slack_client(conn_id: str = DEFAULT_CONN_ID, timeout: int | None = None) -> SlackClient:
    """The provider's ``SlackHook(slack_conn_id=conn_id).client`` (a slack_sdk ``WebClient``); its bot token is
    registered with :mod:`aeops.secrets`."""
    from airflow.providers.slack.hooks.slack import SlackHook  # lazy: the Slack provider, only to deliver

    client = SlackHook(slack_conn_id=conn_id, timeout=timeout).client
    register_secret(getattr(client, "token", None))
    return client


def resolve_config(config: AeopsConfig | None) -> AeopsConfig:
    """``config``, else the settings from Airflow, else (outside a task) from the environment or defaults."""
    if config is not None:
        return config
    try:
        return load_airflow_config()
    except ConfigError:
        raise
    except Exception:  # noqa: BLE001 - outside a task (no Variable access): env or defaults
        return load_config()


def _store_config(config: AeopsConfig, store: str | None) -> StoreConfig:
    if store:
        try:
            return config.store(store)
        except ConfigError:
            log.warning("Slack: unknown store %r; using the first store's channels", store)
    return config.stores[0]


def language_of(store: str | None, config: AeopsConfig | None = None) -> str:
    """The language of ``store``'s messages (the first store's for an unknown or missing one; the default
    language when no settings can be read at all). Never raises."""

    try:
        return _store_config(resolve_config(config), store).language
    except Exception:  # noqa: BLE001 - a message in the default language beats no message
        return DEFAULT_LANGUAGE


def send(
    message: SlackMessage,
    *,
    store: str | None = None,
    config: AeopsConfig | None = None,
    db_url: str | None = None,
    client: SlackClient | None = None,
    conn_id: str = DEFAULT_CONN_ID,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> SendResult:
    """Enqueue ``message`` and deliver the outbox. Delivery errors are logged and returned; a message that cannot
    be written to the outbox raises :class:`OutboxWriteFailed` (the task fails: the alert is never lost silently)."""
    result = SendResult()
    secrets = tuple(secrets)
    try:
        cfg = resolve_config(config)
        store_cfg = _store_config(cfg, store or message.store)
        if message.store is None:
            message.store = store_cfg.name
        url = db_url or cfg.resolved_database_url()
        result.channel = choose_channel(message, store_cfg.slack_alerts_channel, store_cfg.slack_reports_channel)
        result.outbox_id = enqueue(
            url, message, channel=result.channel, fold_window_minutes=cfg.slack_fold_window_minutes,
            secrets=secrets, now=now,
        )
    except Exception as exc:  # noqa: BLE001 - any cause: the message has nowhere to wait, so the task fails
        log.error("Slack: could not write the message to the outbox (%s: %s); failing the task so that its retry "
                  "writes it: %s", type(exc).__name__, exc, message.text[:200])
        raise OutboxWriteFailed(_outbox_failure(message, store, config, exc)) from exc
    result.delivery = deliver(url, client=client, conn_id=conn_id, secrets=secrets, now=now)
    if result.delivery is None:
        result.errors.append("delivery did not run (see the log); the message waits in the outbox")
    return result


def deliver(
    db_url: str,
    *,
    client: SlackClient | None = None,
    conn_id: str = DEFAULT_CONN_ID,
    secrets: Iterable[str] = (),
    now: datetime | None = None,
) -> DeliveryReport | None:
    """Deliver pending outbox rows (start of every run/task that posts); None if no client could be made."""
    try:
        client = client or slack_client(conn_id)
    except Exception as exc:  # noqa: BLE001 - e.g. connection missing: log, keep the rows pending
        log.error("Slack: no client for connection %r (%s: %s); messages stay in the outbox",
                  conn_id, type(exc).__name__, exc)
        return None
    try:
        return deliver_pending(db_url, client, now=now, secrets=secrets)
    except Exception as exc:  # noqa: BLE001 - e.g. the aeops DB is unreachable
        log.error("Slack: outbox delivery failed (%s: %s); messages stay in the outbox", type(exc).__name__, exc)
        return None


class OutboxWriteFailed(RuntimeError):
    """A message could not be written to the Slack outbox: the task that sent it fails (its retry sends it again)."""


def _outbox_failure(message: SlackMessage, store: str | None, config: AeopsConfig | None, exc: Exception) -> str:
    """The one line the failed task shows, in the store's language (the error's type only: no values)."""

    _ = translator(language_of(store or message.store, config))
    text = _("a Slack message ({kind}) could not be written to the outbox ({error}); this task fails so that its "
             "retry sends it again")
    return text.format(kind=message.kind, error=type(exc).__name__)


class OutboxBlocked(RuntimeError):
    """Slack refuses the bot token: the outbox cannot deliver until the connection is fixed (nothing is lost)."""


def drain(
    *, config: AeopsConfig | None = None, db_url: str | None = None, client: SlackClient | None = None,
    conn_id: str = DEFAULT_CONN_ID, now: datetime | None = None,
) -> DeliveryReport | None:
    """Deliver what an earlier run or task left in the outbox (the start of every aeops DAG run, the outbox DAG).

    Cheap when the outbox is empty: one query, no Slack client is made. Never raises; None when nothing was due
    or the outbox could not be read (logged)."""

    try:
        url = db_url or resolve_config(config).resolved_database_url()
        health = outbox_health(url)
    except Exception as exc:  # noqa: BLE001 - e.g. the aeops DB is not migrated yet: nothing to deliver then
        log.warning("Slack: the outbox could not be read (%s: %s)", type(exc).__name__, exc)
        return None
    if not health.pending:
        return None
    log.info("Slack: %s", health.describe())
    return deliver(url, client=client, conn_id=conn_id, now=now)


def drain_or_fail(
    *, config: AeopsConfig | None = None, db_url: str | None = None, client: SlackClient | None = None,
    conn_id: str = DEFAULT_CONN_ID, now: datetime | None = None,
):
    """:func:`drain`, then the outbox's health; :class:`OutboxBlocked` (one line saying what to fix) when Slack
    refuses the bot token, so the task that drains fails where people look."""

    url = db_url or resolve_config(config).resolved_database_url()
    drain(db_url=url, client=client, conn_id=conn_id, now=now)
    health = outbox_health(url)
    if health.blocked:
        raise OutboxBlocked(health.describe())
    log.info("%s", health.describe())
    return health


def flush(
    db_url: str, *, client: SlackClient | None = None, conn_id: str = DEFAULT_CONN_ID, now: datetime | None = None,
) -> DeliveryReport | None:
    """Deliver everything now, ignoring back-offs (``aeops slack flush``: after fixing Slack or its token)."""

    released = release_backoff(db_url)
    log.info("Slack: back-off cleared on %s message(s)", released)
    return deliver(db_url, client=client, conn_id=conn_id, now=now)
