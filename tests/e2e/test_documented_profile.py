"""aeops on the simulator's ``documented`` profile: only what AliExpress documents, as on a real store (no
account standing, no merchant type, no review reason, no page timestamps, no completion rate).

- the daily sync passes the standing check by the operator's declaration in ``aeops_config``, pushes and verifies,
  and its report says who allowed the writes and which checks the platform does not allow;
- a store whose profile says ``product_posting_forbidden`` is refused with that reason, and nothing is written;
- an individual merchant (declared) cannot replace a certificate: nothing is uploaded to the photobank and no
  product gets a qualification.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from aeops import embedded as embedded_mode
from aeops.catalog.account import standing_of
from aeops.demo import DEMO_SELLERS
from aeops.rules.certs_testing import make_certificate_pdf
from aeops.store import session_scope
from aeops.store.models import ApiWrite, CertificateReplacement, SyncRun
from tests.e2e.harness import SAMPLE, run_dag, task_states

pytestmark = pytest.mark.e2e
SYNC = "aliexpress_catalog_sync"
REPLACE = "aliexpress_certificate_replace"


def _run_of(env, store: str) -> SyncRun:
    with session_scope(env.db_url) as s:
        run = s.scalars(select(SyncRun).where(SyncRun.store == store, SyncRun.dag_id == SYNC)
                        .order_by(SyncRun.id.desc())).first()
        s.expunge(run)
        return run


def test_the_daily_sync_passes_standing_by_the_operators_declaration(embedded) -> None:
    env = embedded(profile="documented")
    assert env.sim.profile.name == "documented"

    dag_run = run_dag(SYNC, {"stores": ["demo"]})

    assert str(dag_run.state) == "success", task_states(dag_run)
    run = _run_of(env, "demo")
    assert run.status == "success" and run.counts["verified"] == run.counts["confirmed"] > 0
    standing = standing_of(run)
    assert standing is not None and (standing.allowed, standing.source) == (True, "declaration")
    assert standing.posting_forbidden is False and standing.standing_checked_on  # the demo store's declaration
    assert run.counts["checks_not_allowed"] == ["completion_rate", "page_timestamps"]
    assert "marketplace_completion_rate" not in run.counts
    report = Path(run.report_path).read_text(encoding="utf-8")  # demo reads English
    assert 'id="standing" data-source="declaration"' in report
    assert "writes allowed by the operator&#39;s declaration" in report  # (the page escapes the apostrophe)
    assert 'data-check="completion_rate"' in report and 'data-check="page_timestamps"' in report
    assert "cannot be checked here: the platform does not allow this check" in report


def test_a_store_the_platform_forbids_to_post_is_refused_with_the_reason(embedded) -> None:
    env = embedded(profile="documented")
    env.sim.state.set_seller(DEMO_SELLERS["demo-kids"][1], product_posting_forbidden=True)
    before = env.products("demo-kids")

    dag_run = run_dag(SYNC, {"stores": ["demo-kids"]})

    assert str(dag_run.state) == "failed"
    assert task_states(dag_run)["prepare.preflight[0]"] == "failed"
    run = _run_of(env, "demo-kids")
    standing = standing_of(run)
    assert standing is not None and (standing.allowed, standing.source) == (False, "platform")
    with session_scope(env.db_url) as s:
        assert s.scalar(select(func.count()).select_from(ApiWrite)) == 0
    assert env.products("demo-kids") == before
    pages = [m["text"] for m in env.slack_messages() if m.get("text", "").startswith(f"{SYNC} 运行失败")]
    assert len(pages) == 1 and "the platform forbids this seller to post products" in pages[0], pages
    assert "product_posting_forbidden" in pages[0]
    report = Path(run.report_path).read_text(encoding="utf-8")  # demo-kids reads Chinese
    assert 'id="standing" data-source="platform"' in report and "平台禁止此卖家发布商品" in report


def test_an_individual_merchant_cannot_replace_a_certificate(embedded, tmp_path) -> None:
    certs = tmp_path / "certs"
    shutil.copytree(SAMPLE / "certs", certs)
    stores = embedded_mode.aeops_config()["stores"]
    for store in stores:
        store["certs"] = certs.as_uri()
        store["language"] = "en"
        if store["name"] == "demo":
            store["merchant_type"] = "individual"
    env = embedded(profile="documented", faults="qualification_s=2", config_overrides={"stores": stores})
    seller = DEMO_SELLERS["demo"][1]
    offline = httpx.post(f"{env.sim.url}/_sim/qualifications/{seller}/expire",
                         json={"category": "toys", "cert": "CPC", "brand": "Playfun"}, timeout=10).json()["offline"]
    assert len(offline) == 4
    new = make_certificate_pdf(tmp_path / "in" / "Playfun_CPC_20271215.pdf", brand="Playfun", cert_type="CPC",
                               number="CPC-2026-1216", issuer="SGS", issue_date=date(2026, 12, 16),
                               valid_until=date(2027, 12, 15))
    before = env.sim.catalog()

    dag_run = run_dag(REPLACE, {"store": "demo", "certificate": str(new), "reason": "CPC expired",
                                "as_of": "2026-12-16"})

    assert str(dag_run.state) == "failed"  # the report task says why, in one line
    after = env.sim.catalog()
    assert after["photobank"] == before["photobank"]  # nothing uploaded
    for pid in offline:
        product, was = after["products"][str(pid)], before["products"][str(pid)]
        assert product.get("qualifications") == was.get("qualifications")  # nothing attached
        assert product["status"] == "offline"
    with session_scope(env.db_url) as s:
        [row] = s.scalars(select(CertificateReplacement)).all()
        assert (row.status, row.photobank_url, row.sync_run_id) == ("refused", None, None)
        assert s.scalar(select(func.count()).select_from(ApiWrite)) == 0
    texts = [m.get("text", "") for m in env.slack_messages()]
    refused = [t for t in texts if t.startswith("Certificate replacement refused, nothing uploaded or attached")]
    assert len(refused) == 1, texts
    blocks = next(m for m in env.slack_messages() if m.get("text", "") == refused[0])["blocks"]
    assert "the operator declares an individual merchant" in str(blocks)
