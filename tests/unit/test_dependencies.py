"""Dependencies are declared where the code imports them, agree between requirements.txt and pyproject.toml,
resolve cleanly (`pip check`), and no pin is one with a published advisory we know of."""

from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_CODE = [ROOT / "include" / "aeops", ROOT / "dags", ROOT / "plugins"]
TEST_CODE = [ROOT / "tests", ROOT / "bench"]
# (distribution, first fixed version, advisories): pins below the fixed version must not come back
KNOWN_ADVISORIES = [("setuptools", (78, 1, 1), "CVE-2022-40897, CVE-2024-6345, CVE-2025-47273")]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements(path: Path) -> list[str]:
    """The requirement lines of a file (hashed files: the ``name==version`` line of each block, no ``--hash``)."""
    lines = (line.split("#", 1)[0].strip().removesuffix("\\").strip()
             for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("--")]


def _hash_blocks(path: Path) -> dict[str, list[str]]:
    """``name==version`` -> its ``--hash=sha256:`` values, for every pin of a hashed requirements file."""
    blocks: dict[str, list[str]] = {}
    current = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.strip().removesuffix("\\").strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("--hash="):
            blocks[current].append(stripped.removeprefix("--hash="))
        else:
            current = stripped
            blocks[current] = []
    return blocks


def _names(requirements: list[str]) -> set[str]:
    return {_canonical(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) for r in requirements}


def _third_party_imports(folders: list[Path]) -> dict[str, str]:
    """Top-level module -> one file importing it, for modules that are neither stdlib nor ours."""
    # ours: the package, the tests, and the bench scripts that import each other (bench/stores.py: ``import sync``)
    local = {"aeops", "tests", "conftest", "bench", "slack_fixtures", "harness"}
    local |= {p.stem for p in (ROOT / "bench").glob("*.py")}
    found: dict[str, str] = {}
    for folder in folders:
        for path in folder.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in sys.stdlib_module_names and top not in local and top != "__future__":
                        found.setdefault(top, str(path.relative_to(ROOT)))
    return found


def _undeclared(imports: dict[str, str], declared: set[str]) -> dict[str, str]:
    providers = metadata.packages_distributions()
    missing = {}
    for module, where in sorted(imports.items()):
        dists = {_canonical(d) for d in providers.get(module, [])}
        if module == "airflow":  # apache-airflow and its providers share the namespace
            ok = any(name.startswith("apache-airflow") for name in declared)
        else:
            ok = bool(dists & declared)
        if not ok:
            missing[module] = f"{where} (installed by {sorted(dists) or 'nothing'})"
    return missing


def test_pip_check_finds_no_broken_requirement() -> None:
    done = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_package_the_runtime_code_imports_is_in_requirements_txt() -> None:
    declared = _names(_requirements(ROOT / "requirements.txt"))
    assert _undeclared(_third_party_imports(RUNTIME_CODE), declared) == {}


def test_every_package_the_tests_import_is_declared() -> None:
    declared = _names(_requirements(ROOT / "requirements.txt") + _requirements(ROOT / "requirements-dev.txt"))
    assert _undeclared(_third_party_imports(TEST_CODE), declared) == {}


def test_pyproject_declares_the_same_runtime_dependencies_as_requirements_txt() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = _requirements(ROOT / "requirements.txt")
    assert sorted(project["dependencies"]) == sorted(wanted), (
        "keep [project] dependencies in pyproject.toml equal to requirements.txt (same names and specifiers)")


def test_every_declared_package_is_pinned_in_constraints_txt() -> None:
    pins = _names(_requirements(ROOT / "constraints.txt"))
    declared = _names(_requirements(ROOT / "requirements.txt") + _requirements(ROOT / "requirements-dev.txt"))
    assert declared - pins == set()


def test_every_pin_of_constraints_txt_carries_the_sha256_of_its_files() -> None:
    blocks = _hash_blocks(ROOT / "constraints.txt")
    assert len(blocks) > 100
    for pin, hashes in blocks.items():
        assert re.fullmatch(r"[A-Za-z0-9._-]+==\S+", pin), pin
        assert hashes and all(re.fullmatch(r"sha256:[0-9a-f]{64}", h) for h in hashes), pin
    assert any(pin.startswith("pip==") for pin in blocks), "pip itself is pinned (make venv installs it first)"


def test_make_and_the_dockerfile_install_only_hashed_pins_and_never_upgrade_pip_unpinned() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    venv = makefile[makefile.index("$(INSTALLED):"):makefile.index("venv: $(INSTALLED)")]
    installs = re.findall(r"pip install ([^\n]*)", venv)
    assert installs and "--upgrade pip" not in venv
    for args in installs:  # the editable aeops itself has no dependencies and no hash
        assert "--require-hashes" in args or "--no-deps --no-build-isolation -e ." in args, args
    assert "--only pip" in venv and "--only opencv-python-headless" in venv


def test_no_pin_has_a_known_published_advisory() -> None:
    pins = dict(line.split("==", 1) for line in _requirements(ROOT / "constraints.txt") if "==" in line)
    pins = {_canonical(name): version for name, version in pins.items()}
    for dist, fixed, advisories in KNOWN_ADVISORIES:
        version = tuple(int(part) for part in re.findall(r"\d+", pins[dist])[:3])
        assert version >= fixed, f"{dist}=={pins[dist]} has {advisories}; pin {'.'.join(map(str, fixed))} or later"


def test_the_dockerfile_s_runtime_part_holds_airflow_and_not_the_test_tools() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "hash_constraints.py"), "select",
                           str(ROOT / "constraints.txt"), "--runtime"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    runtime = _names([line for line in done.stdout.splitlines() if "==" in line])
    assert {"apache-airflow", "pip", "defusedxml", "opencv-python-headless"} <= runtime
    assert not {"pytest", "ruff", "playwright", "mutmut"} & runtime
    assert _names(_requirements(ROOT / "requirements.txt")) <= runtime
    only = subprocess.run([sys.executable, str(ROOT / "scripts" / "hash_constraints.py"), "select",
                           str(ROOT / "constraints.txt"), "--only", "pip"], capture_output=True, text=True, timeout=60)
    assert only.stdout.startswith("pip==") and only.stdout.count("--hash=sha256:") >= 1
