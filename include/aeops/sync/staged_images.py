"""Safe image fixes during validation: a transparent main image flattened onto white into a staged copy.

The copy is uploaded to the photobank only when the plan sends that product a main-image edit (push time):
validating an export never uploads anything, so re-running a sync of an unchanged export costs no upload.
"""

from __future__ import annotations

import os
from pathlib import Path

from aeops.catalog.context import RunContext
from aeops.rules.fixes import flatten_onto_white
from aeops.secrets import get_logger

log = get_logger(__name__)


def work_dir(ctx: RunContext) -> Path:
    """Scratch space for staged files (auto-fixed images) under AIRFLOW_HOME."""
    path = Path(os.environ.get("AIRFLOW_HOME", ".")) / "aeops-work" / ctx.store.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def stage_fixed_images(ctx: RunContext, findings, image_of_row: dict[int, str], done: dict[str, str]
                       ) -> dict[str, str]:
    """Flatten each transparent image onto white into a staging copy (the original is untouched).

    Returns source image -> staged file for every image fixed (``done``: staged earlier in this run)."""

    staged = {source: path for source, path in done.items() if Path(path).is_file()}
    images_dir = Path(ctx.store.images_dir) if ctx.store.images_dir else None
    staging = work_dir(ctx) / "staged-images"
    for finding in findings:
        source = image_of_row.get(finding.row) if finding.row is not None else None
        if finding.code != "IMG-TRANSPARENT" or not source or source in staged:
            continue
        path = Path(source) if images_dir is None or Path(source).is_absolute() else images_dir / source
        try:
            staged[source] = str(flatten_onto_white(path, staging))
        except Exception as exc:  # noqa: BLE001 - the finding stays blocking and the log says why
            log.warning("%s: could not auto-fix %s: %s", ctx.store.name, source, exc)
            continue
        log.info("%s: %s flattened onto white into %s (uploaded if the product's main image changes)",
                 ctx.store.name, source, staged[source])
    return staged
