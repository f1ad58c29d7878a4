"""No secret in a tracked file: docker-compose.yaml takes every secret from .env and refuses to start without it
(``${VAR:?...}``), ``make secrets`` writes them, Redis asks for a password and Flower for a login
(docs/production.md, "Secrets")."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET|TOKEN|BASIC_AUTH|_KEY\b|REDISCLI_AUTH", re.I)
# demo-only values that guard nothing real (the local Slack sink's fake bot token): listed, so a new one is noticed
DEMO_VALUES = {"AEOPS_SLACK_SINK_TOKEN": "xoxb-embedded-demo-token"}
# secrets that were shipped once, and the kind of default people paste: none may appear in a tracked file
KNOWN = ["aeops_jwt_secret" + "_change_me", "change" + "_me", "change" + "me", "airflow" + ":airflow@",
         "choose" + "-one"]
DEFAULT_ASSIGNMENT = re.compile(  # an environment variable (upper case) given a well-known value
    r"[A-Z_]*(PASSWORD|SECRET|FERNET_KEY|JWT)[A-Z_]*\s*[:=]\s*['\"]?(?i:airflow|admin|password|secret|postgres|redis)\b")
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")


def _make_secrets():
    spec = importlib.util.spec_from_file_location("make_secrets", ROOT / "scripts" / "make_secrets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False)
    paths = [ROOT / p for p in listed.stdout.splitlines()] if listed.returncode == 0 else [
        p for p in ROOT.rglob("*") if ".git" not in p.parts and ".venv" not in p.parts]
    out = []
    for path in paths:
        if path.is_file() and path.suffix not in {".png", ".jpg", ".jpeg", ".pdf", ".xlsx", ".mo", ".ico", ".onnx"}:
            out.append(path)
    return out


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation of ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``, ``${VAR:?err}``,
    ``${VAR?err}`` and ``$$`` (raises ``ValueError(err)`` where compose refuses to start)."""
    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        value = env.get(name)
        unset_or_empty = not value if op and op.startswith(":") else value is None
        if op in (":?", "?") and unset_or_empty:
            raise ValueError(f"required variable {name} is missing a value: {arg}")
        if op in (":-", "-") and unset_or_empty:
            return arg
        return value or ""
    return REFERENCE.sub(one, text.replace("$$", "\0")).replace("\0", "$")


def _strings(node: Any, path: str = "") -> list[tuple[str, str]]:
    """(path, value) of every string of the parsed file, ``$$`` (a ``$`` left to the container's shell) removed."""
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _strings(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [item for i, value in enumerate(node) for item in _strings(value, f"{path}[{i}]")]
    return [(path, str(node).replace("$$", ""))] if node is not None else []


def test_no_tracked_file_holds_a_known_or_default_secret() -> None:
    found = []
    for path in _tracked_text_files():
        if path == Path(__file__) or path.name == "constraints.txt":
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if any(k in line.lower() for k in KNOWN) or DEFAULT_ASSIGNMENT.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert found == []


def test_every_secret_of_the_stack_comes_from_env_without_a_default(compose_text) -> None:
    compose = yaml.safe_load(compose_text)
    problems = []
    for path, value in _strings(compose):
        key = path.rsplit(".", 1)[-1]
        for match in REFERENCE.finditer(value):
            if SECRET_NAME.search(match.group(1)) and match.group(2) not in (":?", "?"):
                problems.append(f"{path}: ${{{match.group(1)}}} must be required (${{VAR:?message}}), no default")
        if SECRET_NAME.search(key) and DEMO_VALUES.get(key) != value and not REFERENCE.search(value):
            problems.append(f"{path}: a literal secret")
        for user_password in re.findall(r"://[^/@\s:]*:([^@\s]*)@", value):
            from_environment = re.fullmatch(r"\{os\.environ\['[A-Z_]+'\]\}", user_password)  # inline Python
            if not from_environment and (not REFERENCE.fullmatch(user_password) or ":?" not in user_password):
                problems.append(f"{path}: the password of a URL must be a required variable, not {user_password!r}")
    assert problems == []


def test_the_stack_refuses_to_start_without_each_secret_and_make_secrets_writes_them(compose_text, tmp_path) -> None:
    make_secrets = _make_secrets()
    required = {m.group(1) for _, value in _strings(yaml.safe_load(compose_text))
                for m in REFERENCE.finditer(value) if m.group(2) in (":?", "?")}
    assert required == set(make_secrets.REQUIRED)
    assert {"AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD", "POSTGRES_PASSWORD",
            "REDIS_PASSWORD", "FLOWER_PASSWORD"} <= required
    env_file = tmp_path / ".env"
    assert make_secrets.main(["--env-file", str(env_file)]) == 0
    env = make_secrets.read_env(env_file)
    assert env_file.stat().st_mode & 0o077 == 0, ".env readable by its owner only"
    compose = yaml.safe_load(compose_text)
    resolved = [interpolate(value, env) for _, value in _strings(compose)]  # every reference resolves
    assert env["AIRFLOW_JWT_SECRET"] in "\n".join(resolved)
    for name in sorted(required):
        with pytest.raises(ValueError, match=f"{name} is not set, run make secrets"):
            for _, value in _strings(compose):
                interpolate(value, {k: v for k, v in env.items() if k != name})


def test_make_secrets_never_overwrites_an_existing_env_and_keeps_the_old_fernet_key(tmp_path, capsys) -> None:
    make_secrets = _make_secrets()
    env_file = tmp_path / ".env"
    env_file.write_text("AIRFLOW_UID=1000\nFERNET_KEY=old-fernet-key\nPOSTGRES_PASSWORD=kept\n", encoding="utf-8")
    make_secrets.main(["--env-file", str(env_file)])
    env = make_secrets.read_env(env_file)
    assert env["AIRFLOW_FERNET_KEY"] == "old-fernet-key" and env["POSTGRES_PASSWORD"] == "kept"
    assert "added to the existing file" in capsys.readouterr().out
    before = env_file.read_text(encoding="utf-8")
    make_secrets.main(["--env-file", str(env_file)])
    assert env_file.read_text(encoding="utf-8") == before
    assert "nothing changed" in capsys.readouterr().out
    make_secrets.main(["--env-file", str(env_file), "--force"])
    assert [p.name for p in tmp_path.glob(".env.bak-*")] and "moved to" in capsys.readouterr().out
    assert make_secrets.read_env(env_file)["AIRFLOW_FERNET_KEY"] != "old-fernet-key"


def test_redis_asks_for_a_password_and_flower_for_a_login(compose_text) -> None:
    services = yaml.safe_load(compose_text)["services"]
    assert "--requirepass" in services["redis"]["command"]
    assert "${REDIS_PASSWORD:?" in services["redis"]["command"][-1]
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://:${REDIS_PASSWORD:?")
    flower = services["flower"]["environment"]["AIRFLOW__CELERY__FLOWER_BASIC_AUTH"]
    assert "${FLOWER_PASSWORD:?" in flower
    assert "AIRFLOW__CELERY__FLOWER_BASIC_AUTH" in " ".join(services["flower"]["healthcheck"]["test"])


def test_env_is_never_committed() -> None:
    for name in (".env", ".env.bak-20261206T000000Z"):
        ignored = subprocess.run(["git", "check-ignore", "-q", name], cwd=ROOT, check=False)
        assert ignored.returncode == 0, f"{name} is not git-ignored"
