"""A realistic finished daily-sync run in an aeops DB, for report, health-page and browser tests.

The findings come from the real rules run over the sample export (every finding code, images included); the
transparent PNG is recorded as auto-fixed the way ``aeops.sync.validate`` records it; forty products are
updated (most verified, some not seen, a few refused by the platform) and an urgent re-run, a strike, a
certificate and Slack outbox rows exist, so every section of the pages has something to show.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from aeops.catalog.diff import PlannedChange
from aeops.certificates.alert_listing import write_listing
from aeops.certificates.covered import CoveredProduct
from aeops.config import StoreConfig
from aeops.reports.run_report import write_run_report
from aeops.rules.images import auto_fixed
from aeops.store.ledger import Ledger
from aeops.store.models import Certificate, SiteStrike, SlackOutbox, VerifyResult
from aeops.store.status import ChangeStatus

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "include" / "sample"
DAG_ID = "aliexpress_catalog_sync"
PHOTOBANK = "https://ae01.alicdn.com/kf/Sfixed{n}.png"


def store_config(name: str, reports: Path, language: str = "zh-CN", **extra: Any) -> StoreConfig:
    return StoreConfig(name=name, language=language, timezone="Asia/Shanghai", images_dir=str(SAMPLE / "images"),
                       certs=str(SAMPLE / "certs"), exports=str(SAMPLE / "exports" / name),
                       reports=str(reports), storefront_url="http://127.0.0.1:8765/store/en/item/{product_id}.html",
                       **extra)


def seed_sync_run(ledger: Ledger, store: StoreConfig, run_id: str, *, started: datetime | None = None,
                  write_report: bool = True, dag_id: str = DAG_ID) -> int:
    """One finished daily sync of ``store`` (a run of ``dag_id``) with findings, changes and verification; its report
    written."""
    from aeops.catalog.validation import validate_export

    started = started or datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    sync_run_id = ledger.runs.start(store.name, dag_id, run_id)
    export = next(iter(sorted((SAMPLE / "exports" / store.name).glob("*.csv"))))
    result = validate_export(str(export), images_dir=store.images_dir, certs_dir=store.certs,
                             as_of=date(2026, 11, 26))
    fixed: dict[str, str] = {}
    findings = []
    for f in result.findings:
        if f.code == "IMG-TRANSPARENT" and f.file:
            url = fixed.setdefault(f.file, PHOTOBANK.format(n=len(fixed) + 1))
            f = auto_fixed(f, url)
        findings.append(f)
    ledger.runs.store_findings(sync_run_id, store.name, findings)
    products = sorted({int(r) for r in result.frame["product_id"] if str(r).isdigit()})[:40]
    ledger.changes.store_plan(sync_run_id, store.name, [PlannedChange(pid, "price", {"skus": {}}) for pid in products])
    changes = ledger.changes.of_run(sync_run_id)
    ledger.changes.set_status([c.id for c in changes[:34]], ChangeStatus.VERIFIED)
    ledger.changes.set_status([c.id for c in changes[34:37]], ChangeStatus.VERIFY_FAILED)
    ledger.changes.set_status([c.id for c in changes[37:]], ChangeStatus.FAILED)
    with ledger.transaction() as s:
        for c in changes[34:37]:
            s.add(VerifyResult(sync_run_id=sync_run_id, store=store.name, product_id=c.product_id, check="site",
                               site="fr", device="desktop", field="price", expected="19.90", seen="21.90", attempt=2))
    blocked = len({f.row for f in findings if f.blocking and f.row is not None})
    ledger.runs.update(sync_run_id, status="partial", started_at=started, finished_at=started + timedelta(minutes=7),
                       artifacts={"image_urls": fixed},
                       counts={"rows": len(result.frame), "valid_rows": len(result.frame) - blocked,
                              "blocked_rows": blocked, "findings": len(findings), "auto_fixed_images": len(fixed),
                              "pushed": 40, "confirmed": 37, "failed": 3, "verified": 34, "verify_failed": 3,
                              "completion_rate": round(34 / 37, 6), "marketplace_completion_rate": 0.97,
                              "verify_grid": [3, len(store.language_sites)], "site_strikes_total": 1})
    if write_report:
        paths = write_run_report(ledger, sync_run_id, store.reports, store)
        ledger.runs.update(sync_run_id, report_path=paths["html"])
    return sync_run_id


def seed_certificate_listing(ledger: Ledger, store: StoreConfig, run_id: str, dag_id: str) -> str:
    """The certificate watch's products-at-risk report of ``store``, run by ``dag_id``, written and recorded by the
    watch's own code (:func:`aeops.certificates.alert_listing.write_listing`); returns its link."""
    alert = SimpleNamespace(kind="warning", brand="Toyco", cert_type="CPC", valid_until=date(2026, 12, 10),
                            file="certs/Toyco_CPC_20261210.pdf",
                            products=[CoveredProduct(1005001000000001, "Wooden train", "toys", "onSelling",
                                                     brand="Toyco")])
    link = write_listing(SimpleNamespace(store=store, ledger=ledger), run_id, date(2026, 11, 20), [alert], dag_id)
    ledger.runs.update(ledger.runs.find(store.name, run_id, dag_id).id,
                       started_at=datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
    return link or ""


def seed_store_history(ledger: Ledger, store: StoreConfig, *, now: datetime | None = None) -> None:
    """Earlier daily syncs, an urgent re-run, a strike, certificates and Slack outbox rows of ``store``."""
    now = now or datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
    for day in range(3, 0, -1):
        run = ledger.runs.start(store.name, DAG_ID, f"scheduled__2026-11-{27 - day:02d}T18:00:00+00:00")
        ledger.runs.store_findings(run, store.name, [])
        ledger.runs.update(run, status="success", started_at=now - timedelta(days=day),
                           finished_at=now - timedelta(days=day, minutes=-5),
                           counts={"rows": 245, "pushed": 12, "verified": 12, "completion_rate": 1.0})
    urgent = ledger.runs.start(store.name, "aliexpress_urgent_rerun", "manual__urgent-bf", kind="urgent")
    ledger.runs.update(urgent, status="success", started_at=now - timedelta(hours=5),
                       finished_at=now - timedelta(hours=5, minutes=-11),
                       artifacts={"deadline": {"triggered_at": (now - timedelta(hours=5)).isoformat(),
                                              "deadline_minutes": 15,
                                              "due_at": (now - timedelta(hours=5, minutes=-15)).isoformat()},
                                 "request": {"mode": "price_override", "reason": "Black Friday"}})
    with ledger.transaction() as s:
        s.add(SiteStrike(store=store.name, site="fr", detail="product 1005001 price 19.90 vs 21.90"))
        s.add(Certificate(store=store.name, brand="Acme", cert_type="CE", file="certs/Acme_CE_20261210.pdf",
                          sha256=f"{store.name}-ce", valid_until=date(2026, 12, 10), status="expiring"))
        s.add(Certificate(store=store.name, brand="Toyco", cert_type="CPC", file="certs/Toyco_CPC_20270601.pdf",
                          sha256=f"{store.name}-cpc", valid_until=date(2027, 6, 1), status="valid"))
        s.add(SlackOutbox(store=store.name, channel="#aeops-reports", kind="summary", status="sent", payload={}))
        s.add(SlackOutbox(store=store.name, channel="#aeops-alerts", kind="alert", status="pending", payload={},
                          last_error="http 503"))
