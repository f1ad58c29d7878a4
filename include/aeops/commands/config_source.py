"""Where the CLI reads and writes the ``aeops_config`` document: ``--config-file``, else the file ``AEOPS_CONFIG``
names, else the Airflow Variable ``aeops_config`` (its environment variable ``AIRFLOW_VAR_AEOPS_CONFIG`` can be
read but not written), else the built-in defaults (read only)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aeops.config import VARIABLE_NAME, AeopsConfig, parse_config
from aeops.errors import CommandError
from aeops.i18n import DEFAULT_LANGUAGE, normalize

ENV_VARIABLE = "AIRFLOW_VAR_AEOPS_CONFIG"


@dataclass
class ConfigSource:
    """The document and where it came from: ``file`` (a path), ``variable`` (the metadata DB), ``environment``
    (``AIRFLOW_VAR_AEOPS_CONFIG``) or ``defaults``."""

    kind: str
    document: dict[str, Any]
    path: Path | None = None

    @property
    def label(self) -> str:
        """Where it is, for messages: the file's path or the Variable's name."""
        return {"file": str(self.path), "variable": f"Airflow Variable {VARIABLE_NAME}",
                "environment": ENV_VARIABLE, "defaults": "built-in defaults"}[self.kind]

    def language(self, chosen: str | None = None) -> str:
        """The CLI's language: ``chosen`` (``--lang``), else ``$AEOPS_LANGUAGE``, else the first store's, else
        zh-CN."""

        stores = self.document.get("stores") or [{}]
        first = stores[0].get("language") if isinstance(stores[0], dict) else None
        return normalize(chosen or os.environ.get("AEOPS_LANGUAGE") or first or DEFAULT_LANGUAGE)

    def config(self) -> AeopsConfig:
        """The validated settings (ConfigError naming every problem)."""
        return parse_config(self.document)

    def write(self, document: dict[str, Any]) -> None:
        """Store ``document`` where it came from (a file or the Airflow Variable)."""
        text = json.dumps(document, indent=2, ensure_ascii=False)
        if self.kind == "file" and self.path is not None:
            self.path.write_text(text + "\n", encoding="utf-8")
        elif self.kind in ("variable", "defaults"):
            from airflow.models import Variable  # the metadata DB's model: the SDK's writes only from a task

            Variable.set(VARIABLE_NAME, text,  # noqa: AIR311
                         description="aeops settings (docs/design.md; README 'Configuration')")
        else:
            raise CommandError(f"aeops_config comes from the environment variable {ENV_VARIABLE}: change it there, "
                               "or give --config-file FILE")
        self.document = document


def _airflow_variable() -> str | None:
    try:
        from airflow.models import Variable  # the metadata DB's model, like the airflow CLI

        return Variable.get(VARIABLE_NAME, default_var=None)  # noqa: AIR311
    except Exception:  # noqa: BLE001 - no Airflow metadata DB here: the defaults
        return None


def operator_context() -> None:
    """Let Airflow's SDK read connections and Variables from the metadata DB too (as the ``airflow`` CLI and the
    scheduler do), not only from the environment: the operator's commands run where the metadata DB is."""
    os.environ.setdefault("_AIRFLOW_PROCESS_CONTEXT", "server")


def load_source(config_file: str | None = None) -> ConfigSource:
    """The ``aeops_config`` document the CLI works on (see the module doc)."""
    operator_context()
    path_text = config_file or (os.environ.get("AEOPS_CONFIG", "").strip() or None)
    if path_text and not path_text.startswith("{"):
        path = Path(path_text)
        if not path.is_file():
            raise CommandError(f"{path} is not a file (aeops_config)")
        return ConfigSource("file", _json(path.read_text(encoding="utf-8"), str(path)), path)
    if path_text:
        return ConfigSource("environment", _json(path_text, "AEOPS_CONFIG"))
    if os.environ.get(ENV_VARIABLE):
        return ConfigSource("environment", _json(os.environ[ENV_VARIABLE], ENV_VARIABLE))
    raw = _airflow_variable()
    if raw:
        return ConfigSource("variable", _json(raw, f"Variable {VARIABLE_NAME}"))
    return ConfigSource("defaults", AeopsConfig().model_dump(mode="json", exclude_defaults=True) | {
        "stores": [{"name": s.name} for s in AeopsConfig().stores]})


def _json(text: str, where: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{where} is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise CommandError(f"{where} is not a JSON object")
    return document
