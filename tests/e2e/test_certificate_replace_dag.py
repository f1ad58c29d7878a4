"""The issue's proof, end to end against the simulator: a CPC certificate expires and the toys products go offline;
the certificate watch's alert names them by id; a valid replacement dropped in the folder makes the watch update
the Asset that queues ``aliexpress_certificate_replace`` (no person); that run (no Params, as the scheduler starts
it) ends with the products ``onSelling`` with the new qualification image. A renewal from another lab waits for a
person's approval (answered through Airflow's REST route, tests/e2e/hitl.py): approved, it is uploaded and
attached; rejected, nothing is uploaded. Both DAGs run under ``dag.test()``."""

from __future__ import annotations

import re
import shutil
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from aeops import embedded as embedded_mode
from aeops.demo import DEMO_SELLERS
from aeops.rules.certs_testing import make_certificate_pdf
from aeops.store import session_scope
from aeops.store.models import ApiWrite, Certificate, CertificateReplacement
from tests.e2e.harness import DAGS, SAMPLE, run_dag, task_states
from tests.e2e.hitl import Responder, Step, api_client

pytestmark = pytest.mark.e2e
WATCH = "aliexpress_certificate_expiry"
REPLACE = "aliexpress_certificate_replace"
CPC = "item_US_CPC_certificate"


@pytest.fixture
def env(embedded, tmp_path, monkeypatch):
    monkeypatch.setenv("AEOPS_CERT_REPLACE_VERIFY_POKE_SECONDS", "1")  # read when the DAG file is parsed
    monkeypatch.setenv("AEOPS_CERT_REPLACE_LOCK_POKE_SECONDS", "1")
    certs = tmp_path / "certs"
    shutil.copytree(SAMPLE / "certs", certs)
    stores = embedded_mode.aeops_config()["stores"]
    for store in stores:
        store["certs"] = certs.as_uri()
        store["language"] = "en" if store["name"] == "demo" else "zh-CN"
    started = embedded(faults="qualification_s=2", config_overrides={"stores": stores})
    started.certs = certs
    return started


def _texts(env) -> list[str]:
    out = []
    for message in env.slack_messages():
        if "(demo)" in message["text"] and message["text"].startswith("Certificate"):
            out.append("\n".join(b.get("text", {}).get("text", "") for b in message["blocks"]
                                 if b.get("type") == "section"))
    return out


def _ok(dag_id: str, conf: dict) -> None:
    dag_run = run_dag(dag_id, conf)
    assert str(dag_run.state) == "success", task_states(dag_run)


def _queued_runs_of(dag_id: str) -> list:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session

    with create_session() as session:
        return list(session.scalars(select(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == dag_id)))


def _sync_replace_dag_to_the_metadata_db() -> None:
    """What the dag-processor does (and an operator's unpausing): the replacement DAG and its Asset schedule are
    known to the scheduler; an earlier test's queue entries are cleared (the metadata DB is the worktree's)."""
    from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    from airflow.models.asset import AssetDagRunQueue
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session
    from sqlalchemy import delete, update

    bag = DagBag(dag_folder=str(DAGS / f"{REPLACE}.py"))
    sync_bag_to_db(bag, "dags-folder", None)
    with create_session() as session:
        session.execute(update(DagModel).where(DagModel.dag_id == REPLACE).values(is_paused=False))
        session.execute(delete(AssetDagRunQueue).where(AssetDagRunQueue.target_dag_id == REPLACE))


def test_an_expired_cpc_is_replaced_without_a_person(env) -> None:
    seller = DEMO_SELLERS["demo"][1]
    _sync_replace_dag_to_the_metadata_db()

    # the certificate expires: the platform takes Playfun's toys offline
    answer = httpx.post(f"{env.sim.url}/_sim/qualifications/{seller}/expire",
                        json={"category": "toys", "cert": "CPC", "brand": "Playfun"}, timeout=10)
    offline = answer.json()["offline"]
    assert len(offline) == 4
    _ok(WATCH, {"as_of": "2026-12-16", "stores": ["demo"]})
    [alert] = _texts(env)
    assert "*Playfun CPC*" in alert and "`ERR-412`" in alert
    named = {int(pid) for pid in re.findall(r"`(\d+)` [^\n]*\(offline\)", alert)}
    assert named and named <= set(offline)  # by id, with the platform's status; the file's own brand first
    toys = _toys(env)
    live = sum(1 for pid, p in env.products("demo").items() if p["status"] == "onSelling" and pid in toys)
    # every toys product is at risk (the simulator took only Playfun's offline; the guide delists the category)
    assert live == len(toys) - 4
    assert f"live products at risk: *{live}* of {len(toys)} (status from the platform)" in alert
    assert not _queued_runs_of(REPLACE)  # nothing new in the folder: the Asset is not updated

    # a valid renewal dropped in the folder (same issuer as the registry's Playfun CPC)
    make_certificate_pdf(env.certs / "Playfun_CPC_20271215.pdf", brand="Playfun", cert_type="CPC",
                         number="CPC-2026-1216", issuer="SGS", issue_date=date(2026, 12, 16),
                         valid_until=date(2027, 12, 15))
    _ok(WATCH, {"as_of": "2026-12-16", "stores": ["demo"]})
    assert [q.target_dag_id for q in _queued_runs_of(REPLACE)] == [REPLACE]  # the scheduler's queue: a run is due
    _sync_replace_dag_to_the_metadata_db()  # clears the queue: this test starts the run itself, as dag.test
    with session_scope(env.db_url) as s:
        [request] = s.scalars(select(CertificateReplacement)).all()
        assert (request.status, request.trigger, request.brand) == ("requested", "asset", "Playfun")

    _ok(REPLACE, {})  # the Asset-triggered run carries no Params
    products = env.products("demo")
    with session_scope(env.db_url) as s:
        [done] = s.scalars(select(CertificateReplacement)).all()
        assert done.status == "restored" and done.old_file.endswith("Playfun_CPC_20261215.pdf")
        assert done.new_file.endswith("Playfun_CPC_20271215.pdf") and done.run_id and done.photobank_url
        url = done.photobank_url
        writes = s.scalars(select(ApiWrite).where(ApiWrite.sync_run_id == done.sync_run_id)).all()
    assert len(writes) == 4 and {w.outcome for w in writes} == {"answered"}
    for pid in offline:
        assert products[pid]["status"] == "onSelling"
        assert products[pid]["qualifications"] == [{"key": CPC, "type": "image", "value": url}]
    assert httpx.get(url, timeout=10).headers["content-type"] == "image/jpeg"  # the rendered page 1
    final = _texts(env)[-1]
    assert "Certificate replaced: Playfun CPC, every product restored" in final


def _toys(env) -> set[int]:
    """The demo store's toys products (the sample export's category)."""
    import csv

    from aeops.exports import newest_export

    path = newest_export(env.config["stores"][0]["exports"])
    with open(str(path).removeprefix("file://"), encoding="utf-8-sig") as fh:
        return {int(r["product_id"]) for r in csv.DictReader(fh)
                if r["category"] == "toys" and r["product_id"].isdigit()}


@pytest.fixture(scope="module")
def api():
    return api_client()


@pytest.mark.parametrize("answer", ["Approve", "Reject"])
def test_a_renewal_from_another_lab_waits_for_a_persons_approval(env, api, answer: str) -> None:
    seller = DEMO_SELLERS["demo"][1]
    answer_ = httpx.post(f"{env.sim.url}/_sim/qualifications/{seller}/expire",
                         json={"category": "toys", "cert": "CPC", "brand": "Playfun"}, timeout=10)
    offline = answer_.json()["offline"]
    _ok(WATCH, {"as_of": "2026-12-16", "stores": ["demo"]})
    # the renewal comes from another lab than the registry's Playfun CPC (SGS): it waits, nothing rejects it
    make_certificate_pdf(env.certs / "Playfun_CPC_20271215.pdf", brand="Playfun", cert_type="CPC",
                         number="CPC-IT-2026-77", issuer="Intertek", issue_date=date(2026, 12, 16),
                         valid_until=date(2027, 12, 15))
    _ok(WATCH, {"as_of": "2026-12-16", "stores": ["demo"]})
    with session_scope(env.db_url) as s:
        held = s.scalars(select(Certificate).where(Certificate.store == "demo",
                                                   Certificate.file.like("%Playfun_CPC_20271215.pdf"))).one()
        old = s.scalars(select(Certificate).where(Certificate.store == "demo",
                                                  Certificate.file.like("%Playfun_CPC_20261215.pdf"))).one()
        assert (held.status, held.approval, old.status) == ("valid", "pending", "expired")  # the old stays in force
    photos = len(env.sim.catalog()["photobank"])
    before = {pid: env.products("demo")[pid].get("qualifications") for pid in offline}

    responder = Responder(api, REPLACE, [Step("replace_certificate.approve", answer)], fallback="Reject",
                          timeout_s=240)
    responder.start()
    try:
        dag_run = run_dag(REPLACE, {})  # the Asset-triggered run: no Params
    finally:
        responder.stop.set()
        responder.join(timeout=10)
    states = task_states(dag_run)
    assert str(dag_run.state) == "success", (states, responder.errors)
    assert not responder.errors, responder.errors
    [asked] = responder.answered
    body = asked.detail["body"]
    assert "Approve the Playfun CPC certificate upload for demo" in asked.detail["subject"]
    assert "| issuer ⚠ | SGS | Intertek |" in body and "| number ⚠ | CPC-2025-1215 | CPC-IT-2026-77 |" in body
    assert "| valid until | 2026-12-15 | 2027-12-15 |" in body and "| issue date | 2025-12-15 | 2026-12-16 |" in body
    assert asked.detail["options"] == ["Approve", "Reject"]
    products = env.products("demo")
    with session_scope(env.db_url) as s:
        [done] = s.scalars(select(CertificateReplacement)).all()
        approval = s.scalars(select(Certificate.approval).where(Certificate.id == held.id)).one()
    if answer == "Approve":
        assert done.status == "restored" and done.photobank_url and approval == "approved"
        assert len(env.sim.catalog()["photobank"]) == photos + 1
        for pid in offline:
            assert products[pid]["status"] == "onSelling"
            assert products[pid]["qualifications"] == [{"key": CPC, "type": "image", "value": done.photobank_url}]
    else:
        assert done.status == "declined" and done.photobank_url is None and approval == "rejected"
        assert len(env.sim.catalog()["photobank"]) == photos  # nothing uploaded
        for pid in offline:  # nothing attached: still offline, qualifications as they were
            assert products[pid]["status"] == "offline"
            assert products[pid].get("qualifications") == before[pid]
        assert states["replace_certificate.upload[0]"] == "skipped"
        assert states["replace_certificate.report[0]"] == "success"
    texts = [m["text"] for m in env.slack_messages()]
    assert any(t.startswith("Certificate upload waits for approval: Playfun CPC") for t in texts)
