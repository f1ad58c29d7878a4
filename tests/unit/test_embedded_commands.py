"""``python -m aeops.embedded``, as ``make run`` and ``make setup`` call it: run as a script, not only imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_seeding_the_simulator_as_make_run_does_seeds_every_demo_store(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "home")}
    done = subprocess.run([sys.executable, "-m", "aeops.embedded", "seed-simulator", str(tmp_path / "sim.json")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seeded = {line.split()[-1] for line in done.stdout.splitlines() if line.startswith("simulator: seeded")}
    assert seeded >= {"demo", "demo-kids", "demo-3"}, done.stdout
    assert list((tmp_path / "home" / "spare-exports" / "demo-3").glob("*.csv"))  # the spare seller's own export
