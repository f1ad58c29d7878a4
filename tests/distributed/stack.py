"""Separate processes for the distributed test, and the databases and Redis keys they use.

Every component starts in its own session (``start_new_session=True``), so it and everything it spawns
(Celery pool processes, task supervisors and task processes, which move to process groups of their own)
share that session id. :meth:`Stack.stop` sends SIGTERM to each component's process group, waits, then
SIGKILLs every process still in any of the sessions: nothing started here outlives the test.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def session_members(sid: int) -> list[int]:
    """Pids of the live processes in session ``sid`` (read from /proc)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may contain spaces, so split after the last ')'
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            members.append(int(entry))
    return members


@dataclass
class Component:
    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes]
    service: bool = True  # False: a one-shot step (e.g. a migration) that is expected to exit

    @property
    def sid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            return f"(no log: {exc})"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Stack:
    """The components of one test run; ``stop()`` is idempotent and safe to call from ``finally``."""

    log_dir: Path
    env: dict[str, str]
    components: list[Component] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], extra_env: dict[str, str] | None = None,
              cwd: Path | None = None, service: bool = True) -> Component:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(list(argv), env={**self.env, **(extra_env or {})}, stdout=out,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                                       start_new_session=True)
        component = Component(name, list(argv), log, process, service)
        self.components.append(component)
        return component

    def dead(self) -> list[Component]:
        """Services that exited (one-shot steps are expected to)."""
        return [c for c in self.components if c.service and not c.alive()]

    def run_step(self, name: str, argv: Sequence[str], timeout: float) -> Component:
        """Run a one-shot step to completion (own session and log, stopped with the rest on teardown)."""
        step = self.start(name, argv, service=False)
        wait_until(lambda: step.process.poll() is not None, timeout, name)
        if step.process.returncode != 0:
            raise RuntimeError(f"{name} exited {step.process.returncode}:\n{step.tail()}")
        return step

    def stop(self, grace: float = 20.0) -> list[int]:
        """Stop every component; return the pids that had to be SIGKILLed after ``grace`` seconds."""
        for component in reversed(self.components):
            if component.alive():
                try:
                    os.killpg(component.sid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(session_members(c.sid) for c in self.components):
            time.sleep(0.2)
        killed = []
        for component in self.components:
            for pid in session_members(component.sid):
                try:
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                except ProcessLookupError:
                    pass
        for component in self.components:
            try:
                component.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # a SIGKILLed process is gone only once the kernel has torn it down (a busy machine takes a moment)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and self.leftovers():
            time.sleep(0.05)
        return killed

    def leftovers(self) -> list[int]:
        return [pid for c in self.components for pid in session_members(c.sid)]

    def tails(self, lines: int = 40) -> str:
        parts = []
        for c in self.components:
            state = "running" if c.alive() else f"exited {c.process.returncode}"
            parts.append(f"----- {c.name} ({state}; {c.log}) last {lines} lines -----\n{c.tail(lines)}")
        return "\n".join(parts)


def wait_until(check: Callable[[], object], timeout: float, what: str, stack: Stack | None = None,
               interval: float = 0.5) -> object:
    """Poll ``check`` until it returns something truthy; fail with ``what`` (and dead components) on timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if stack is not None and (dead := stack.dead()):
            raise RuntimeError(f"while waiting for {what}: {', '.join(c.name for c in dead)} exited")
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # noqa: BLE001 - keep polling; reported on timeout
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f} s" + (f" (last error: {last_error})"
                                                                       if last_error else ""))


# --------------------------------------------------------------------------------------------- PostgreSQL
def create_database(admin_url: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_url``; return its SQLAlchemy URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def drop_database(admin_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------- Redis
def delete_redis_keys(url: str, patterns: Sequence[str]) -> int:
    """Delete the keys matching ``patterns`` in the Redis database of ``url``; return how many."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = {key for pattern in patterns for key in client.scan_iter(match=pattern, count=500)}
        return client.delete(*keys) if keys else 0
    finally:
        client.close()


def celery_env(env: dict[str, str], *, root: Path, home: Path, api_url: str, api_port: int, airflow_db: str,
               aeops_db: str, broker: str, queue: str, concurrency: int, trigger_log_port: int) -> None:
    """Set in ``env`` the Airflow settings of a CeleryExecutor stack on this machine (the distributed test's and
    bench/stores_celery.py's): this checkout's DAGs, plugins and aeops, the metadata DB and result backend on
    PostgreSQL, the Redis broker and the test's own queue, one JWT secret and execution API URL for every component,
    fresh Fernet keys, and no scheduled daily run (unpausing would start the latest one next to the triggered one:
    February 29th at 02:00 last fell before the DAGs' start_date, so there is nothing to catch up)."""
    from cryptography.fernet import Fernet  # lazy: the test harness's other users never need it

    env.update({
        "AIRFLOW_HOME": str(home), "AEOPS_PROJECT_DIR": str(root),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        # this checkout's aeops (a shared venv's editable install may point at another one)
        "PYTHONPATH": os.pathsep.join(str(p) for p in (root / "include", root / "plugins", root)),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CORE__DAGS_FOLDER": str(root / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(root / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
        "AIRFLOW__API__BASE_URL": api_url,
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": airflow_db,
        "AIRFLOW__CELERY__BROKER_URL": broker,
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + airflow_db,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(concurrency),
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "aeops.celery_config.CELERY_CONFIG",  # as docker-compose.yaml
        "AIRFLOW__OPERATORS__DEFAULT_QUEUE": queue,
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(trigger_log_port),
        "AEOPS_DATABASE_URL": aeops_db,
        "AEOPS_SYNC_CRON": "0 2 29 2 *",
    })
