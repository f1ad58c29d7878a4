"""Safe image fixes during validation: a transparent main image flattened onto white and uploaded once."""

from __future__ import annotations

import os
from pathlib import Path

from aeops.catalog.context import RunContext
from aeops.secrets import get_logger

log = get_logger(__name__)


def work_dir(ctx: RunContext) -> Path:
    """Scratch space for staged files (auto-fixed images) under AIRFLOW_HOME."""
    path = Path(os.environ.get("AIRFLOW_HOME", ".")) / "aeops-work" / ctx.store.name
    path.mkdir(parents=True, exist_ok=True)
    return path


def fix_and_upload_images(ctx: RunContext, findings, image_of_row: dict[int, str], client,
                          done: dict[str, str]) -> dict[str, str]:
    """Flatten each transparent image (a staging copy; the original is untouched) and upload it once.

    Returns source image -> photobank URL for every image fixed in this run (``done`` included)."""
    from aeops.rules.fixes import flatten_onto_white

    uploads = dict(done)
    images_dir = Path(ctx.store.images_dir) if ctx.store.images_dir else None
    staging = work_dir(ctx) / "staged-images"
    for finding in findings:
        source = image_of_row.get(finding.row) if finding.row is not None else None
        if finding.code != "IMG-TRANSPARENT" or not source or source in uploads:
            continue
        path = Path(source) if images_dir is None or Path(source).is_absolute() else images_dir / source
        try:
            staged = Path(flatten_onto_white(path, staging))
            upload = client.upload_image(staged.name, staged.read_bytes(),
                                         content_type="image/png" if staged.suffix == ".png" else "image/jpeg")
        except Exception as exc:  # noqa: BLE001 - the finding stays blocking and the log says why
            log.warning("%s: could not auto-fix %s: %s", ctx.store.name, source, exc)
            continue
        uploads[source] = upload.photobank_url
        log.info("%s: %s flattened onto white and uploaded as %s", ctx.store.name, source, upload.photobank_url)
    return uploads
