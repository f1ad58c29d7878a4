"""Static checks of docker-compose.yaml and the Dockerfile (no Docker engine here: nothing is started).

The compose file must keep the shape of the official Airflow 3.3 CeleryExecutor stack (every component with
its health check), give every Airflow component the same executor, database, broker and JWT secret, keep the
aeops database apart from Airflow's on the same server, and mount only paths that exist in this repository.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
AIRFLOW_SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-worker",
                    "airflow-triggerer")
SHARED_ENV = ("AIRFLOW__CORE__EXECUTOR", "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND",
              "AIRFLOW__CELERY__BROKER_URL", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY",
              "AIRFLOW__CORE__EXECUTION_API_SERVER_URL", "AIRFLOW_CONN_AEOPS_DB")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))


def airflow_like(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every service built from the aeops image (the Airflow components, init, cli, flower, demo services)."""
    return {name: s for name, s in compose["services"].items() if s.get("build") == "."}


def database_of(url: str) -> tuple[str, str]:
    """(host, database) of a SQLAlchemy / Celery ``db+`` URL."""
    match = re.search(r"@([^/:]+)(?::\d+)?/([^?]+)", url)
    assert match, url
    return match.group(1), match.group(2)


def test_every_component_of_the_celery_stack_is_there_with_a_health_check(compose) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", *AIRFLOW_SERVICES):
        assert name in services, name
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    assert "airflow-init" in services
    commands = {name: services[name]["command"] for name in AIRFLOW_SERVICES}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor", "airflow-worker": "celery worker",
                        "airflow-triggerer": "triggerer"}


def test_airflow_components_wait_for_the_databases_and_the_init(compose) -> None:
    for name in AIRFLOW_SERVICES:
        depends = compose["services"][name]["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy", name
        assert depends["redis"]["condition"] == "service_healthy", name
        assert depends["airflow-init"]["condition"] == "service_completed_successfully", name
    assert compose["services"]["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


def test_environment_is_the_same_in_every_airflow_component(compose) -> None:
    envs = {name: compose["services"][name]["environment"] for name in (*AIRFLOW_SERVICES, "airflow-init")}
    reference = envs["airflow-scheduler"]
    for name, env in envs.items():
        for key in SHARED_ENV:
            assert env.get(key) == reference[key], (name, key)
    assert reference["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert reference["AIRFLOW__API_AUTH__JWT_SECRET"], "one JWT secret shared by every component"
    assert reference["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"].startswith("http://airflow-apiserver:8080/")


def test_databases_broker_and_result_backend_point_at_the_stack_services(compose) -> None:
    env = compose["services"]["airflow-scheduler"]["environment"]
    metadata = database_of(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    assert metadata == ("postgres", compose["services"]["postgres"]["environment"]["POSTGRES_DB"])
    assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql+psycopg2://")
    assert database_of(env["AIRFLOW__CELERY__RESULT_BACKEND"]) == metadata
    assert "AEOPS_DATABASE_URL" not in env, "production gives the aeops DB as the connection aeops_db"
    aeops_host, aeops_db = database_of(env["AIRFLOW_CONN_AEOPS_DB"])
    assert aeops_host == "postgres" and aeops_db != metadata[1], "the aeops DB is its own database on one server"
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://") and "@redis:6379/" in env[
        "AIRFLOW__CELERY__BROKER_URL"]
    # the limits every store shares (app calls, storefront pages per site) hold across every Celery worker
    assert env["AEOPS_RATE_LIMIT"].startswith("redis://") and env["AEOPS_RATE_LIMIT"].endswith("@redis:6379/1")
    init = "\n".join(compose["services"]["airflow-init"]["command"])
    assert "CREATE DATABASE" in init and "aeops db upgrade" in init


def test_mounts_exist_in_the_repository(compose) -> None:
    expected = {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include", "/opt/airflow/config",
                "/opt/airflow/logs"}
    for name, service in airflow_like(compose).items():
        for volume in service.get("volumes", []):
            source, target = volume.rsplit(":", 1)
            if not source.startswith("${AIRFLOW_PROJ_DIR:-.}/"):
                assert source in compose.get("volumes", {}), (name, volume)  # a named volume
                continue
            relative = source.removeprefix("${AIRFLOW_PROJ_DIR:-.}/")
            if relative != "logs":  # runtime output: created by airflow-init, git-ignored
                assert (ROOT / relative).is_dir(), (name, volume)
            assert target == f"/opt/airflow/{relative}", (name, volume)
    mounted = {v.rsplit(":", 1)[1] for v in compose["services"]["airflow-scheduler"]["volumes"]}
    assert mounted == expected


def test_demo_profile_adds_the_simulator_and_the_slack_sink(compose) -> None:
    services = compose["services"]
    demo = {name for name, s in services.items() if "demo" in s.get("profiles", [])}
    assert {"aeops-simulator", "aeops-slack-sink", "aeops-demo-setup"} <= demo
    assert "aeops simulator" in "\n".join(services["aeops-simulator"]["command"])
    assert "aeops slack-sink" in "\n".join(services["aeops-slack-sink"]["command"])
    for name in ("aeops-simulator", "aeops-slack-sink"):
        assert services[name]["healthcheck"]["test"], name
    setup = "\n".join(services["aeops-demo-setup"]["command"])
    assert "http://aeops-simulator:8765" in setup and "http://aeops-slack-sink:8766/api/" in setup
    assert "@redis:6379/1" in setup  # shared rate limiter (with the password), not the broker's database 0
    for name in AIRFLOW_SERVICES:
        assert not services[name].get("profiles"), f"{name} must start without a profile"


def test_dockerfile_builds_on_the_pinned_airflow_with_hashed_constraints_and_the_package() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    pinned = re.search(r"^apache-airflow==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert re.search(rf"^FROM apache/airflow:{re.escape(pinned)}-python3\.11$", dockerfile, re.M)
    installs = re.findall(r"pip install ([^\n&]*)", dockerfile)
    for args in installs:  # every dependency checked against constraints.txt's hashes; only aeops itself is not
        assert "--require-hashes" in args or args.endswith("--no-deps --no-build-isolation -e /opt/airflow"), args
    assert any("--only pip" in line for line in dockerfile.splitlines()), "pip itself is pinned and installed first"
    assert "--upgrade pip" not in dockerfile
    for copied in re.findall(r"^COPY --chown=\S+ (.+) /opt/airflow/?\S*$", dockerfile, re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), path
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".venv", ".airflow", ".airflow-*", ".git", ".env", ".env.*"} <= set(ignored)


def test_compose_is_documented_as_not_started_here() -> None:
    doc = (ROOT / "docs" / "production.md").read_text(encoding="utf-8")
    assert "not started" in doc and "make test-distributed" in doc


@pytest.mark.parametrize("service", ["airflow-init", "aeops-demo-setup"])
def test_inline_python_of_the_one_shot_services_compiles(compose, service) -> None:
    script = "\n".join(compose["services"][service]["command"])
    (body,) = re.findall(r"<<'PY'\n(.*?)\nPY\n", script, re.S)
    compile(body, f"{service}.py", "exec")
