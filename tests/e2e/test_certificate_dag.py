"""The certificate-expiry DAG end to end: dag.test() over the sample certificates, time-travelling with ``as_of``,
asserting on the messages the Slack sink received."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import select

from aeops import embedded as embedded_mode
from aeops.rules.certs_testing import make_certificate_pdf
from aeops.store import session_scope
from aeops.store.models import Certificate, SyncRun
from tests.e2e.harness import SAMPLE, run_dag, task_states

pytestmark = pytest.mark.e2e
DAG_ID = "aliexpress_certificate_expiry"


def _texts(env, store: str) -> list[str]:
    """Texts (title + body) of the certificate messages the sink holds for ``store``, oldest first."""
    out = []
    for message in env.slack_messages():
        body = "\n".join(b.get("text", {}).get("text", "") for b in message["blocks"] if b.get("type") == "section")
        # demo reads English, demo-kids Chinese (tests/e2e/harness.py)
        if f"({store})" in message["text"] and message["text"].startswith(("Certificates", "证书：")):
            out.append(body)
    return out


@pytest.fixture
def env(embedded, tmp_path):
    """Both demo stores, their certificate folder a copy of the sample certificates (so a test can add files)."""
    certs = tmp_path / "certs"
    shutil.copytree(SAMPLE / "certs", certs)
    stores = embedded_mode.aeops_config()["stores"]
    for store in stores:
        store["certs"] = certs.as_uri()
        store["language"] = "en" if store["name"] == "demo" else "zh-CN"  # as tests/e2e/harness.py does
        store["reports"] = (tmp_path / "reports" / store["name"]).as_uri()
    started = embedded(config_overrides={"stores": stores})
    started.certs = certs
    return started


def _category_products(env, category: str) -> set[int]:
    """The demo store's products of ``category`` in the sample export (what the sync records as their category)."""
    import csv

    from aeops.exports import newest_export

    path = newest_export(env.config["stores"][0]["exports"])
    with open(str(path).removeprefix("file://"), encoding="utf-8-sig") as fh:
        return {int(r["product_id"]) for r in csv.DictReader(fh) if r["category"] == category
                and r["product_id"].isdigit()}


def _listing(env) -> list[dict[str, str]]:
    """The newest listing CSV the watch wrote for the demo store (every product named, with its brand)."""
    import csv
    from pathlib import Path

    folder = Path(env.config["stores"][0]["reports"].removeprefix("file://"))
    [path] = sorted(folder.glob("*-findings.csv"), key=lambda p: p.stat().st_mtime)[-1:]
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.DictReader(fh))


def _run(as_of: str):
    dag_run = run_dag(DAG_ID, {"as_of": as_of})
    assert str(dag_run.state) == "success", task_states(dag_run)
    return dag_run


def test_sample_certificates_escalate_once_per_threshold_and_close_on_replacement(env) -> None:
    _run("2026-11-26")
    first = _texts(env, "demo")
    assert len(first) == 1 and len(_texts(env, "demo-kids")) == 1
    text = first[0]
    assert "*Sparky CE*" in text and "*expired* 56 day(s) ago" in text and "`ERR-412`" in text
    # toys' CPC 19 days before expiry: past the 30-day re-upload deadline, an error
    assert "*Playfun CPC*" in text and "*19 day(s) left*" in text and "*the re-upload deadline has passed*" in text
    # every toys product is at risk (an expiry delists the category), Playfun's own four marked, each with the
    # status the platform shows now (not assumed); Slack names the first ones, the day's CSV every one
    toys = _category_products(env, "toys")
    assert (f"needed by: toys · live products at risk: *{len(toys)}* of {len(toys)} (status from the platform) · "
            "4 of them by Playfun (this file's brand)") in text
    assert re.search(r"`\d+` Playfun [^\n]* \(onSelling\) · \*Playfun\* ✓ this file", text)
    listing = _listing(env)
    assert {int(r["product_id"]) for r in listing if r["category"] == "toys"} == toys
    assert sorted(r["brand"] for r in listing if "Playfun_CPC_20261215.pdf" in r["covered_by"]) == ["Playfun"] * 4
    assert "Gizmo_CE_20280301.pdf" in text and "password-protected" in text
    assert "Voltix_CE_20280110.pdf" in text  # the misnamed copy is covered by the valid one
    assert "*Tinytoy CPC*" not in text  # its bad 2027 file is replaced by the valid 2028 one: nothing to say
    assert "BrandAuth" not in text and "CategoryAdmission" not in text  # the sample's documents are valid

    _run("2026-11-26")  # the same day again: nothing new
    assert len(_texts(env, "demo")) == 1

    _run("2026-11-27")  # next day: only the expired certificate repeats (daily), no threshold again
    second = _texts(env, "demo")[-1]
    assert len(_texts(env, "demo")) == 2
    assert "*Sparky CE*" in second and "*Playfun CPC*" not in second and "*Gizmo CE*" not in second

    _run("2026-12-02")  # 13 days left: the 14-day warning, once
    third = _texts(env, "demo")[-1]
    assert "*Playfun CPC*" in third and "*13 day(s) left*" in third and "re-upload deadline" in third

    make_certificate_pdf(env.certs / "Sparky_CE_20281001.pdf", brand="Sparky", cert_type="CE",
                         number="CE-2026-1201", issuer="TUV SUD", issue_date=date(2026, 12, 1),
                         valid_until=date(2028, 10, 1))
    _run("2026-12-03")
    fourth = _texts(env, "demo")[-1]
    assert "*Sparky CE* `Sparky_CE_20261001.pdf`: *alert closed*, replaced by `Sparky_CE_20281001.pdf`" in fourth
    assert "ERR-412" not in fourth.split("alert closed")[0]

    _run("2026-12-04")  # closed for good: Sparky is quiet, Playfun waits for its 7-day threshold
    assert len(_texts(env, "demo")) == 4
    with session_scope(env.db_url) as s:
        old = s.scalars(select(Certificate).where(Certificate.store == "demo",
                                                  Certificate.file.like("%Sparky_CE_20261001.pdf"))).one()
        assert old.status == "replaced" and old.replaced_by_id is not None
        assert {r.status for r in s.scalars(select(Certificate).where(Certificate.store == "demo"))} == {
            "valid", "expiring", "invalid", "replaced"}
    assert {m["channel_name"] for m in env.slack_messages()} == {"#aeops-alerts"}  # closures too


def test_a_brand_authorisation_ten_days_from_expiry_and_an_expired_certificate_name_every_product(embedded,
                                                                                                 tmp_path) -> None:
    """A brand authorisation 10 days before it expires alerts (its 14-day warning), naming every product of its
    brand in every category; an expired certificate names every product of its category, whatever the brand."""
    from aeops.rules.certs_testing import make_document_pdf

    certs = tmp_path / "only"
    certs.mkdir()
    shutil.copy(SAMPLE / "certs" / "Sparky_CE_20261001.pdf", certs)
    make_document_pdf(certs / "Voltix_BrandAuth_20261206.pdf", brand="Voltix", doc_type="BrandAuth",
                      valid_until=date(2026, 12, 6), authoriser="Voltix Electronics GmbH",
                      seller="aeops demo store Co., Ltd.")
    stores = embedded_mode.aeops_config()["stores"]
    for store in stores:
        store["certs"] = certs.as_uri()
        store["language"] = "en" if store["name"] == "demo" else "zh-CN"
        store["reports"] = (tmp_path / "reports" / store["name"]).as_uri()
    env = embedded(config_overrides={"stores": stores})
    _run("2026-11-26")
    [text] = _texts(env, "demo")
    assert ("*Voltix brand authorisation* `Voltix_BrandAuth_20261206.pdf`: *10 day(s) left* (valid until 2026-12-06)"
            " · 14-day warning") in text
    assert "Ask Voltix Electronics GmbH for the renewed brand authorisation" in text
    electronics = _category_products(env, "electronics")
    assert (f"needed by: electronics · live products at risk: *{len(electronics)}* of {len(electronics)} (status "
            "from the platform)") in text
    listing = _listing(env)
    assert {int(r["product_id"]) for r in listing if r["category"] == "electronics"} == electronics
    assert {r["brand"] for r in listing if r["category"] == "electronics"} > {"Sparky"}  # other brands too
    sparky = [r for r in listing if "Sparky_CE_20261001.pdf" in r["covered_by"]]
    assert sparky and {r["brand"] for r in sparky} == {"Sparky"}  # the file's own brand marked
    voltix = [r for r in listing if "Voltix_BrandAuth_20261206.pdf" in r["covered_by"]]
    assert voltix and {r["brand"] for r in voltix} == {"Voltix"} and all(r["status"] == "onSelling" for r in voltix)
    with session_scope(env.db_url) as s:
        row = s.scalars(select(Certificate).where(Certificate.store == "demo",
                                                  Certificate.file.like("%BrandAuth%"))).one()
        assert (row.cert_type, row.issuer, row.last_alert_threshold) == ("BrandAuth", "Voltix Electronics GmbH", 14)


def test_a_stores_own_watch_dag_files_its_report_under_its_own_dag_id(env) -> None:
    """``aliexpress_certificate_expiry__demo`` (what the schedule runs) records demo's watch run under its own id
    and the alert's report link names it: a person granted only that DAG opens it (tests/integration/
    test_ui_access.py); nothing is filed under the all-store id, and demo-kids is not checked."""
    dag_run = run_dag("aliexpress_certificate_expiry__demo", {"as_of": "2026-11-26"})

    assert str(dag_run.state) == "success", task_states(dag_run)
    assert len(_texts(env, "demo")) == 1 and _texts(env, "demo-kids") == []
    with session_scope(env.db_url) as s:
        runs = s.scalars(select(SyncRun).where(SyncRun.dag_id.like("aliexpress_certificate_expiry%"))).all()
        assert [(r.store, r.dag_id, r.run_id, r.status) for r in runs] == [
            ("demo", "aliexpress_certificate_expiry__demo", dag_run.run_id, "success")]
        assert runs[0].report_path
    posted = json.dumps(env.slack_messages())
    assert f"/aeops/reports/demo/aliexpress_certificate_expiry__demo/{quote(dag_run.run_id, safe='')}" in posted
    assert "/aeops/reports/demo/aliexpress_certificate_expiry/" not in posted
