"""Validate one export: read it (:mod:`aeops.exports`), run the row, image and certificate rules (:mod:`aeops.rules`).

The image and certificate rules live in :mod:`aeops.rules.images` and :mod:`aeops.rules.certs`; they are
imported only when needed so the row rules work on their own (and the CLI starts fast). The daily sync, the
urgent re-run and ``aeops validate`` all validate through :func:`validate_export`.
"""

from __future__ import annotations

import importlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date
from types import ModuleType
from typing import Any

import pandas as pd

from aeops.config import AeopsConfig, StoreConfig
from aeops.exports import ExportData, read_export
from aeops.findings import Finding
from aeops.rules.rows import RowRules, blocked_rows, check_rows
from aeops.secrets import get_logger

log = get_logger(__name__)


@dataclass
class ValidationResult:
    """The outcome of validating one export.

    ``valid_rows`` holds the file row numbers (header = row 1) that no blocking finding points at; those
    rows may be pushed. ``checked`` is False when a FILE-* finding stopped the check (nothing may be pushed).
    """

    export: ExportData
    findings: list[Finding]
    valid_rows: frozenset[int]
    certificates: list[Any] = field(default_factory=list)

    @property
    def path(self) -> str:
        """The export's path or URL."""
        return self.export.path

    @property
    def frame(self) -> pd.DataFrame:
        """The export's rows as read."""
        return self.export.frame

    @property
    def checked(self) -> bool:
        """Whether the export could be read at all (False: only FILE-* findings)."""
        return self.export.readable

    @property
    def valid_frame(self) -> pd.DataFrame:
        """The rows that may be pushed (same columns as ``frame``)."""
        return self.frame[self.frame["row"].isin(self.valid_rows)]

    @property
    def blocking(self) -> bool:
        """True when a finding blocks a row or a file (CLI exit 1), or the file could not be checked."""
        return not self.checked or any(f.blocking for f in self.findings)

    def summary(self) -> dict[str, Any]:
        """Counts for reports and ``--json``: rows, valid/blocked rows, errors, warnings, per code."""
        rows = int(len(self.frame))
        errors = sum(1 for f in self.findings if f.blocking)
        return {
            "export": self.export.path,
            "sha256": self.export.sha256,
            "checked": self.checked,
            "rows": rows,
            "valid_rows": len(self.valid_rows),
            "blocked_rows": rows - len(self.valid_rows),
            "findings": len(self.findings),
            "errors": errors,
            "warnings": len(self.findings) - errors,
            "by_code": dict(sorted(Counter(f.code for f in self.findings).items())),
        }


def optional_rules(module: str) -> ModuleType | None:
    """``aeops.rules.<module>`` when it is installed, else None (logged); other import errors propagate."""
    name = f"aeops.rules.{module}"
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        log.warning("%s is not available; its checks are skipped", name)
        return None


def _store(config: AeopsConfig, store: StoreConfig | str | None) -> StoreConfig:
    if isinstance(store, StoreConfig):
        return store
    return config.store(store) if store else config.stores[0]


def validate_export(
    location: str,
    *,
    images_dir: str | None = None,
    certs_dir: str | None = None,
    as_of: date | None = None,
    config: AeopsConfig | None = None,
    store: StoreConfig | str | None = None,
    known_freight_templates: Iterable[str | int] | None = None,
    check_images: bool = True,
    registered_certificates: Iterable[Any] = (),
) -> ValidationResult:
    """Read and check the export at ``location``; never raises for a bad file (see FILE-* findings).

    ``images_dir`` resolves relative ``main_image`` paths; ``certs_dir`` enables the certificate rules
    (CERT-* on the files, CERT-MISSING on rows whose category needs a certificate their brand lacks);
    ``known_freight_templates`` (from the marketplace, cached by the caller) enables FREIGHT-TEMPLATE-UNKNOWN.
    Category settings come from ``store`` (a StoreConfig, a store name, or the first configured store).
    ``registered_certificates`` (``CertInfo`` from the certificate watch's registry) count for CERT-MISSING
    together with the files found in ``certs_dir``.
    """
    config = config or AeopsConfig()
    store_config = _store(config, store)
    as_of = as_of or date.today()
    export = read_export(location)
    if not export.readable:
        return ValidationResult(export=export, findings=list(export.findings), valid_rows=frozenset())
    templates = None if known_freight_templates is None else frozenset(str(t) for t in known_freight_templates)
    rules = RowRules(sku_allowed_chars=config.sku_allowed_chars, known_freight_templates=templates)
    findings = list(export.findings) + check_rows(
        export.table, file=location, rules=rules
    )
    log.info("row rules: %d findings on %d rows of %s", len(findings), len(export.frame), location)
    if check_images and (images := optional_rules("images")) is not None:
        image_findings = images.check_images(export.frame, images_dir, config, store_config.apparel_categories)
        log.info("image rules: %d findings", len(image_findings))
        findings += [replace(f, file=location) if f.file is None and f.row is not None else f
                     for f in image_findings]
    certificates: list[Any] = []
    if certs_dir and (certs := optional_rules("certs")) is not None:
        certificates, cert_findings = certs.scan_certificates(certs_dir, as_of)
        known = list(certificates) + list(registered_certificates)
        missing = certs.cert_missing(export.frame, known, store_config.category_certs, as_of)
        log.info("certificate rules: %d file findings, %d rows without a needed certificate",
                 len(cert_findings), len(missing))
        findings += list(cert_findings)
        findings += [replace(f, file=location) if f.file is None and f.row is not None else f for f in missing]
    all_rows = set(int(r) for r in export.frame["row"])
    valid = frozenset(all_rows - blocked_rows(findings))
    return ValidationResult(export=export, findings=findings, valid_rows=valid, certificates=certificates)
