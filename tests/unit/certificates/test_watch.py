"""Certificate registry and watch on a temporary folder and SQLite: thresholds once, expired daily,
replacement closes, removal, products at risk, the registry read API for CERT-MISSING."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from aeops.certificates import watch
from aeops.certificates.covered import backfill_categories, exposure
from aeops.certificates.registry import registry_certificates
from aeops.config import load_config
from aeops.rules.certs import cert_missing
from aeops.rules.certs_testing import make_certificate_pdf
from aeops.store import ensure_schema, session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import Certificate, ProductState
from tests.fake_slack import FakeSlack

EXPIRY = date(2026, 12, 15)


def cert(folder: Path, brand: str, cert_type: str, valid_until: date, *, name: str | None = None,
         issue: date | None = None) -> Path:
    name = name or f"{brand}_{cert_type}_{valid_until:%Y%m%d}.pdf"
    return make_certificate_pdf(folder / name, brand=brand, cert_type=cert_type, number=f"{cert_type}-{brand}-1",
                                issuer="SGS", issue_date=issue or valid_until - timedelta(days=365),
                                valid_until=valid_until)


def export(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [("1005000000000001", "T-1", "toys", "Playfun"), ("1005000000000001", "T-1b", "toys", "Playfun"),
            ("1005000000000002", "T-2", "toys", "Playfun"), ("1005000000000003", "T-3", "toys", "Tinytoy"),
            ("1005000000000004", "E-1", "electronics", "Playfun")]
    pd.DataFrame([{"product_id": p, "sku_code": s, "title": "x", "price": "9.99", "discount_price": "",
                   "stock": "5", "freight_template_id": "1001", "category": c, "brand": b, "main_image": "a.jpg"}
                  for p, s, c, b in rows]).to_csv(folder / "catalog.csv", index=False)
    return folder


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    certs = tmp_path / "certs"
    certs.mkdir()
    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    monkeypatch.setenv("AEOPS_DATABASE_URL", url)  # it wins over database_url
    config = load_config({"database_url": url, "stores": [{  # English: the tests read the message's wording
        "name": "demo", "language": "en", "certs": certs.as_uri(), "exports": str(export(tmp_path / "exports"))}]})
    return certs, url, config, FakeSlack()


def day(setup, as_of: date) -> dict[str, Any]:
    _, _, config, slack = setup
    scanned = watch.scan("demo", as_of, config=config)
    return watch.alert("demo", as_of, config=config, unreadable=scanned["unreadable"], client=slack)


def test_time_travel_across_thresholds_alerts_once_each_and_expired_daily(setup) -> None:
    certs, _, _, slack = setup
    cert(certs, "Sparky", "CE", EXPIRY)
    sent_on = []
    for offset in range(-40, 4):
        as_of = EXPIRY + timedelta(days=offset)
        if day(setup, as_of)["sent"]:
            sent_on.append(offset)
    assert sent_on == [-30, -14, -7, -1, 1, 2, 3]
    texts = slack.texts()
    assert "*30 day(s) left*" in texts[0] and "30-day warning" in texts[0]
    assert "*1 day(s) left*" in texts[3]
    assert all("*expired*" in t and "`ERR-412`" in t for t in texts[4:])
    assert "re-upload" not in texts[0]


def test_cpc_alerts_start_at_60_and_45_days_and_are_errors_from_30(setup) -> None:
    certs, _, _, slack = setup
    cert(certs, "Playfun", "CPC", EXPIRY)
    sent_on = []
    for offset in range(-70, 2):
        if day(setup, EXPIRY + timedelta(days=offset))["sent"]:
            sent_on.append(offset)
    assert sent_on == [-60, -45, -30, -14, -7, -1, 1]
    texts = slack.texts()
    assert texts[0].startswith(":warning:") and "60-day warning" in texts[0]
    assert "Toys' CPC must be re-uploaded at least 30 days before expiry" in texts[1]
    for text in texts[2:6]:
        assert text.startswith(":red_circle:") and "*the re-upload deadline has passed*" in text
        assert "past the re-upload deadline" in text
    assert "*30 day(s) left*" in texts[2] and "`ERR-412`" in texts[6]


def test_cpc_thresholds_are_configurable(setup) -> None:
    certs, _, config, slack = setup
    config.cert_cpc_warn_days, config.cert_cpc_deadline_days = [90], 40
    cert(certs, "Playfun", "CPC", EXPIRY)
    sent_on = [o for o in range(-95, -20) if day(setup, EXPIRY + timedelta(days=o))["sent"]]
    assert sent_on == [-90, -40, -30]  # 30 stays below the deadline: an error too
    assert "at least 40 days before expiry" in slack.texts()[1]


def test_message_lists_categories_products_at_risk_and_what_to_do(setup) -> None:
    certs, _, _, slack = setup
    cert(certs, "Playfun", "CPC", EXPIRY)
    day(setup, EXPIRY - timedelta(days=40))
    [text] = slack.texts()
    assert "*Playfun CPC* `Playfun_CPC_20261215.pdf`: *40 day(s) left* (valid until 2026-12-15) · 45-day warning" \
        in text
    # every toys product is at risk (an expired certificate delists its whole category): Playfun's two and
    # Tinytoy's one; the electronics one needs no CPC
    assert "needed by: toys · live products at risk: *3* (newest export) · 2 of them by Playfun (this file's brand)" \
        in text
    assert "`1005000000000001` x · *Playfun* ✓ this file" in text and "`1005000000000003` x · Tinytoy" in text
    assert text.index("1005000000000002") < text.index("1005000000000003")  # the file's own brand first
    assert "Order the renewal from SGS" in text
    assert slack.posts[0]["channel"] == "#aeops-alerts"


def test_replacement_closes_the_alert_and_says_so_once(setup) -> None:
    certs, url, _, slack = setup
    old = cert(certs, "Playfun", "CPC", EXPIRY)
    day(setup, EXPIRY + timedelta(days=1))
    cert(certs, "Playfun", "CPC", date(2027, 12, 15), issue=date(2026, 12, 10))
    old.unlink()  # the usual swap: the old file goes, the renewal comes
    result = day(setup, EXPIRY + timedelta(days=2))
    assert result["closed"] == 1 and result["expired"] == 0
    assert "*alert closed*, replaced by `Playfun_CPC_20271215.pdf` (valid until 2027-12-15)" in slack.texts()[-1]
    assert not day(setup, EXPIRY + timedelta(days=3))["sent"]
    with session_scope(url) as s:
        statuses = {r.file.rsplit("/", 1)[-1]: (r.status, r.last_alert_threshold)
                    for r in s.scalars(select(Certificate))}
    assert statuses == {"Playfun_CPC_20261215.pdf": ("replaced", None), "Playfun_CPC_20271215.pdf": ("valid", None)}


def test_a_replacement_before_any_alert_is_silent_and_an_invalid_newer_file_replaces_nothing(setup) -> None:
    certs, url, _, slack = setup
    cert(certs, "Playfun", "CPC", EXPIRY)
    cert(certs, "Playfun", "CPC", date(2028, 1, 1), name="Playfun_CPC_20280101.pdf", issue=date(2028, 6, 1))
    result = day(setup, EXPIRY - timedelta(days=61))  # issued after its valid-until: CERT-VALIDITY (invalid)
    assert result["invalid"] == 1 and result["closed"] == 0
    assert "CERT-VALIDITY" in slack.texts()[0]
    cert(certs, "Playfun", "CPC", date(2027, 12, 1))
    assert day(setup, EXPIRY - timedelta(days=60))["sent"] is False  # replaced before its first warning
    with session_scope(url) as s:
        assert s.scalars(select(Certificate.status).where(Certificate.file.like("%20261215.pdf"))).one() == "replaced"


def test_removed_file_stops_alerting_and_says_so(setup) -> None:
    certs, _, _, slack = setup
    path = cert(certs, "Playfun", "CPC", EXPIRY)
    day(setup, EXPIRY - timedelta(days=5))
    path.unlink()
    result = day(setup, EXPIRY - timedelta(days=4))
    assert result["removed"] == 1
    assert "no longer in the certificate folder" in slack.texts()[-1]
    assert not day(setup, EXPIRY + timedelta(days=1))["sent"]


def test_unusable_folder_is_one_line_error(setup, tmp_path: Path) -> None:
    _, url, _, _ = setup
    config = load_config({"database_url": url, "stores": [{"name": "demo", "certs": str(tmp_path / "nope")}]})
    with pytest.raises(watch.CertWatchError, match="does not exist or is not a folder"):
        watch.scan("demo", EXPIRY, config=config)


def test_products_at_risk_come_from_product_state_once_the_sync_has_products(setup) -> None:
    _, url, config, _ = setup
    ensure_schema(url)
    with session_scope(url) as s:
        s.add_all([ProductState(store="demo", product_id=1005000000000001, fields={}),
                   ProductState(store="demo", product_id=1005000000000003, fields={}),
                   ProductState(store="demo", product_id=1005000000000009, fields={}, status="offline")])
    assert exposure(url, "demo", config.stores[0].exports).source == "newest export"
    assert backfill_categories(url, "demo", config.stores[0].exports) == 2
    assert backfill_categories(url, "demo", config.stores[0].exports) == 0  # idempotent
    risk = exposure(url, "demo", config.stores[0].exports)
    assert risk.source == "aeops DB"
    assert risk.at_risk("playfun", ["Toys"]) == 1 and risk.at_risk("Tinytoy", ["toys"]) == 1


def test_registry_read_api_feeds_cert_missing(setup) -> None:
    certs, url, config, _ = setup
    cert(certs, "Playfun", "CPC", EXPIRY)
    cert(certs, "Tinytoy", "CPC", date(2026, 1, 1))  # expired
    watch.scan("demo", date(2026, 11, 1), config=config)
    infos = registry_certificates(url, "demo", date(2026, 12, 20))
    assert {(i.brand, i.status) for i in infos} == {("Playfun", "expired"), ("Tinytoy", "expired")}
    infos = registry_certificates(url, "demo", date(2026, 12, 1))
    assert {(i.brand, i.status, i.usable(date(2026, 12, 1))) for i in infos} == {
        ("Playfun", "expiring", True), ("Tinytoy", "expired", False)}
    frame = pd.DataFrame([{"row": 2, "product_id": "1", "sku_code": "A", "category": "toys", "brand": "Playfun"},
                          {"row": 3, "product_id": "2", "sku_code": "B", "category": "toys", "brand": "Tinytoy"}])
    missing = cert_missing(frame, infos, {"toys": ["CPC"]}, date(2026, 12, 1))
    assert [(f.code, f.sku_code) for f in missing] == [("CERT-MISSING", "B")]
    assert registry_certificates(url, "other-store", date(2026, 12, 1)) == []


def _registry(url: str) -> dict[str, tuple[str, str | None]]:
    with session_scope(url) as s:
        return {r.file.rsplit("/", 1)[-1]: (r.status, r.approval) for r in s.scalars(select(Certificate))}


def test_a_changed_issuer_holds_the_new_file_for_a_person_and_keeps_the_old_in_force(setup) -> None:
    from aeops.store.ledger import Ledger

    certs, url, config, slack = setup
    cert(certs, "Playfun", "CPC", date(2027, 1, 10))
    assert day(setup, EXPIRY - timedelta(days=100))["invalid"] == 0
    new = make_certificate_pdf(certs / "Playfun_CPC_20271201.pdf", brand="Playfun", cert_type="CPC",
                               number="CPC-Playfun-2", issuer="Bureau Elsewhere", issue_date=date(2026, 12, 1),
                               valid_until=date(2027, 12, 1))
    make_certificate_pdf(certs / "Tinytoy_CPC_20271201.pdf", brand="Tinytoy", cert_type="CPC",
                         number="CPC-Playfun-1", issuer="SGS", issue_date=date(2026, 12, 1),
                         valid_until=date(2027, 12, 1))
    scanned = watch.scan("demo", EXPIRY - timedelta(days=99), config=config)
    assert len(scanned["replacements_requested"]) == 1 and scanned["held"] == 1  # Playfun's: it replaces one
    for offset in (99, 98):  # nothing rejects them; a later scan keeps the older certificate as the reference
        assert day(setup, EXPIRY - timedelta(days=offset))["invalid"] == 0
        assert _registry(url) == {"Playfun_CPC_20270110.pdf": ("valid", None),
                                  "Playfun_CPC_20271201.pdf": ("valid", "pending"),
                                  "Tinytoy_CPC_20271201.pdf": ("valid", "pending")}  # another brand's number
    # the old certificate stays in force: its warning names the file waiting for approval
    day(setup, date(2027, 1, 10) - timedelta(days=30))
    text = slack.texts()[-1]
    assert "*Playfun CPC* `Playfun_CPC_20270110.pdf`: *30 day(s) left*" in text
    assert "`Playfun_CPC_20271201.pdf` (Bureau Elsewhere) is in the folder but waits for a person's approval" in text
    # a person rejects it: the file cannot count, said once; approving the other lets it count
    ledger = Ledger(url)
    sha = {r.file.rsplit("/", 1)[-1]: r.sha256 for r in ledger.certificates.of_store("demo")}
    ledger.certificates.set_approval("demo", sha[new.name], "rejected", {"by": "ana", "at": "2026-12-12T08:00:00",
                                                                        "changes": ["issuer: SGS → Bureau Elsewhere"]})
    ledger.certificates.set_approval("demo", sha["Tinytoy_CPC_20271201.pdf"], "approved", {"by": "ana"})
    result = day(setup, date(2027, 1, 10) - timedelta(days=29))
    assert result["invalid"] == 1
    assert "was rejected by ana 2026-12-12" in slack.texts()[-1] and "issuer: SGS → Bureau Elsewhere" in \
        slack.texts()[-1]
    assert _registry(url)["Playfun_CPC_20271201.pdf"] == ("invalid", "rejected")
    assert _registry(url)["Tinytoy_CPC_20271201.pdf"] == ("valid", "approved")
    assert not day(setup, date(2027, 1, 10) - timedelta(days=28))["sent"]


def test_an_approved_renewal_from_another_lab_replaces_the_old_one(setup) -> None:
    from aeops.store.ledger import Ledger

    certs, url, config, _ = setup
    cert(certs, "Playfun", "CPC", EXPIRY)
    watch.scan("demo", date(2026, 11, 1), config=config)
    new = make_certificate_pdf(certs / "Playfun_CPC_20271201.pdf", brand="Playfun", cert_type="CPC",
                               number="CPC-9", issuer="Intertek", issue_date=date(2026, 12, 1),
                               valid_until=date(2027, 12, 1))
    watch.scan("demo", date(2026, 11, 2), config=config)
    assert _registry(url)["Playfun_CPC_20261215.pdf"] == ("valid", None)  # still the one in force
    ledger = Ledger(url)
    [row] = [r for r in ledger.certificates.of_store("demo") if r.file.endswith(new.name)]
    ledger.certificates.set_approval("demo", row.sha256, "approved", {"by": "ana"})
    watch.scan("demo", date(2026, 11, 3), config=config)
    assert _registry(url) == {"Playfun_CPC_20261215.pdf": ("replaced", None),
                              "Playfun_CPC_20271201.pdf": ("valid", "approved")}


def test_a_changed_issuer_of_a_type_aeops_never_uploads_is_not_held(setup) -> None:
    certs, url, config, _ = setup
    cert(certs, "Playfun", "UKCA", EXPIRY)  # no configured category needs UKCA: the person uploads it
    watch.scan("demo", date(2026, 11, 1), config=config)
    make_certificate_pdf(certs / "Playfun_UKCA_20271201.pdf", brand="Playfun", cert_type="UKCA", number="U-2",
                         issuer="Intertek", issue_date=date(2026, 12, 1), valid_until=date(2027, 12, 1))
    assert watch.scan("demo", date(2026, 11, 2), config=config)["replacements_requested"] == []
    assert _registry(url) == {"Playfun_UKCA_20261215.pdf": ("replaced", None),
                              "Playfun_UKCA_20271201.pdf": ("valid", None)}


def test_a_per_store_dags_watch_files_its_report_under_that_dag(setup, tmp_path: Path) -> None:
    """Run by ``aliexpress_certificate_expiry__demo``, the day's report is that DAG's run and its link names it
    (a person granted only the store's own DAG can open it); run by hand, the all-store DAG's."""
    certs, url, _, slack = setup
    config = load_config({"database_url": url, "stores": [{
        "name": "demo", "language": "en", "certs": certs.as_uri(), "exports": str(tmp_path / "exports"),
        "reports": (tmp_path / "reports").as_uri()}]})
    cert(certs, "Playfun", "CPC", EXPIRY)
    as_of = EXPIRY - timedelta(days=40)
    watch.scan("demo", as_of, config=config)
    per_store, run_id = "aliexpress_certificate_expiry__demo", "scheduled__2026-11-05T01:00:00+00:00"

    watch.alert("demo", as_of, config=config, client=slack, marketplace=False, run_id=run_id, dag_id=per_store)

    ledger = Ledger(url)
    run = ledger.runs.find("demo", run_id, per_store)
    assert run is not None and run.status == "success" and run.report_path
    assert Path(run.report_path).is_file()
    assert ledger.runs.find("demo", run_id, "aliexpress_certificate_expiry") is None
    posted = json.dumps(slack.posts)
    assert f"/aeops/reports/demo/{per_store}/scheduled__2026-11-05T01%3A00%3A00%2B00%3A00" in posted
    assert "/aeops/reports/demo/aliexpress_certificate_expiry/" not in posted
    # the job's history spans both DAGs: a later manual run of the all-store DAG is the newest of the same job
    watch.alert("demo", as_of + timedelta(days=26), config=config, client=slack, marketplace=False,
                run_id="manual__1")
    assert [r.dag_id for r in ledger.runs.recent("demo", per_store)] == ["aliexpress_certificate_expiry", per_store]
    assert "/aeops/reports/demo/aliexpress_certificate_expiry/manual__1" in json.dumps(slack.posts[-1])
