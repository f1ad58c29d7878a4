"""Shared test set-up: the embedded environment, database fixtures for SQLite and PostgreSQL.

``make test`` prepares the Airflow home first; running ``pytest`` directly uses the same defaults as
``scripts/embedded-env`` (set below only where the caller has not set them). Under pytest-xdist (``make test``
runs ``-n``) each worker process gets its own copy of that home before Airflow is imported
(tests/worker_home.py): the embedded SQLite metadata DB takes one writer at a time.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_DEFAULTS = {
    "AEOPS_PROJECT_DIR": str(ROOT),
    "AIRFLOW_HOME": str(ROOT / ".airflow"),
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
}
for _key, _value in _DEFAULTS.items():
    os.environ.setdefault(_key, _value)
os.environ.setdefault("AEOPS_DATABASE_URL", f"sqlite:///{os.environ['AIRFLOW_HOME']}/aeops.db")
if os.environ.get("PYTEST_XDIST_WORKER"):  # make test runs the suite over processes: each its own Airflow home
    from tests.worker_home import use_worker_home

    use_worker_home(os.environ["PYTEST_XDIST_WORKER"])
if not os.environ.get("AEOPS_FERNET_KEY"):  # what scripts/embedded-env sets: the Airflow home's aeops key
    from aeops.embedded import fernet_key

    os.environ["AEOPS_FERNET_KEY"] = fernet_key(Path(os.environ["AIRFLOW_HOME"]))

REDIS_TEST_URL = os.environ.get("AEOPS_TEST_REDIS_URL", "redis://127.0.0.1:6379").rstrip("/") + "/15"
POSTGRES_ADMIN_URL = os.environ.get("AEOPS_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> bool:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
        return True
    except Exception:  # noqa: BLE001
        return False


@pytest.fixture(autouse=True)
def _fresh_aeops_db_connection_lookup() -> Iterator[None]:
    """The aeops_db connection is looked up once per process; each test sees its own environment."""
    from aeops.config import forget_connection_urls

    forget_connection_urls()
    yield
    forget_connection_urls()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'aeops.db'}"


@pytest.fixture
def redis_url() -> str:
    """The local Redis (database 15) for limiter tests: keys are the test's own (uuid), never flushed.

    Skipped only when the server is unreachable; AEOPS_REQUIRE_REDIS=1 makes an unreachable server fail instead.
    """
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("AEOPS_REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis required but unreachable at {REDIS_TEST_URL}: {exc}")
        pytest.skip(f"Redis unreachable at {REDIS_TEST_URL}")
    return REDIS_TEST_URL


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test, dropped afterwards.

    Skipped only when the local server is unreachable; CI sets AEOPS_REQUIRE_POSTGRES=1 so that an
    unreachable server fails instead of skipping.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    if not postgres_reachable():
        if os.environ.get("AEOPS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL required but unreachable at {POSTGRES_ADMIN_URL}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}")
    name = f"aeops_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from aeops.store.db import get_engine

        get_engine(url).dispose()
        get_engine.cache_clear()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """Run a test against SQLite and against PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture(scope="session")
def airflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """The session's one real api-server (users mode, aeops plugin, seeded aeops DB): tests/airflow_server.py."""
    from tests import airflow_server as server_module

    server = server_module.start(tmp_path_factory.mktemp("airflow-server"))
    print(f"\napi-server for the session at {server.url}: {server.timings}")
    try:
        yield server
    finally:
        server.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``): a test file's tests stay on one worker (its module fixtures are
    set up once), and every test of the session's api-server (``airflow_server``) on one worker (one server)."""
    for item in items:
        uses_server = "airflow_server" in getattr(item, "fixturenames", ())
        group = "airflow_server" if uses_server else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
