#!/usr/bin/env python3
"""Hashed constraints: write constraints.txt with a sha256 of every file of every pinned release, and pick parts
of it for ``pip install --require-hashes`` (``select`` is stdlib only: it runs before anything is installed;
``write`` also uses ``packaging``, pip's own copy when the venv has none).

    hash_constraints.py write FREEZE [--requirements requirements.txt] [--index URL] > constraints.txt
        FREEZE: ``pip freeze --all --exclude-editable`` of a venv holding requirements*.txt (make constraints).
        Run it with THAT venv's python: the runtime part (requirements.txt and everything it needs, read from the
        installed packages' metadata) is written first, the development-only part after it. The hashes are
        every file PyPI holds for the pinned release (all wheels and the sdist), from the simple index's JSON
        (PEP 691), so the same file installs on any platform.
    hash_constraints.py select constraints.txt [--runtime] [--only NAME ...]
        Print the chosen releases with their hashes, as a requirements file: ``--runtime`` the runtime part (the
        Dockerfile), ``--only pip`` one release (pip itself, the opencv-python-headless re-install of make venv).

Why: ``pip install --require-hashes -r constraints.txt`` refuses any file whose hash is not listed, so a
tampered or re-uploaded release on an index cannot reach the venv or the image (docs/production.md).
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
import json
import re
import sys
import urllib.request
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

try:  # only ``write`` needs packaging (the scratch venv of make constraints has it; else pip's vendored copy)
    from packaging.requirements import Requirement
    from packaging.utils import parse_sdist_filename, parse_wheel_filename
    from packaging.version import Version
except ImportError:  # pragma: no cover - a bare venv
    try:
        from pip._vendor.packaging.requirements import Requirement
        from pip._vendor.packaging.utils import parse_sdist_filename, parse_wheel_filename
        from pip._vendor.packaging.version import Version
    except ImportError:
        Requirement = parse_sdist_filename = parse_wheel_filename = Version = None  # type: ignore[assignment,misc]

RUNTIME = "# [runtime] requirements.txt and everything it needs (the Dockerfile installs only this part)"
DEV = "# [development] requirements-dev.txt and what it needs beyond the runtime part (make venv installs both)"
PIP = "# [installer] pip itself, installed first and pinned (never upgraded unpinned)"
DEFAULT_INDEX = "https://pypi.org/simple"


def canonicalize_name(name: str) -> str:
    """PEP 503's normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins(path: Path) -> dict[str, tuple[str, str]]:
    """canonical name -> (name as written, version) of every ``name==version`` line."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line.strip())
        if match:
            pins[canonicalize_name(match.group(1))] = (match.group(1), match.group(2))
    return pins


def _requirement_names(path: Path) -> list[str]:
    names = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.append(line)
    return names


def runtime_closure(requirements: Iterable[str]) -> set[str]:
    """Canonical names of the requirements and everything they need, from the installed distributions' metadata
    (markers evaluated for this interpreter, extras followed)."""
    seen: set[str] = set()
    todo = [(Requirement(r), ()) for r in requirements]
    while todo:
        req, _ = todo.pop()
        name = canonicalize_name(req.name)
        key = name + "[" + ",".join(sorted(req.extras)) + "]"
        if key in seen:
            continue
        seen.add(key)
        seen.add(name)
        try:
            requires = metadata.requires(req.name) or []
        except metadata.PackageNotFoundError:
            continue
        for text in requires:
            dep = Requirement(text)
            extras = req.extras or {""}
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras):
                todo.append((dep, ()))
    return {n for n in seen if "[" not in n}


def release_hashes(name: str, version: str, index: str = DEFAULT_INDEX) -> list[str]:
    """sha256 of every file of ``name==version`` on the index (PEP 691 JSON), sorted."""
    request = urllib.request.Request(f"{index.rstrip('/')}/{canonicalize_name(name)}/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - the package index, https
        files = json.load(answer)["files"]
    wanted = Version(version)
    hashes = set()
    for f in files:
        filename = f["filename"]
        try:
            if filename.endswith(".whl"):
                file_version = parse_wheel_filename(filename)[1]
            elif filename.endswith((".tar.gz", ".zip")):
                file_version = parse_sdist_filename(filename)[1]
            else:
                continue
        except ValueError:
            continue
        if file_version == wanted and "sha256" in f.get("hashes", {}):
            hashes.add(f["hashes"]["sha256"])
    if not hashes:
        raise SystemExit(f"hash_constraints: no file of {name}=={version} on {index}")
    return sorted(hashes)


def _block(name: str, version: str, hashes: list[str]) -> str:
    return " \\\n".join([f"{name}=={version}", *(f"    --hash=sha256:{h}" for h in hashes)])


def write(freeze: Path, requirements: Path, index: str, header: list[str]) -> str:
    """The hashed constraints.txt text for the pins of ``freeze``."""
    pins = _pins(freeze)
    runtime = runtime_closure(_requirement_names(requirements))
    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = dict(zip(pins, pool.map(lambda k: release_hashes(*pins[k], index=index), pins), strict=True))
    out = list(header)
    for title, keys in ((PIP, [k for k in pins if k == "pip"]),
                        (RUNTIME, [k for k in pins if k in runtime and k != "pip"]),
                        (DEV, [k for k in pins if k not in runtime and k != "pip"])):
        out.append(title)
        out.extend(_block(*pins[k], hashes[k]) for k in sorted(keys))
    return "\n".join(out) + "\n"


def select(constraints: Path, runtime_only: bool, only: list[str]) -> str:
    """The blocks of ``constraints`` that were asked for, as a requirements file."""
    wanted = {canonicalize_name(n) for n in only}
    section = ""
    blocks: list[tuple[str, str, list[str]]] = []  # (section, canonical name, lines)
    for line in constraints.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ["):
            section = line
        elif line.startswith("#") or not line.strip():
            continue
        elif line.startswith(" ") and blocks:
            blocks[-1][2].append(line)
        else:
            blocks.append((section, canonicalize_name(re.split(r"[=<>!~ ;\\]", line, maxsplit=1)[0]), [line]))
    chosen = [b for b in blocks if (not wanted or b[1] in wanted) and (not runtime_only or b[0] in (RUNTIME, PIP))]
    missing = wanted - {b[1] for b in chosen}
    if missing:
        raise SystemExit(f"hash_constraints: not in {constraints}: {', '.join(sorted(missing))}")
    return "".join("\n".join(lines) + "\n" for _, _, lines in chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("write", help="write hashed constraints (stdout) from a pip freeze file")
    w.add_argument("freeze", type=Path)
    w.add_argument("--requirements", type=Path, default=Path("requirements.txt"))
    w.add_argument("--index", default=DEFAULT_INDEX, help=f"a PEP 691 simple index (default {DEFAULT_INDEX})")
    w.add_argument("--header", action="append", default=[], help="a comment line to put first (repeatable)")
    s = commands.add_parser("select", help="print some releases of a hashed constraints file")
    s.add_argument("constraints", type=Path)
    s.add_argument("--runtime", action="store_true", help="only the runtime part (and pip)")
    s.add_argument("--only", nargs="+", default=[], metavar="NAME", help="only these releases")
    args = parser.parse_args(argv)
    if args.command == "write":
        sys.stdout.write(write(args.freeze, args.requirements, args.index, [f"# {h}" for h in args.header]))
    else:
        sys.stdout.write(select(args.constraints, args.runtime, args.only))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
