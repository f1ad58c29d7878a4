"""`make mutate`: mutation testing (mutmut) of the rules, the ledger, push and the store lock.

mutmut 3 names a module after its file's path with a leading ``src/`` stripped, and puts ``mutants/src`` first
on ``sys.path``. aeops lives in ``include/``, so this runs mutmut in the scratch folder ``.mutmut/`` (not in git)
where ``src`` -> ``../include``, ``tests`` -> ``../tests`` and ``pyproject.toml`` (its ``[tool.mutmut]``: what
is mutated, which fast tests judge it) -> ``../pyproject.toml``. Then it prints killed / total per module.

    scripts/embedded-env python scripts/mutate.py                    # everything (hours on 2 cores: see below)
    scripts/embedded-env python scripts/mutate.py 'aeops.catalog.lock*'   # one module (mutmut's name patterns)
    scripts/embedded-env python scripts/mutate.py --report           # the table of the last run only

A run keeps what earlier runs found (in ``.mutmut/``): without names it runs only the mutants not run yet, with
names it runs those again. Killed mutants take about a second each; a survivor runs every fast test that reaches
its function, up to ~25 s; the eight modules hold ~4,000 mutants, so a whole run is 2-3 hours on 2 cores.

Each mutant is one small change of the code (``<`` for ``<=``, a constant, a dropped argument...); a test
that fails kills it, a survivor is a change no test noticed. docs/testing.md lists the survivors left alone
and why. Not part of CI: too slow for the 2-core runners.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutmut"
LINKS = {"src": ROOT / "include", "tests": ROOT / "tests", "pyproject.toml": ROOT / "pyproject.toml",
         "preload.txt": ROOT / "scripts" / "mutate_preload.txt"}
RESULT = re.compile(r"^\s*(?P<name>[\w.ǁ]+)__mutmut_\d+: (?P<status>.+?)\s*$")


def prepare() -> None:
    """The scratch folder with its links (a stale ``mutants/`` copy of changed sources is refreshed by mutmut)."""
    WORK.mkdir(exist_ok=True)
    for name, target in LINKS.items():
        link = WORK / name
        if link.is_symlink() and link.resolve() == target.resolve():
            continue
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(os.path.relpath(target, WORK))


def module_of(name: str) -> str:
    """``aeops.catalog.lock.x_try_acquire`` / ``aeops.store.repos.runs.xǁRunsǁrecord_export`` -> the module."""
    parts = name.split(".")
    for i in range(len(parts) - 1, -1, -1):
        if parts[i].startswith(("x_", "xǁ")):
            return ".".join(parts[:i])
    return name.rsplit(".", 1)[0]


def report() -> int:
    """Print killed / total and the survivors per module from ``mutmut results --all true``."""
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=WORK,
                         capture_output=True, text=True, check=False)
    by_module: dict[str, Counter] = defaultdict(Counter)
    survivors: dict[str, list[str]] = defaultdict(list)
    for line in out.stdout.splitlines():
        match = RESULT.match(line)
        if not match:
            continue
        module = module_of(match["name"])
        by_module[module][match["status"]] += 1
        if match["status"] in ("survived", "no tests"):
            survivors[module].append(line.strip().split(":")[0])
    if not by_module:
        print(out.stdout[-2000:] + out.stderr[-2000:])
        print("no mutmut results: run `make mutate` first")
        return 1
    print(f"{'module':32} {'killed':>7} {'total':>6} {'survived':>9} {'no tests':>9} {'timeout':>8} {'not run':>8}")
    for module in sorted(by_module):
        counts = by_module[module]
        total = sum(counts.values())
        print(f"{module:32} {counts['killed']:>7} {total:>6} {counts['survived']:>9} {counts['no tests']:>9} "
              f"{counts['timeout']:>8} {counts['not checked']:>8}")
    for module in sorted(survivors):
        print(f"\n{module}: {len(survivors[module])} not killed (`cd .mutmut && mutmut show NAME` shows one)")
        for name in survivors[module]:
            print(f"  {name}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="mutmut mutant name patterns (default: every configured module)")
    parser.add_argument("--report", action="store_true", help="only print the last run's table")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants (default 2: the cores)")
    args = parser.parse_args(argv)
    prepare()
    if not args.report:
        run = subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", str(args.max_children),
                              *args.names], cwd=WORK, check=False)
        if run.returncode not in (0, 1):
            return run.returncode
    return report()


if __name__ == "__main__":
    sys.exit(main())
