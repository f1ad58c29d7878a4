"""The certificate replacement's steps against the real simulator over HTTP (no Airflow): the watch requests it
when a new file replaces an expired CPC, every toys product of the brand gets the new qualification image and is
onSelling again; a renewal from another lab waits for a person (approve: uploaded and attached; reject: nothing
uploaded); bad files, no products and dry runs write nothing; a crashed push resumes without doubling."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from conftest import ACCESS_TOKEN, REFRESH_TOKEN, SELLER_ID, RunningSimulator, sample_rows
from sqlalchemy import select

from aeops.certificates import replacement, replacement_check, upload_approval, watch
from aeops.config import load_config
from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET
from aeops.marketplace.simulator.products import now_ms
from aeops.rules.certs_testing import make_certificate_pdf
from aeops.store import session_scope
from aeops.store.models import ApiWrite, CertificateReplacement, Change, ProductState
from aeops.store.status import ChangeStatus
from tests.fake_slack import FakeSlack

PID = 9007199254740993
TOYS = [PID, PID + 1]
AS_OF = date(2026, 12, 20)  # the old CPC (valid until 2026-12-15) has expired
CPC = "item_US_CPC_certificate"


def cpc(folder: Path, until: date, *, brand: str = "Acme", issuer: str = "SGS", number: str = "CPC-Acme-1",
        **kw: Any) -> Path:
    return make_certificate_pdf(folder / f"{brand}_CPC_{until:%Y%m%d}.pdf", brand=brand, cert_type="CPC",
                                number=number, issuer=issuer, issue_date=date(until.year - 1, until.month, 1),
                                valid_until=until, **kw)


@pytest.fixture
def world(simulator_factory: Callable[..., RunningSimulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    rows = sample_rows(2)  # toys, brand Acme
    rows += [{**r, "product_id": str(int(r["product_id"]) + 100), "category": "electronics", "sku_code": "E" + r[
        "sku_code"]} for r in sample_rows(1)]
    sim = simulator_factory("qualification_s=3600", rows=rows)
    exports = tmp_path / "exports"
    exports.mkdir()
    pd.DataFrame(rows).to_csv(exports / "catalog_2026-12-01.csv", index=False)
    certs = tmp_path / "certs"
    certs.mkdir()
    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    monkeypatch.setenv("AEOPS_DATABASE_URL", url)
    monkeypatch.setenv("AIRFLOW_CONN_ALIEXPRESS_DEFAULT", json.dumps({
        "conn_type": "aliexpress", "host": sim.url, "login": DEMO_APP_KEY, "password": DEMO_APP_SECRET,
        "extra": {"access_token": ACCESS_TOKEN, "refresh_token": REFRESH_TOKEN, "seller_id": SELLER_ID}}))
    config = load_config({"database_url": url, "stores": [{
        "name": "demo", "language": "en", "certs": certs.as_uri(), "exports": str(exports),
        "reports": str(tmp_path / "reports"), "qps": 1000, "merchant_type": "enterprise"}]})
    old = cpc(certs, date(2026, 12, 15))
    watch.scan("demo", date(2026, 12, 1), config=config)
    answer = httpx.post(f"{sim.url}/_sim/qualifications/{SELLER_ID}/expire", json={"category": "toys", "cert": "CPC"})
    assert answer.json()["offline"] == TOYS
    return {"sim": sim, "config": config, "certs": certs, "old": old, "url": url, "tmp": tmp_path}


def run(world: dict[str, Any], params: dict[str, Any], run_id: str = "manual__1", slack: FakeSlack | None = None,
        restore: bool = True, answer: str | None = None) -> tuple[list[int], dict[str, Any]]:
    """Every step of the DAG for the run's replacements, as the tasks call them; ``answer`` is the person's to the
    approval form, when one is asked (``None``: the test expects none)."""
    config = world["config"]
    rids = replacement.requests(params, run_id, config=config)
    summary: dict[str, Any] = {}
    for rid in rids:
        replacement.validate(rid, config=config)
        replacement.render(rid, config=config)
        form = upload_approval.approval_form(rid, link="http://airflow/approve", wait_hours=12, config=config,
                                             client=slack)
        assert (form is not None) == (answer is not None), form
        if form is not None:
            world.setdefault("forms", []).append(form)
            upload_approval.record_decision(rid, answer, {"id": "ana", "name": "Ana"}, None, config=config)
            if answer != upload_approval.APPROVE:  # the approve task skips every step up to the report
                summary[rid] = replacement_check.report(rid, config=config, client=slack or FakeSlack())
                continue
        replacement.upload(rid, config=config)
        replacement.plan(rid, config=config)
        assert replacement.push(rid, config=config) is not None
        if not replacement_check.poke(rid, config=config) and restore:
            restoration_passes(world)
            assert replacement_check.poke(rid, config=config)
        try:
            summary[rid] = replacement_check.report(rid, config=config, client=slack or FakeSlack())
        except replacement_check.ReplacementFailed as exc:
            summary[rid] = {"failed": str(exc)}
    return rids, summary


def restoration_passes(world: dict[str, Any]) -> None:
    with world["sim"].state.write() as tx:
        for product in tx.products(TOYS).values():
            if product.get("qualification_restore"):
                product["qualification_restore"]["due_ms"] = now_ms()


def record(world: dict[str, Any], rid: int) -> CertificateReplacement:
    with session_scope(world["url"]) as s:
        row = s.get(CertificateReplacement, rid)
        s.expunge(row)
        return row


def test_a_new_file_in_the_folder_restores_the_category(world: dict[str, Any]) -> None:
    new = cpc(world["certs"], date(2028, 1, 31))
    scanned = watch.scan("demo", AS_OF, config=world["config"])
    assert len(scanned["replacements_requested"]) == 1
    slack = FakeSlack()
    rids, summary = run(world, {}, slack=slack)  # the Asset's run: no Params
    assert rids == scanned["replacements_requested"]
    assert summary[rids[0]] == {"rid": rids[0], "store": "demo", "status": "restored", "restored": 2,
                                "not_restored": 0}
    row = record(world, rids[0])
    assert (row.status, row.trigger, row.old_file, row.new_file) == ("restored", "asset", str(world["old"]), str(new))
    assert row.photobank_url and row.run_id == "manual__1" and row.sync_run_id
    products = world["sim"].catalog()["products"]
    for pid in TOYS:
        product = products[str(pid)]
        assert product["status"] == "onSelling"
        assert product["qualifications"] == [{"key": CPC, "type": "image", "value": row.photobank_url}]
    assert products[str(PID + 100)].get("qualifications") is None  # electronics untouched
    text = slack.section_text()
    assert "every product restored" in text and "Acme_CPC_20280131.pdf" in text
    report = Path(row.detail["jpeg"]).with_name(f"demo-manual__1_r{row.id}.html")
    assert report.exists() and str(PID) in report.read_text(encoding="utf-8")
    # the JPEG the platform got: long side >= 1200 px, <= 3 MB
    assert max(row.detail["jpeg_size"]) >= 1200 and row.detail["jpeg_bytes"] <= 3 * 1024 * 1024
    # a second watch scan requests nothing more
    assert watch.scan("demo", AS_OF, config=world["config"])["replacements_requested"] == []
    with session_scope(world["url"]) as s:  # the sync's diff baseline is not touched by qualification writes
        assert s.scalars(select(ProductState)).all() == []


def test_by_hand_with_a_reason_and_products_not_restored_are_named(world: dict[str, Any]) -> None:
    new = cpc(world["tmp"] / "elsewhere", date(2028, 1, 31))
    slack = FakeSlack()
    rids, summary = run(world, {"store": "demo", "certificate": str(new), "reason": "CPC expired, renewal in"},
                        slack=slack, restore=False)
    assert summary[rids[0]]["failed"].startswith("demo: 2 of 2 product(s) not restored")
    row = record(world, rids[0])
    assert (row.status, row.trigger, row.reason) == ("failed", "manual", "CPC expired, renewal in")
    assert str(PID) in slack.section_text() and "offline" in slack.section_text()


@pytest.mark.parametrize("kind", ["encrypted", "mismatch", "expiring"])
def test_a_bad_certificate_is_rejected_and_nothing_is_uploaded(world: dict[str, Any], kind: str) -> None:
    if kind == "encrypted":
        new = cpc(world["tmp"] / "in", date(2028, 1, 31), encrypt_password="secret")
        code = "CERT-UNREADABLE"
    elif kind == "mismatch":  # the text disagrees with the file name: really wrong, no person can approve it
        new = make_certificate_pdf(world["tmp"] / "in" / "Acme_CPC_20280131.pdf", brand="Acme", cert_type="CPC",
                                   number="CPC-Acme-1", issuer="SGS", issue_date=date(2027, 1, 1),
                                   valid_until=date(2028, 3, 31))
        code = "CERT-MISMATCH"
    else:
        new = cpc(world["tmp"] / "in", date(2027, 1, 10))  # 21 days left on AS_OF: past CPC's deadline
        code = "CERT-EXPIRING"
    photos = len(world["sim"].catalog()["photobank"])
    slack = FakeSlack()
    rids, summary = run(world, {"store": "demo", "certificate": str(new), "reason": "test",
                                "as_of": AS_OF.isoformat()}, slack=slack)
    assert "rejected, nothing uploaded" in summary[rids[0]]["failed"] and code in summary[rids[0]]["failed"]
    assert record(world, rids[0]).status == "rejected"
    assert len(world["sim"].catalog()["photobank"]) == photos
    assert f"`{code}`" in slack.section_text()
    with session_scope(world["url"]) as s:
        assert s.scalars(select(Change)).all() == []


def _qualifications(world: dict[str, Any]) -> list[Any]:
    products = world["sim"].catalog()["products"]
    return [products[str(pid)].get("qualifications") for pid in TOYS]


def test_a_renewal_from_another_lab_waits_for_approval_then_is_uploaded(world: dict[str, Any]) -> None:
    cpc(world["certs"], date(2028, 1, 31), issuer="Intertek", number="CPC-Acme-2")
    scanned = watch.scan("demo", AS_OF, config=world["config"])
    assert len(scanned["replacements_requested"]) == 1 and scanned["held"] == 1
    photos = len(world["sim"].catalog()["photobank"])
    slack = FakeSlack()
    rids, summary = run(world, {}, slack=slack, answer=upload_approval.APPROVE)
    [form] = world["forms"]
    assert "Approve the Acme CPC certificate upload for demo" in form["subject"]
    body = form["body"]
    assert "| issuer ⚠ | SGS | Intertek |" in body and "| number ⚠ | CPC-Acme-1 | CPC-Acme-2 |" in body
    assert "| valid until | 2026-12-15 | 2028-01-31 |" in body and "| issue date | 2025-12-01 | 2027-01-01 |" in body
    assert "`Acme_CPC_20280131.pdf` would replace `Acme_CPC_20261215.pdf` on 2 product(s) of toys" in body
    assert summary[rids[0]]["status"] == "restored"
    row = record(world, rids[0])
    assert row.detail["approval"]["decision"] == "approved" and row.detail["approval"]["by"] == "Ana"
    assert len(world["sim"].catalog()["photobank"]) == photos + 1
    assert _qualifications(world) == [[{"key": CPC, "type": "image", "value": row.photobank_url}]] * 2
    waiting = slack.posts[0]  # Slack said it waits, with the link to answer, before anything was uploaded
    assert waiting["text"].startswith("Certificate upload waits for approval: Acme CPC")
    assert "issuer: SGS → Intertek" in slack.section_text() and "http://airflow/approve" in str(waiting["blocks"])
    # the registry now counts the approved file: the next scan replaces the old one, without asking again
    watch.scan("demo", AS_OF, config=world["config"])
    with session_scope(world["url"]) as s:
        from aeops.store.models import Certificate

        states = {c.file.rsplit("/", 1)[-1]: (c.status, c.approval) for c in s.scalars(select(Certificate))}
    assert states == {"Acme_CPC_20261215.pdf": ("replaced", None), "Acme_CPC_20280131.pdf": ("valid", "approved")}


def test_a_rejected_renewal_uploads_and_attaches_nothing(world: dict[str, Any]) -> None:
    new = cpc(world["tmp"] / "in", date(2028, 1, 31), issuer="Intertek", number="CPC-Acme-2")
    photos = len(world["sim"].catalog()["photobank"])
    slack = FakeSlack()
    rids, summary = run(world, {"store": "demo", "certificate": str(new), "reason": "renewal"}, slack=slack,
                        answer=upload_approval.REJECT)
    assert summary[rids[0]]["status"] == "declined"  # a person's answer: the run does not fail
    row = record(world, rids[0])
    assert row.status == "declined" and row.photobank_url is None and row.sync_run_id is None
    assert len(world["sim"].catalog()["photobank"]) == photos
    assert _qualifications(world) == [None, None]  # still offline, nothing attached
    text = slack.section_text()
    assert "Certificate not uploaded, not approved: Acme CPC" in slack.posts[-1]["text"]
    assert "issuer: SGS → Intertek" in text and "Rejected by Ana" in text


@pytest.mark.parametrize(("declared", "forbidden", "says"), [
    ("individual", False, "the operator declares an individual merchant"),
    (None, False, "declare merchant_type: enterprise"),
    ("enterprise", True, "the platform forbids this seller to post products"),
])
def test_an_account_without_compliance_rights_uploads_and_attaches_nothing(
        world: dict[str, Any], declared: str | None, forbidden: bool, says: str) -> None:
    """Compliance rights are checked before the first write: one line says why, nothing reaches the platform."""
    world["config"].store("demo").merchant_type = declared
    world["sim"].state.set_seller(SELLER_ID, product_posting_forbidden=forbidden)
    new = cpc(world["tmp"] / "in", date(2028, 1, 31))
    before = world["sim"].catalog()
    world["sim"].sim.reset_calls()
    slack = FakeSlack()
    rids, summary = run(world, {"store": "demo", "certificate": str(new), "reason": "CPC expired"}, slack=slack)
    failed = summary[rids[0]]["failed"]
    assert failed.startswith("demo: certificate replacement refused, nothing uploaded or attached: ")
    assert says in failed and "\n" not in failed
    row = record(world, rids[0])
    assert (row.status, row.photobank_url, row.sync_run_id) == ("refused", None, None)
    after = world["sim"].catalog()
    assert after["photobank"] == before["photobank"]
    for pid in TOYS:
        product, was = after["products"][str(pid)], before["products"][str(pid)]
        assert product.get("qualifications") == was.get("qualifications") and product["status"] == "offline"
    calls = world["sim"].sim.calls()
    assert set(calls) == {"aliexpress.solution.merchant.profile.get"}, calls  # no upload, no edit, not even a read
    assert "refused, nothing uploaded or attached" in slack.section_text() and says in slack.section_text()
    with session_scope(world["url"]) as s:
        assert s.scalars(select(Change)).all() == [] and s.scalars(select(ApiWrite)).all() == []


def test_nobody_answering_uploads_nothing_and_fails_the_run(world: dict[str, Any]) -> None:
    new = cpc(world["tmp"] / "in", date(2028, 1, 31), issuer="Intertek", number="CPC-Acme-2")
    config = world["config"]
    [rid] = replacement.requests({"store": "demo", "certificate": str(new), "reason": "t"}, "manual__3",
                                 config=config)
    replacement.validate(rid, config=config)
    replacement.render(rid, config=config)
    assert replacement.upload(rid, config=config) == {"rid": rid, "skipped": "waiting for approval"}  # its own guard
    assert upload_approval.record_decision(rid, upload_approval.REJECT, None, None, config=config)["decision"] == \
        "timed out"
    with pytest.raises(replacement_check.ReplacementFailed, match="nobody approved the upload"):
        replacement_check.report(rid, config=config, client=FakeSlack())
    assert record(world, rid).photobank_url is None


def test_a_brand_without_products_writes_nothing(world: dict[str, Any]) -> None:
    new = cpc(world["tmp"] / "in", date(2028, 1, 31), brand="Nobody", number="CPC-N-1")
    slack = FakeSlack()
    rids, summary = run(world, {"store": "demo", "certificate": str(new), "reason": "test"}, slack=slack)
    assert summary[rids[0]]["status"] == "no_products"
    assert "no product of Nobody in toys" in slack.section_text()
    with session_scope(world["url"]) as s:
        assert s.scalars(select(ApiWrite)).all() == []


def test_a_dry_run_lists_the_products_and_writes_nothing(world: dict[str, Any]) -> None:
    new = cpc(world["tmp"] / "in", date(2028, 1, 31))
    photos = len(world["sim"].catalog()["photobank"])
    rids, summary = run(world, {"store": "demo", "certificate": str(new), "reason": "t", "dry_run": True})
    assert summary[rids[0]]["status"] == "dry_run"
    assert len(world["sim"].catalog()["photobank"]) == photos
    row = record(world, rids[0])
    assert [p["product_id"] for p in row.detail["products"]] == TOYS
    report = Path(world["config"].store("demo").reports) / f"demo-manual__1_r{row.id}-findings.csv"
    assert report.read_text(encoding="utf-8").count("dry run: nothing written") == 2


def test_a_push_that_crashed_mid_call_resumes_without_doubling(world: dict[str, Any]) -> None:
    config = world["config"]
    new = cpc(world["tmp"] / "in", date(2028, 1, 31))
    [rid] = replacement.requests({"store": "demo", "certificate": str(new), "reason": "t"}, "manual__2", config=config)
    for step in (replacement.validate, replacement.render, replacement.upload, replacement.plan):
        step(rid, config=config)
    row = record(world, rid)
    with session_scope(world["url"]) as s:  # the process died after recording the first write as sent
        first = s.scalars(select(Change).where(Change.sync_run_id == row.sync_run_id)
                          .order_by(Change.product_id)).first()
        first.status = str(ChangeStatus.SENDING)
    world["sim"].sim.reset_calls()
    assert replacement.push(rid, config=config) == {"confirmed": 2}
    assert replacement.push(rid, config=config) == {}  # a retry finds nothing open
    calls = world["sim"].sim.calls()
    assert calls["aliexpress.solution.product.edit"] == 2  # one per product: the re-read showed it not applied
    assert calls["aliexpress.solution.product.info.get"] == 1


def test_the_watch_alert_names_the_products_with_their_live_status(world: dict[str, Any]) -> None:
    slack = FakeSlack()
    watch.scan("demo", AS_OF, config=world["config"])
    result = watch.alert("demo", AS_OF, config=world["config"], client=slack, run_id="scheduled__1")
    assert result["live_status"] is True and result["products_named"] == 2
    text = slack.section_text()
    assert "live products at risk: *0* of 2 (status from the platform)" in text  # the platform took them offline
    for pid in TOYS:
        assert f"`{pid}` Product {pid - PID} (offline)" in text
    link = slack.posts[0]["blocks"][-1]["elements"][0]["text"]
    assert "/aeops/reports/demo/aliexpress_certificate_expiry/scheduled__1" in link
    listing = Path(world["config"].store("demo").reports) / "demo-scheduled__1-findings.csv"
    lines = listing.read_text(encoding="utf-8").lstrip("\ufeff").splitlines()
    assert lines[0] == "product_id,title,category,status,reason,brand,covered_by" and len(lines) == 3
    assert lines[1].startswith(f"{PID},Product 0,toys,offline") and lines[1].endswith(",Acme,Acme_CPC_20261215.pdf")


def test_an_alert_lists_twenty_products_then_the_count() -> None:
    from aeops.certificates.alert_listing import product_lines
    from aeops.certificates.covered import CoveredProduct

    products = [CoveredProduct(1000 + i, f"Toy {i}", "toys", "onSelling") for i in range(25)]
    lines = product_lines(products, "en")
    assert len(lines) == 21 and lines[0] == "`1000` Toy 0 (onSelling)" and lines[19].startswith("`1019`")
    assert lines[20] == "…and 5 more: every product is in the CSV"
