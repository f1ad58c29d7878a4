"""Every module or attribute the package's docstrings and the docs name exists: dotted names (``aeops.x.y``) and
Sphinx roles (``:mod:``, ``:func:``, ``:class:``, ``:meth:``, ``:attr:``, ``:data:``, ``:exc:``) in every module
of include/aeops, and dotted names and ``include/aeops/...py`` paths in README.md and docs/*.md.

A newcomer follows these names to read the code: a name left behind by a move or a rename sends them nowhere."""

from __future__ import annotations

import ast
import importlib
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "include" / "aeops"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

DOTTED = re.compile(r"(?<![\w./-])aeops(?:\.[A-Za-z_]\w*)+")
ROLE = re.compile(r":(mod|func|class|meth|attr|data|exc|obj):`~?([^`<>]+?)`")
PATH = re.compile(r"(?<![\w/])(?:include/)?aeops/((?:[a-z_]+/)*[a-z_]+\.py)\b")
# names that look dotted but are files, not modules
NOT_MODULES = {"aeops.db", "aeops.po", "aeops.mo", "aeops.pot", "aeops.log", "aeops.py"}
FENCED = re.compile(r"^```.*?^```", re.S | re.M)
MUTANT = re.compile(r"\.x_")  # mutmut's names of mutated functions (docs/testing.md), not module attributes


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(name: str, context: str | None = None) -> bool:
    """Whether ``name`` (absolute ``aeops...``, relative ``.x`` / ``..x`` or bare ``x`` in module ``context``) names
    something that exists."""
    name = name.strip().removesuffix("()")
    if name.startswith("."):
        if context is None:
            return False
        ups = len(name) - len(name.lstrip("."))
        is_package = (PACKAGE.parent / Path(*context.split(".")) / "__init__.py").exists()
        package = context if is_package else context.rsplit(".", 1)[0]
        for _ in range(ups - 1):
            package = package.rsplit(".", 1)[0]
        return _exists(f"{package}.{name.lstrip('.')}")
    if name.startswith("aeops"):
        return _exists(name)
    if context is None:
        return _exists(name)
    if _exists(f"{context}.{name}") or _exists(name):
        return True
    # a bare method or attribute name in a class's docstring: one of the module's classes has it
    module = importlib.import_module(context)
    return any(isinstance(obj, type) and obj.__module__ == context and _exists(f"{context}.{attr}.{name}")
               for attr, obj in vars(module).items())


def _exists(dotted: str) -> bool:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            if hasattr(obj, attr):
                obj = getattr(obj, attr)
                continue
            annotations = getattr(obj, "__annotations__", {}) if isinstance(obj, type) else {}
            fields = getattr(obj, "model_fields", {}) if isinstance(obj, type) else {}
            if attr in annotations or attr in fields:  # a dataclass/pydantic field without a class default
                obj = None
                continue
            return False
        return True
    return False


def _docstrings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                found.append(doc)
    return found


def package_references() -> list[tuple[str, str, str]]:
    """(module, the name as written, its context) for every reference in the package's docstrings."""
    refs = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        module = _module_name(path)
        for doc in _docstrings(path):
            refs += [(module, m.group(0), module) for m in DOTTED.finditer(doc) if m.group(0) not in NOT_MODULES]
            refs += [(module, m.group(2), module) for m in ROLE.finditer(doc)]
    return refs


def docs_references() -> list[tuple[str, str]]:
    refs = []
    for doc in DOCS:
        text = FENCED.sub("", doc.read_text())  # code blocks quote output of their time (old module names)
        refs += [(doc.name, m.group(0)) for m in DOTTED.finditer(text)
                 if m.group(0) not in NOT_MODULES and not MUTANT.search(m.group(0))]
        refs += [(doc.name, m.group(2)) for m in ROLE.finditer(text)]
        refs += [(doc.name, f"path:{m.group(1)}") for m in PATH.finditer(text)]
    return refs


def test_every_name_in_the_package_docstrings_exists() -> None:
    missing = sorted({f"{module}: {name}" for module, name, context in package_references()
                      if not resolve(name, context)})
    assert not missing, "docstrings name what does not exist:\n" + "\n".join(missing)


def test_every_module_name_and_path_in_the_docs_exists() -> None:
    missing = []
    for doc, name in docs_references():
        if name.startswith("path:"):
            if not (PACKAGE / name[5:]).exists():
                missing.append(f"{doc}: include/aeops/{name[5:]}")
        elif not resolve(name):
            missing.append(f"{doc}: {name}")
    assert not missing, "docs name what does not exist:\n" + "\n".join(sorted(set(missing)))


@pytest.mark.parametrize(("name", "context", "exists"), [
    ("aeops.store.ledger.Ledger", None, True),
    ("aeops.store.ledger.Nothing", None, False),
    ("aeops.compliance.replace", None, False),
    (".registry", "aeops.certificates.watch", True),
    (".escalation", "aeops.certificates.watch", False),
    ("resolve", "tests.unit.test_doc_references", True),
])
def test_the_resolver_tells_a_name_that_exists_from_one_that_does_not(name: str, context: str | None,
                                                                      exists: bool) -> None:
    assert resolve(name, context) is exists
