"""Engines, sessions and schema upgrades for the aeops database.

SQLite (a file) by default, PostgreSQL in production. The schema is only ever changed by Alembic
migrations (:func:`upgrade`), never dropped and re-created, so a production database keeps its data.

:class:`Database` is the aeops DB at one URL: its engine, its one session factory, and the schema brought up to
date once per process. The handle the rest of aeops uses, :class:`aeops.store.ledger.Ledger`, is one, with the
repositories (:mod:`aeops.store.repos`) on top; no SQL lives outside this package.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, configure_mappers, sessionmaker

from aeops.secrets import get_logger

log = get_logger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - exercised through every SQLite test
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer (parallel tasks)
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One pooled engine per URL per process. SQLite files get WAL mode and a busy timeout. Statement parameters
    never appear in error messages or logs (``hide_parameters``): some are secrets (tokens before encryption)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class Database:
    """The aeops DB at ``url``: one engine (shared per URL and process), one session factory, and with ``migrate``
    (the default) the schema brought up to date once per process and URL (:func:`ensure_schema_once`)."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        if migrate:
            ensure_schema_once(url)
        self.url = url
        self.engine = get_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.engine.url.render_as_string(hide_password=True)!r})"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: a session that commits on success and rolls back on error (for the repositories,
        and for tests that look at the tables directly)."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def session_scope(url: str) -> AbstractContextManager[Session]:
    """A transaction on the aeops DB at ``url`` without a schema check (tests and scripts that read tables)."""
    return Database(url, migrate=False).transaction()


def alembic_config(url: str):
    """An Alembic ``Config`` for the packaged migrations, bound to ``url``."""
    from alembic.config import Config  # lazy: Alembic only to migrate the aeops DB

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema at ``url`` up to ``revision`` (default: the newest). Safe to call repeatedly."""
    from alembic import command  # lazy: Alembic only to migrate the aeops DB

    log.info("aeops DB: upgrading %s to %s", redact_url(url), revision)
    command.upgrade(alembic_config(url), revision)


HEAD_REVISION = "0013"  # the newest migration's revision (tests/unit/store/test_store.py checks it against Alembic's)
VERSION_TABLE = "alembic_version"  # Alembic's default: where a migrated database records its revision


def current_revision(url: str) -> str | None:
    """The Alembic revision the database at ``url`` is at (None if never migrated), read with one query: no
    Alembic import, which costs ~0.08 CPU-s in every task process that opens the aeops DB."""
    with get_engine(url).connect() as conn:
        if not inspect(conn).has_table(VERSION_TABLE):
            return None
        rows = [row[0] for row in conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))]
    if len(rows) > 1:
        raise RuntimeError(f"aeops DB {redact_url(url)} records {len(rows)} revisions ({', '.join(rows)}); "
                           "aeops' migrations are one line: repair the version table")
    return rows[0] if rows else None


def head_revision() -> str:
    """The newest migration's revision id (:data:`HEAD_REVISION`: reading the migration scripts with Alembic costs
    ~0.07 CPU-s, paid by every task process's schema check before)."""
    return HEAD_REVISION


SCHEMA_LOCK_KEY = 0x6165_6F70_7300_0001  # "aeops" + 1: the advisory lock key of schema upgrades (PostgreSQL)


@contextmanager
def schema_lock(url: str) -> Iterator[None]:
    """On PostgreSQL, hold the session-level advisory lock of schema upgrades for the block: the first tasks of a
    new deployment start at once on several workers, and two Alembic upgrades of one database collide (the
    second fails on a table the first is creating). The lock lives on its own connection and ends with it (also
    when the process dies). SQLite: nothing to hold (a file's migrations run under its write lock, one at a time).
    A database that cannot be reached is left to the upgrade to report with its real error."""
    if not url.startswith("postgresql"):
        yield
        return
    try:
        conn = get_engine(url).connect()
    except Exception:  # noqa: BLE001 - upgrade() reports an unreachable database with its real error
        yield
        return
    try:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
        conn.commit()
        yield
    finally:
        try:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SCHEMA_LOCK_KEY})
            conn.commit()
        finally:
            conn.close()


def configure_models() -> None:
    """Configure every ORM mapper of the process now. Where Airflow's ORM is loaded (a Celery worker, the scheduler),
    its ``before_configured`` hook imports all of Airflow's models the first time any mapper is configured: done
    once in a worker before it forks (aeops.celery_config), not in each task process's first aeops-DB query."""
    import aeops.store.models  # noqa: F401 - lazy: aeops' mappers exist before they are configured

    configure_mappers()


def ensure_schema(url: str) -> None:
    """Upgrade only when the database is behind; cheap when it is already current (one query, no lock). On
    PostgreSQL a database found behind is checked again and upgraded under :func:`schema_lock`: of two first tasks,
    one upgrades, the other then finds it current."""
    if _is_current(url):
        return
    with schema_lock(url):
        if not _is_current(url):
            upgrade(url)


def _is_current(url: str) -> bool:
    try:
        return current_revision(url) == head_revision()
    except Exception:  # noqa: BLE001 - an unreachable DB is reported by upgrade() with its real error
        return False


_SCHEMA_READY: set[str] = set()


def ensure_schema_once(url: str) -> None:
    """:func:`ensure_schema`, once per process and URL (the check reads the migration scripts)."""
    if url not in _SCHEMA_READY:
        ensure_schema(url)
        _SCHEMA_READY.add(url)


def table_names(url: str) -> list[str]:
    """The tables of the database at ``url``, sorted."""
    return sorted(inspect(get_engine(url)).get_table_names())


def url_has_password(url: str) -> bool:
    """The URL carries a password (False for one that cannot be parsed: it fails later with its own message)."""

    try:
        return bool(make_url(url).password)
    except Exception:  # noqa: BLE001 - an unparseable URL fails later with its own message
        return False


def connection_url(driver: str, *, username: str | None, password: str | None, host: str | None,
                   port: int | None, database: str | None, query: dict[str, str]) -> str:
    """The SQLAlchemy URL of these parts, password included (register it as a secret before it is logged)."""

    url = URL.create(driver, username=username, password=password, host=host, port=port, database=database,
                     query=query)
    return url.render_as_string(hide_password=False)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (safe for logs)."""

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<unparseable database URL>"
