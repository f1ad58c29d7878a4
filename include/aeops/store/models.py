"""The aeops database: what aeops knows, did and saw, per store.

Typed SQLAlchemy 2.0 models. The schema is created and upgraded only by the Alembic migrations in
``migrations/`` (``aeops db upgrade``); a test checks the migrations and these models agree.
Product ids are 64-bit integers (BigInteger), never floats. Every ``datetime`` column is a
:class:`~aeops.store.types.UtcDateTime`: it stores the UTC instant on SQLite and PostgreSQL alike, reads back an
aware UTC datetime and refuses a naive one (at the assignment, naming the column, and at the flush).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from aeops.store.crypto import EncryptedText
from aeops.store.types import UtcDateTime, refuse_naive_on_assignment

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """A datetime that may be naive, taken as UTC, as an aware datetime (a time aeops wrote as ISO text, or one a
    caller passes). The aeops DB's columns need none of this: they return aware UTC (:class:`UtcDateTime`)."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


class Base(DeclarativeBase):
    """The declarative base of every aeops table (constraint names, JSON and UTC column types)."""
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: UtcDateTime()}


class SyncRun(Base):
    """One run of a pipeline for one store (daily sync, urgent re-run, certificate watch, ...)."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    kind: Mapped[str] = mapped_column(String(30), default="daily")
    status: Mapped[str] = mapped_column(String(30), default="running")
    export_id: Mapped[int | None] = mapped_column(ForeignKey("exports.id"), nullable=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report_path: Mapped[str | None] = mapped_column(Text, nullable=True)
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    # e.g. {"image_urls": {source image: photobank URL}} for auto-fixed images uploaded by validate
    artifacts: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (UniqueConstraint("store", "dag_id", "run_id"),)


class Export(Base):
    """A catalog export file seen at the store's export location."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100))
    path: Mapped[str] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime | None] = mapped_column(nullable=True)
    synced_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)

    __table_args__ = (UniqueConstraint("store", "sha256"),)


class Finding(Base):
    """One rule finding (the codes are the contract in docs/design.md)."""

    __tablename__ = "findings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"), nullable=True, index=True)
    store: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(10))
    file: Mapped[str | None] = mapped_column(Text, nullable=True)
    row: Mapped[int | None] = mapped_column(Integer, nullable=True)
    product_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    sku_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    field: Mapped[str | None] = mapped_column(String(60), nullable=True)
    message: Mapped[str] = mapped_column(Text)
    # what is wrong and what to do, as translatable templates with their values (aeops.findings.Text.to_json);
    # None for findings kept before 0008: they are shown with their English message
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProductState(Base):
    """The last state aeops confirmed on the marketplace for a product (the diff baseline)."""

    __tablename__ = "product_state"

    store: Mapped[str] = mapped_column(String(100), primary_key=True)
    product_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    category: Mapped[str | None] = mapped_column(String(100), nullable=True)
    brand: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(30), default="onSelling")
    confirmed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    marketplace_modified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # when aeops first saw the product on the marketplace (None: before migration 0005, i.e. not new)
    first_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Change(Base):
    """One planned write for one product in one run; its status is recorded before and after the call."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    store: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # price | inventory | edit
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    previous: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="planned", index=True)
    # planned -> sending -> confirmed | failed | unknown; verified / verify_failed after verification
    error_code: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error_message: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    batch_key: Mapped[str | None] = mapped_column(String(100), nullable=True)
    pushed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # when the export row behind it changed at its source (its updated_at, else the export file's modification
    # time); None for changes without an export (urgent overrides, uploads) and those planned before 0012
    source_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (UniqueConstraint("sync_run_id", "product_id", "kind"),)


class ApiWrite(Base):
    """Audit of every marketplace write call: recorded before sending and completed after."""

    __tablename__ = "api_writes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"), nullable=True, index=True)
    store: Mapped[str] = mapped_column(String(100))
    api: Mapped[str] = mapped_column(String(120))
    batch_key: Mapped[str] = mapped_column(String(100))
    product_ids: Mapped[list[Any]] = mapped_column(default=list)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str] = mapped_column(String(20), default="sending")  # sending | answered | lost | error
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)


class VerifyResult(Base):
    """One failed (or summarised) verification check for a product."""

    __tablename__ = "verify_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    store: Mapped[str] = mapped_column(String(100))
    product_id: Mapped[int] = mapped_column(BigInteger)
    check: Mapped[str] = mapped_column(String(30))  # timestamp | device | site | health
    device: Mapped[str | None] = mapped_column(String(20), nullable=True)
    site: Mapped[str | None] = mapped_column(String(10), nullable=True)
    field: Mapped[str | None] = mapped_column(String(60), nullable=True)
    sku_code: Mapped[str | None] = mapped_column(String(200), nullable=True)
    expected: Mapped[str | None] = mapped_column(Text, nullable=True)
    seen: Mapped[str | None] = mapped_column(Text, nullable=True)
    # False while the problem is seen; True once the product passed after all (it was slow, not wrong)
    passed: Mapped[bool] = mapped_column(default=False)
    attempt: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # 2 = seen after the re-push
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class SiteStrike(Base):
    """A "multi-site price inconsistency" the store collected (3 restrict its traffic)."""

    __tablename__ = "site_strikes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"), nullable=True)
    product_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    site: Mapped[str | None] = mapped_column(String(10), nullable=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Certificate(Base):
    """The certificate registry kept by the certificate watch: certificates and compliance documents (brand
    authorisations, category admissions: ``cert_type`` ``BrandAuth`` / ``CategoryAdmission``).

    ``approval``: None (nothing to approve) | pending (a changed issuer or another brand's number: it waits for a
    person) | approved | rejected; ``approval_detail``: who, when, which run, what changed. ``categories``: what a
    category admission admits, as written."""

    __tablename__ = "certificates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100))
    brand: Mapped[str] = mapped_column(String(100))
    cert_type: Mapped[str] = mapped_column(String(20))
    number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    issuer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    valid_until: Mapped[date | None] = mapped_column(Date, nullable=True)
    file: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    # valid | expiring | expired | replaced | invalid | removed
    status: Mapped[str] = mapped_column(String(20), default="valid")
    last_alert_threshold: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_alert_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)
    approval: Mapped[str | None] = mapped_column(String(20), nullable=True)
    approval_detail: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    categories: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (UniqueConstraint("store", "sha256"), Index(None, "store", "brand", "cert_type"))


class CertificateReplacement(Base):
    """One certificate replacement on the platform (DAG ``aliexpress_certificate_replace``): which file replaced
    which, why, the run, the qualification image uploaded and how many products it restored.

    ``status``: requested (the certificate watch saw a new file replace an older one) | running | restored |
    partial (some products not restored) | rejected (the file failed a rule; nothing uploaded) | refused (the
    account may not change compliance files; nothing uploaded) | no_products | dry_run | failed."""

    __tablename__ = "certificate_replacements"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    brand: Mapped[str] = mapped_column(String(100))
    cert_type: Mapped[str] = mapped_column(String(20))
    old_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)
    new_certificate_id: Mapped[int | None] = mapped_column(ForeignKey("certificates.id"), nullable=True)
    old_file: Mapped[str | None] = mapped_column(Text, nullable=True)
    new_file: Mapped[str] = mapped_column(Text)
    new_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    trigger: Mapped[str] = mapped_column(String(20), default="manual")  # manual | asset
    dag_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    sync_run_id: Mapped[int | None] = mapped_column(ForeignKey("sync_runs.id"), nullable=True)
    status: Mapped[str] = mapped_column(String(20), default="requested", index=True)
    photobank_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(nullable=True)


class LogoChange(Base):
    """A store logo rotation, from the marketplace's store settings or recorded by aeops."""

    __tablename__ = "logo_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    changed_at: Mapped[datetime] = mapped_column()
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    file: Mapped[str | None] = mapped_column(Text, nullable=True)
    source: Mapped[str] = mapped_column(String(30), default="aeops")
    reminded_for: Mapped[str | None] = mapped_column(String(20), nullable=True)


class LogoReminder(Base):
    """A LOGO-STALE reminder sent for a store, quarter and kind (quarter start / mid-quarter), once each."""

    __tablename__ = "logo_reminders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100))
    quarter: Mapped[str] = mapped_column(String(10))  # e.g. 2026Q4
    kind: Mapped[str] = mapped_column(String(20))  # start | follow-up
    sent_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("store", "quarter", "kind"),)


class SlackOutbox(Base):
    """Slack messages waiting for (or done with) delivery, delivered in id order."""

    __tablename__ = "slack_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str | None] = mapped_column(String(100), nullable=True)
    channel: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(30))  # alert | summary | detail | progress
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    thread_key: Mapped[str | None] = mapped_column(String(250), nullable=True)
    fold_count: Mapped[int] = mapped_column(Integer, default=1)
    # pending | sending | sent | folded | failed (Slack refused it) | dropped (by a person: aeops slack drop)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    slack_ts: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StoreLock(Base):
    """A per-store write lock so two runs never write the same store at once."""

    __tablename__ = "store_locks"

    store: Mapped[str] = mapped_column(String(100), primary_key=True)
    holder: Mapped[str] = mapped_column(String(250))
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()  # at or before now: the lock is free
    # how many tasks of the holder hold it now (parallel push chunks of one run share the holder)
    holds: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # a priority waiter (the urgent re-run): while waiting_until is ahead, nobody else may (re-)acquire
    waiting: Mapped[str | None] = mapped_column(String(250), nullable=True)
    waiting_until: Mapped[datetime | None] = mapped_column(nullable=True)
    # the fencing token: +1 each time the lock is taken anew (not when the holder's tasks join it); a push batch is
    # recorded only while its holder still holds the generation it took (aeops.catalog.lock)
    generation: Mapped[int] = mapped_column(BigInteger, default=1, server_default="1")


class RunMilestone(Base):
    """A once-only event of a run (urgent re-run: requested, started, half-way, late, done); audit and dedupe."""

    __tablename__ = "run_milestones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("sync_run_id", "name"),)


class PersonTask(Base):
    """Work only a person can do in the seller center, tracked until the storefront (or the person) confirms it.

    ``kind``: store_settings | logo_rotation | new_product_image | image_review. ``key`` names what the task is
    about (one open task per store and key). ``detail`` holds the steps, files, links and the differences seen.
    """

    __tablename__ = "person_tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    key: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | closed | failed
    rounds: Mapped[int] = mapped_column(Integer, default=0)  # how often a person was asked
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    opened_run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PersonTaskEvent(Base):
    """The history of a person task: opened, asked, answered, reopened, closed, failed, timed out."""

    __tablename__ = "person_task_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("person_tasks.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(30))
    run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    actor: Mapped[str | None] = mapped_column(String(200), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class SettingsCheck(Base):
    """One storefront check of a store's settings: Information Accuracy = matched / tracked fields."""

    __tablename__ = "settings_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    run_id: Mapped[str | None] = mapped_column(String(250), nullable=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    tracked: Mapped[int] = mapped_column(Integer, default=0)
    matched: Mapped[int] = mapped_column(Integer, default=0)
    accuracy: Mapped[float | None] = mapped_column(Float, nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ImageReview(Base):
    """What the image detectors saw in one image content (by SHA-256): run once per new content."""

    __tablename__ = "image_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("store", "sha256"),)


class TokenState(Base):
    """Access/refresh tokens obtained by refreshing (newest wins over the connection's extras).

    Both tokens are stored as Fernet tokens (:class:`aeops.store.crypto.EncryptedText`): the table never holds
    them in clear (Alembic 0006 encrypted the rows written before)."""

    __tablename__ = "token_state"

    conn_id: Mapped[str] = mapped_column(String(250), primary_key=True)
    access_token: Mapped[str] = mapped_column(EncryptedText)
    refresh_token: Mapped[str] = mapped_column(EncryptedText)
    expires_at: Mapped[datetime] = mapped_column()
    refresh_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class StoreLockWaiter(Base):
    """A task waiting (in reschedule mode, holding no worker slot) for a store's write lock; gone once it holds it."""

    __tablename__ = "store_lock_waiters"

    store: Mapped[str] = mapped_column(String(100), primary_key=True)
    waiter: Mapped[str] = mapped_column(String(250), primary_key=True)  # the holder name it will hold as
    task: Mapped[str] = mapped_column(String(250), primary_key=True)  # which task instance waits
    priority: Mapped[bool] = mapped_column(default=False)
    since: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)  # its last try (stale after a few poke intervals)


class StoreLockRelease(Base):
    """A store lock released by a person (``aeops lock release STORE --force``): who, why, and what it freed."""

    __tablename__ = "store_lock_releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    holder: Mapped[str | None] = mapped_column(String(250), nullable=True)  # None: the lock was already free
    holds: Mapped[int] = mapped_column(Integer, default=0)
    released_by: Mapped[str] = mapped_column(String(250))
    reason: Mapped[str] = mapped_column(Text)
    released_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunFailure(Base):
    """A task that failed for good in a DAG run (or the run itself: ``task_id`` empty), with its one-line error.

    Written by the failure callback; read by the run's one Slack page, its report, its summary and its verdict."""

    __tablename__ = "run_failures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dag_id: Mapped[str] = mapped_column(String(250))
    run_id: Mapped[str] = mapped_column(String(250))
    task_id: Mapped[str] = mapped_column(String(250))
    map_index: Mapped[int] = mapped_column(Integer, default=-1)
    store: Mapped[str | None] = mapped_column(String(100), nullable=True)
    error: Mapped[str] = mapped_column(Text)
    try_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("dag_id", "run_id", "task_id", "map_index"),)


class SlackPage(Base):
    """The one outbox row a page key (e.g. one DAG run's failures) is posted as; later versions replace it."""

    __tablename__ = "slack_pages"

    dedupe_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("slack_outbox.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExportGuard(Base):
    """The daily sync's export guard for one store's run: the checks against the store's current state, the
    largest moves, whether the export was held, and a person's decision (``aeops.sync.export_guard``)."""

    __tablename__ = "export_guards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sync_run_id: Mapped[int] = mapped_column(ForeignKey("sync_runs.id"), unique=True)
    store: Mapped[str] = mapped_column(String(100), index=True)
    held: Mapped[bool] = mapped_column(default=False)  # a threshold crossed (a dry run: would be held)
    dry_run: Mapped[bool] = mapped_column(default=False)
    checks: Mapped[list[Any]] = mapped_column(default=list)  # [{check, count, of, value, limit, tripped}]
    moves: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the largest moves, by check
    product_ids: Mapped[list[Any]] = mapped_column(default=list)  # the export's products (the next run's baseline)
    decision: Mapped[str | None] = mapped_column(String(20), nullable=True)  # approved | rejected | timed out
    decided_by: Mapped[str | None] = mapped_column(String(250), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(nullable=True)
    asked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SelfCheck(Base):
    """A record of each installation self-check (proves the DB is writable from tasks)."""

    __tablename__ = "self_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


refuse_naive_on_assignment(Base)

__all__ = [
    "ApiWrite",
    "Base",
    "Certificate",
    "Change",
    "Export",
    "ExportGuard",
    "Finding",
    "ImageReview",
    "LogoChange",
    "LogoReminder",
    "PersonTask",
    "PersonTaskEvent",
    "ProductState",
    "RunFailure",
    "RunMilestone",
    "SelfCheck",
    "SettingsCheck",
    "SiteStrike",
    "SlackOutbox",
    "SlackPage",
    "StoreLock",
    "StoreLockRelease",
    "StoreLockWaiter",
    "SyncRun",
    "TokenState",
    "VerifyResult",
    "aware",
    "utcnow",
]
