"""The certificate-expiry DAG end to end: dag.test() over the sample certificates, time-travelling with ``as_of``,
asserting on the messages the Slack sink received."""

from __future__ import annotations

import re
import shutil
from datetime import date

import pytest
from sqlalchemy import select

from aeops import embedded as embedded_mode
from aeops.rules.certs_testing import make_certificate_pdf
from aeops.store import session_scope
from aeops.store.models import Certificate
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
    started = embedded(config_overrides={"stores": stores})
    started.certs = certs
    return started


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
    # the products at risk by id and title, with the status the platform shows now (not assumed)
    assert "needed by: toys · live products at risk: *4* of 4 (status from the platform)" in text
    playfun_toys = re.findall(r"`(\d+)` Playfun [^\n]* \(onSelling\)", text)
    assert len(playfun_toys) == 4
    assert "Gizmo_CE_20280301.pdf" in text and "password-protected" in text
    assert "Voltix_CE_20280110.pdf" in text  # the misnamed copy is covered by the valid one
    assert "Tinytoy" not in text  # its bad 2027 file is replaced by the valid 2028 one: nothing to say

    _run("2026-11-26")  # the same day again: nothing new
    assert len(_texts(env, "demo")) == 1

    _run("2026-11-27")  # next day: only the expired certificate repeats (daily), no threshold again
    second = _texts(env, "demo")[-1]
    assert len(_texts(env, "demo")) == 2
    assert "*Sparky CE*" in second and "Playfun" not in second and "Gizmo" not in second

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
