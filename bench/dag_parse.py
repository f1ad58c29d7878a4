"""Parse time of each DAG file as a ratio against an empty DAG file parsed in the same run (goal: <= 1.5x).

Each measurement is a fresh Python process that loads the file with a DagBag, as Airflow's best-practice
"DAG loader test" does (``time python dag.py``): what a DAG file costs is Airflow's own import plus the file's
imports and top-level code, so a heavy top-level import (pandas, polars, an API call) shows up in the ratio.
The extra milliseconds over the empty DAG are printed too, and the warm in-process parse time (a DagBag
re-reading the file in a process that has already imported everything, as the DAG processor re-parses).

    make bench            # or: scripts/embedded-env python bench/dag_parse.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPEAT = 5
GOAL = 1.5
EMPTY_DAG = '''
import pendulum
from airflow.sdk import dag


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["bench"])
def empty_dag():
    pass


empty_dag()
'''
COLD = """
import sys, time
start = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=sys.argv[1], safe_mode=False)
elapsed = time.perf_counter() - start
if bag.import_errors or not bag.dags:
    raise SystemExit(f"cannot parse {sys.argv[1]}: {bag.import_errors}")
print(elapsed)
"""


def cold_seconds(path: Path) -> float:
    """Median wall time of a fresh process importing Airflow and parsing ``path``."""
    samples = []
    for _ in range(REPEAT):
        out = subprocess.run([sys.executable, "-c", COLD, str(path)], capture_output=True, text=True, check=True)
        samples.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(samples)


def warm_seconds(path: Path) -> float:
    from airflow.dag_processing.dagbag import DagBag

    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        DagBag(dag_folder=str(path), safe_mode=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    dags_dir = Path(__file__).resolve().parents[1] / "dags"
    files = sorted(p for p in dags_dir.glob("*.py") if not p.name.startswith("_"))
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty_dag.py"
        empty.write_text(EMPTY_DAG)
        baseline = cold_seconds(empty)
        warm_seconds(empty)
        warm_baseline = warm_seconds(empty)
    print(f"{'DAG file':<34} {'cold ms':>8} {'ratio':>6} {'extra ms':>9} {'warm ms':>8}   goal: ratio <= {GOAL}x")
    print(f"{'(empty DAG, same run)':<34} {baseline * 1000:>8.0f} {1.0:>6.2f} {0:>9.0f} {warm_baseline * 1000:>8.1f}")
    worst = 0.0
    for path in files:
        cold, warm = cold_seconds(path), warm_seconds(path)
        ratio = cold / baseline
        worst = max(worst, ratio)
        print(f"{path.name:<34} {cold * 1000:>8.0f} {ratio:>6.2f} {(cold - baseline) * 1000:>9.0f} {warm * 1000:>8.1f}"
              f"   {'ok' if ratio <= GOAL else 'OVER GOAL'}")
    print(f"worst ratio {worst:.2f}x (goal <= {GOAL}x); cold = fresh process incl. Airflow's import, "
          f"median of {REPEAT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
