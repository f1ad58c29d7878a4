"""Parse time of each DAG file as a ratio against an empty DAG file parsed in the same run (goal: <= 1.5x).

Each file is parsed REPEAT times by a fresh DagBag (a fresh module import each time) after Airflow itself is
imported, so the ratio shows what the DAG file adds: its own imports and top-level code.

    make bench            # or: scripts/embedded-env python bench/dag_parse.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPEAT = 7
GOAL = 1.5
EMPTY_DAG = '''
import pendulum
from airflow.sdk import dag


@dag(schedule=None, start_date=pendulum.datetime(2026, 1, 1, tz="UTC"), catchup=False, tags=["bench"])
def empty_dag():
    pass


empty_dag()
'''


def parse_seconds(path: Path) -> float:
    from airflow.dag_processing.dagbag import DagBag

    samples = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        bag = DagBag(dag_folder=str(path), safe_mode=False)
        samples.append(time.perf_counter() - start)
        if bag.import_errors:
            raise SystemExit(f"import error in {path}: {bag.import_errors}")
    return statistics.median(samples)


def main() -> int:
    import airflow.sdk  # noqa: F401  - warm: Airflow's own import cost is the same for every file

    dags_dir = Path(__file__).resolve().parents[1] / "dags"
    files = sorted(p for p in dags_dir.glob("*.py") if not p.name.startswith("_"))
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty_dag.py"
        empty.write_text(EMPTY_DAG)
        parse_seconds(empty)  # warm-up
        baseline = parse_seconds(empty)
    print(f"{'DAG file':<32} {'parse ms':>9} {'ratio vs empty':>15}  goal <= {GOAL}x")
    print(f"{'(empty DAG baseline)':<32} {baseline * 1000:>9.1f} {1.0:>15.2f}")
    worst = 0.0
    for path in files:
        seconds = parse_seconds(path)
        ratio = seconds / baseline
        worst = max(worst, ratio)
        print(f"{path.name:<32} {seconds * 1000:>9.1f} {ratio:>15.2f}  {'ok' if ratio <= GOAL else 'OVER GOAL'}")
    print(f"worst ratio {worst:.2f}x (goal <= {GOAL}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
