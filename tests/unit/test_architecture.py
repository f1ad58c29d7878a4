"""The package's shape (docs/architecture.md): the layer contract holds, SQL lives only in ``aeops.store``, no module
outgrows 600 lines, no part of ``aeops`` imports a DAG file, and no two modules share a base name."""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "aeops"
MAX_LINES = 600
# the names a part may use for its own errors, data models and web app (aeops.errors, aeops.marketplace.errors, ...)
CONVENTIONAL = {"errors.py", "models.py", "app.py"}


def test_the_layer_and_persistence_contracts_are_kept_counting_imports_inside_functions() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 kept, 0 broken" in done.stdout


def test_only_the_store_reaches_the_aeops_db() -> None:
    """One persistence path: outside ``aeops/store/`` no module names SQLAlchemy (not even in a lazy import or a
    string) nor opens a session or transaction itself; it calls a repository of the ledger
    (:mod:`aeops.store.repos`). A second guard beside the import-linter contract, which sees imports only."""
    reaching = re.compile(r"sqlalchemy|session_scope|\.transaction\(\)|\.session\(\)")
    found = {f"{p.relative_to(PACKAGE)}:{n}": line.strip()
             for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).parts[0] != "store"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if reaching.search(line)}
    assert found == {}, "move the SQL into a repository of aeops.store.repos"


def test_every_part_of_the_package_has_a_layer() -> None:
    """A part missing from the contract's layers would escape it: every top-level module and package is named."""
    import tomllib

    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    layered = {name.strip().removeprefix("aeops.") for contract in contracts["contracts"]
               for layer in contract.get("layers", []) for name in layer.split("|")}
    parts = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    parts |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert parts - layered == set(), "add these to a layer in pyproject.toml [tool.importlinter]"


def test_no_module_of_the_package_is_over_600_lines() -> None:
    sizes = {str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines())
             for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts}
    assert sizes, "no modules found"
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def _imported_top_names(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_the_package_never_imports_the_dag_files() -> None:
    dag_modules = {p.stem for p in (ROOT / "dags").glob("*.py")} | {"dags"}
    offenders = {str(p.relative_to(PACKAGE)): sorted(_imported_top_names(p) & dag_modules)
                 for p in PACKAGE.rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_module_logs_through_the_redacting_logger() -> None:
    direct = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                    if "logging.getLogger(__name__)" in p.read_text(encoding="utf-8") and p.name != "secrets.py")
    assert direct == [], "use aeops.secrets.get_logger(__name__) so log lines are redacted"


def _subcommands() -> dict[str, str]:
    """``aeops`` subcommand -> the module that runs it (from the CLI's own parser)."""
    from aeops.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: p.get_default("func").__qualname__.rsplit(".", 1)[0] for name, p in sub.choices.items()}


def test_each_subcommand_runs_the_commands_module_named_after_it() -> None:
    """``aeops slack-sink`` runs ``aeops.commands.slack_sink``: a newcomer finds a subcommand's code by its name."""
    handlers = _subcommands()
    assert {"validate", "certs", "logo", "db", "lock"} <= set(handlers)
    assert handlers == {name: f"aeops.commands.{name.replace('-', '_')}" for name in handlers}


def test_no_two_modules_share_a_base_name() -> None:
    """One name, one module: ``images``, ``checks`` or ``lock`` in two parts makes a reader guess which is meant.
    Allowed: a part's conventional ``errors.py``, ``models.py`` and ``app.py``, and the ``commands/`` module named
    after its subcommand (``commands/db.py`` runs ``aeops db``; ``store/db.py`` is the database)."""
    subcommand_modules = {f"commands/{module.rsplit('.', 1)[1]}.py" for module in _subcommands().values()}
    where: dict[str, list[str]] = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if "migrations" in rel.parts or path.name == "__init__.py" or path.name in CONVENTIONAL:
            continue
        if rel.as_posix() in subcommand_modules:
            continue
        where[path.name].append(rel.as_posix())
    assert len(where) > 100, "no modules found"
    assert {name: sorted(paths) for name, paths in where.items() if len(paths) > 1} == {}


def _lazy_imports(path: Path) -> list[tuple[int, str]]:
    """The imports inside functions of a module (not those under ``if TYPE_CHECKING`` or in a ``try``: optional)."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            test = getattr(child, "test", None)
            if isinstance(child, ast.If) and getattr(test, "id", getattr(test, "attr", "")) == "TYPE_CHECKING":
                continue
            if isinstance(child, ast.Try):
                continue
            if isinstance(child, ast.Import | ast.ImportFrom) and in_function:
                found.append((child.lineno, ast.unparse(child)))
            visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

    visit(ast.parse(path.read_text(encoding="utf-8")), False)
    return found


def test_every_import_inside_a_function_says_why_it_is_lazy() -> None:
    """aeops' own modules are imported at the top of a module, so its dependencies read in one place; an import
    inside a function (a heavy library kept out of DAG parsing and CLI start-up, or a cycle) says why on its line
    (``# lazy: ...``)."""
    silent = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines = path.read_text(encoding="utf-8").splitlines()
        for lineno, statement in _lazy_imports(path):
            if "#" not in lines[lineno - 1]:
                silent[f"{path.relative_to(PACKAGE)}:{lineno}"] = statement
    assert silent == {}, "import these at the module's top, or say on the line why they must wait"
