"""Parse time of each DAG file as a ratio against an empty DAG file parsed in the same run (goal: <= 1.5x).

Each measurement is a fresh Python process that loads the file with a DagBag, as Airflow's best-practice
"DAG loader test" does (``time python dag.py``): what a DAG file costs is Airflow's own import plus the file's
imports and top-level code, so a heavy top-level import (pandas, polars, an API call) shows up in the ratio.
The extra milliseconds over the empty DAG are printed too, and the warm in-process parse time (a DagBag
re-reading the file in a process that has already imported everything, as the DAG processor re-parses).

    make bench            # or: scripts/embedded-env python bench/dag_parse.py
    scripts/embedded-env python bench/dag_parse.py --stores 20 [--only aliexpress_catalog_sync]

``--stores N`` parses with an ``aeops_config`` of N stores (``AIRFLOW_VAR_AEOPS_CONFIG``, read like Airflow's
cached Variable read), so every per-store DAG file makes N + 1 DAGs: the goal holds with 20 stores.
"""

from __future__ import annotations

import argparse
import json
import os
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


def stores_config(n: int) -> str:
    """An ``aeops_config`` of ``n`` stores in a few time zones (the DAG files only read names and schedules)."""
    zones = ["Asia/Shanghai", "Europe/Madrid", "America/Sao_Paulo", "Europe/Moscow"]
    return json.dumps({"stores": [{"name": f"store-{i:02d}", "timezone": zones[i % len(zones)],
                                   "conn_id": f"aliexpress_store_{i:02d}"} for i in range(n)]})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=None, help="parse with an aeops_config of N stores")
    parser.add_argument("--only", action="append", default=[], help="only this DAG file (stem; repeatable)")
    args = parser.parse_args(argv)
    if args.stores:
        os.environ["AIRFLOW_VAR_AEOPS_CONFIG"] = stores_config(args.stores)
    dags_dir = Path(__file__).resolve().parents[1] / "dags"
    files = sorted(p for p in dags_dir.glob("*.py") if not p.name.startswith("_")
                   and (not args.only or p.stem in args.only))
    with tempfile.TemporaryDirectory() as tmp:
        empty = Path(tmp) / "empty_dag.py"
        empty.write_text(EMPTY_DAG)
        baseline = cold_seconds(empty)
        warm_seconds(empty)
        warm_baseline = warm_seconds(empty)
    if args.stores:
        print(f"aeops_config with {args.stores} stores: each per-store job's file makes {args.stores + 1} DAGs")
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
