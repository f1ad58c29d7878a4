"""The run report a person reads: headline, colours, chart, image previews, advice, store time, storefront links,
the CSV Excel opens on a Chinese Windows; and the catalog-health data."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from aeops.reports import charts, thumbnails
from aeops.reports.health import store_health
from aeops.reports.run_report import findings_csv, headline, report_names, write_run_report
from aeops.secrets import register_secret
from aeops.store.ledger import Ledger
from tests.reporting import seed_store_history, seed_sync_run, store_config


@pytest.fixture
def seeded(tmp_path: Path):
    ledger = Ledger(f"sqlite:///{tmp_path / 'aeops.db'}")
    store = store_config("demo", tmp_path / "reports")
    seed_store_history(ledger, store)
    run_id = seed_sync_run(ledger, store, "manual__2026-11-27T02:00:00+00:00")
    return ledger, store, run_id, tmp_path


def _decoded(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))


def test_the_report_reads_in_five_seconds_in_the_store_language(seeded) -> None:
    ledger, store, run_id, tmp = seeded
    html = (tmp / "reports" / report_names("demo", "manual__2026-11-27T02:00:00+00:00")[0]).read_text("utf-8")

    assert '<html lang="zh-CN">' in html
    assert ("37 个商品已更新，其中 34 个已在 3 种设备 × 5 个站点上核验；3 个商品未能更新；"
            "33 行需要您处理，其中 12 行是图片问题。") in html
    assert 'class="badge warn" data-status="partial">部分完成<' in html
    assert "2026-11-27 10:00 (UTC+08:00)" in html  # started 02:00 UTC, shown in Asia/Shanghai
    assert 'class="chart bars"' in html and html.count('class="bar"') >= 10 and "<script" not in html
    assert "<code>CERT-MISSING</code> <span class=\"bar-name\">缺少证书</span>" in html  # codes with their name
    # the finding's own words and the advice for its very cause, both in the store's language
    assert "SKU 编码 &#39;MUG&amp;SAUCER-01&#39; 含有平台不接受的字符 &#39;&amp;&#39;" in html
    assert "在 ERP 中重命名该 SKU，只使用 [A-Za-z0-9_.:+()-] 中的字符" in html
    assert 'href="http://127.0.0.1:8765/store/en/item/' in html  # the product's storefront page
    english = store_config("demo", tmp / "en", language="en")
    paths = write_run_report(ledger, run_id, str(tmp / "en"), english)
    assert paths["headline"] == ("37 products updated, 34 verified on 3 devices × 5 sites; 3 products could not be "
                                 "updated; 33 rows need your attention, 12 of them images.")
    assert '<html lang="en">' in Path(paths["html"]).read_text("utf-8")


def test_rejected_and_fixed_images_are_embedded_as_small_fresh_previews(seeded) -> None:
    _ledger, _store, _run_id, tmp = seeded
    html = (tmp / "reports" / report_names("demo", "manual__2026-11-27T02:00:00+00:00")[0]).read_text("utf-8")
    uris = [chunk.split('"', 1)[0] for chunk in html.split('src="')[1:]]

    assert uris and all(u.startswith(("data:image/jpeg;base64,", "data:image/png;base64,")) for u in uris)
    assert all(max(_decoded(u).size) <= thumbnails.SIZE for u in uris)
    assert html.count('class="noimg"') >= 2  # the unreadable files say "no preview" instead
    assert "修复前：透明背景" in html and "修复后：白色背景" in html and "https://ae01.alicdn.com/kf/" in html
    previews = html.split('id="images"')[1].split('id="rejected"')[0]
    assert "/include/" not in previews and "/sample/" not in previews  # previews name files, never worker paths


def test_a_transparent_png_is_shown_on_a_checkerboard_before_and_on_white_after(tmp_path: Path) -> None:
    source = tmp_path / "t.png"
    Image.new("RGBA", (400, 400), (0, 0, 0, 0)).save(source)

    before = _decoded(thumbnails.thumbnail(source, background="checker")).convert("RGB")
    after = _decoded(thumbnails.thumbnail(source, background="white")).convert("RGB")

    assert {before.getpixel((1, 1)), before.getpixel((9, 1))} == {(255, 255, 255), (204, 204, 204)}
    assert after.getpixel((1, 1)) == (255, 255, 255) and after.getpixel((9, 1)) == (255, 255, 255)
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert thumbnails.thumbnail(tmp_path / "bad.jpg") is None
    assert thumbnails.local_image("https://img.example/a.jpg", str(tmp_path)) is None  # URLs are never fetched
    assert thumbnails.local_image("t.png", str(tmp_path)) == source


def test_the_csv_has_a_bom_for_excel_and_what_to_do_in_the_store_language(seeded) -> None:
    _ledger, _store, _run_id, tmp = seeded
    data = (tmp / "reports" / report_names("demo", "manual__2026-11-27T02:00:00+00:00")[1]).read_bytes()

    assert data.startswith(b"\xef\xbb\xbf")
    header, *rows = data.decode("utf-8-sig").splitlines()
    assert header == "code,severity,file,row,product_id,sku_code,field,message,what_to_do,message_en"
    [row] = [r for r in csv.reader(rows) if r[0] == "SKU-CHARS" and r[5] == "MUG&SAUCER-01"]
    assert row[7] == "SKU 编码 'MUG&SAUCER-01' 含有平台不接受的字符 '&'"  # message: in the store's language
    assert row[8] == "在 ERP 中重命名该 SKU，只使用 [A-Za-z0-9_.:+()-] 中的字符"  # what to do about this cause
    assert row[9] == ("SKU code 'MUG&SAUCER-01' contains '&', which the marketplace rejects; rename the SKU in the "
                      "ERP using only [A-Za-z0-9_.:+()-]")  # message_en: the --json message, for tooling


def test_secrets_never_reach_the_csv() -> None:
    register_secret("sk-live-1234567890")
    finding = SimpleNamespace(code="FILE-UNREADABLE", severity="error", file="f", row=None, product_id=None,
                              sku_code=None, field=None, message="token sk-live-1234567890 refused")
    assert "sk-live-1234567890" not in findings_csv([finding], "en")


@pytest.mark.parametrize(("status", "counts", "expected"), [
    ("skipped", {}, "Nothing to do: already synced"),
    ("failed", {}, "The run stopped before anything was pushed; no row needs your attention."),
    ("dry_run", {"planned_price": 4}, "Dry run: 4 products would change, nothing was written; no row needs your "
                                      "attention."),
    ("success", {"confirmed": 2, "verified": 2, "verify_grid": [3, 5]},
     "2 products updated and verified on 3 devices × 5 sites; no row needs your attention."),
    ("partial", {"confirmed": 3, "failed": 1}, "3 products updated (not verified); 1 product could not be updated; "
                                               "no row needs your attention."),
    ("dry_run", {"planned_price": 4, "guard_held": 1}, "Dry run: 4 products would change, nothing was written; the "
     "export guard would hold this export for a person's approval; no row needs your attention."),
    ("rejected", {"planned_price": 4, "guard_held": 1}, "Nothing was written to the marketplace: the export guard "
     "held this export and it was not approved; no row needs your attention."),
])
def test_the_headline_says_what_happened(status, counts, expected) -> None:
    run = SimpleNamespace(status=status, counts=counts, message="already synced")
    assert headline(run, [], "en") == expected


def test_charts_escape_their_labels() -> None:
    svg = str(charts.bar_chart([charts.Bar("<b>x</b>", 3, "bad")], title="t & u"))
    assert "<b>" not in svg and "&lt;b&gt;" in svg and 'aria-label="t &amp; u"' in svg
    assert charts.bar_chart([], title="none") == ""


def test_store_health_has_every_section(seeded) -> None:
    ledger, store, _run_id, _tmp = seeded

    health = store_health(ledger, store, now=datetime(2026, 11, 27, 3, 0, tzinfo=UTC))

    assert health.last_run.status == "partial" and len(health.runs) == 5
    assert len(health.trend) == 4 and health.totals[0] == ("IMG-UNREADABLE", 5)
    latest = health.latest_completion
    assert latest["rate"] == pytest.approx(34 / 37) and latest["marketplace"] == 0.97
    assert health.strikes_total == 1
    assert [c["type"] for c in health.certificates] == ["CE", "CPC"] and health.certificates[0]["tone"] == "warn"
    assert health.person_tasks == []
    assert health.urgent[0]["verdict"] == "on_time" and health.urgent[0]["minutes"] == 11.0
    assert health.outbox["waiting"] == 1 and health.outbox["last_error"] == "http 503"


def test_the_trends_count_the_stores_own_daily_dag_with_the_all_store_one(tmp_path: Path) -> None:
    """A store's daily syncs run under ``aliexpress_catalog_sync__<store>`` (the all-store DAG only by hand): the
    findings trend and the completion figures read both, and neither another job's nor another store's runs."""
    ledger = Ledger(f"sqlite:///{tmp_path / 'aeops.db'}")
    store = store_config("demo", tmp_path / "reports")
    seed_store_history(ledger, store)  # three earlier syncs of the all-store DAG
    own = seed_sync_run(ledger, store, "scheduled__2026-11-26T18:00:00+00:00", dag_id="aliexpress_catalog_sync__demo")
    cert = ledger.runs.start("demo", "aliexpress_certificate_expiry__demo", "scheduled__2026-11-27T01:00:00+00:00",
                             kind="certificates")
    ledger.runs.update(cert, status="success", counts={"products_at_risk": 3, "completion_rate": 0.5})
    other = ledger.runs.start("demo-kids", "aliexpress_catalog_sync__demo-kids", "scheduled__2026-11-27T10:00:00+00:00")
    ledger.runs.update(other, status="success", counts={"completion_rate": 0.1})

    health = store_health(ledger, store, now=datetime(2026, 11, 27, 3, 0, tzinfo=UTC))

    assert len(health.trend) == 4 and health.totals[0] == ("IMG-UNREADABLE", 5)  # the per-store run's findings
    assert [c["run"].id for c in health.completion][0] == own
    assert health.latest_completion["rate"] == pytest.approx(34 / 37)
    assert [c["run"].dag_id for c in health.completion] == ["aliexpress_catalog_sync__demo"] + [
        "aliexpress_catalog_sync"] * 3
    assert cert in [r.id for r in health.runs]  # the last runs list every job's


def test_open_person_tasks_of_the_store_are_listed_with_what_still_differs(seeded) -> None:
    ledger, store, _run_id, _tmp = seeded
    ledger.person_tasks.open("demo", "store_settings", "store_name", "Fix the store name",
                             {"differences": ["store name: the page shows 'Old' (mobile)"]}, "run-1")
    logo, _ = ledger.person_tasks.open("demo", "logo_rotation", "logo", "Upload the logo", {}, "run-1")
    ledger.person_tasks.close(logo.id, "run-1", "ops", "verified")
    ledger.person_tasks.open("other", "logo_rotation", "logo", "x", {}, "run-1")

    health = store_health(ledger, store)

    assert [t["title"] for t in health.person_tasks] == ["Fix the store name"]
    assert health.person_tasks[0]["differences"] == ["store name: the page shows 'Old' (mobile)"]


def test_planned_overrides_are_listed_with_their_start_end_approval_and_phase(seeded) -> None:
    from datetime import timedelta

    ledger, store, _run_id, _tmp = seeded
    now = datetime(2026, 11, 26, 18, 0, tzinfo=UTC)
    starts = datetime(2026, 11, 27, 0, 0, tzinfo=UTC)

    def planned(run_id: str, decision: str | None, end_at: str | None) -> int:
        run = ledger.runs.start("demo", "aliexpress_urgent_rerun", run_id, kind="urgent")
        ledger.runs.update(run, artifacts={
            "request": {"mode": "price_override", "reason": "Black Friday", "start_at": "2026-11-27T00:00+00:00",
                        "end_at": end_at},
            "deadline": {"triggered_at": starts.isoformat(), "deadline_minutes": 15}})
        ledger.runs.add_milestone(run, "approval-asked", {})
        if decision:
            ledger.runs.add_milestone(run, "approval", {"decision": decision})
        return run

    planned("ahead", "approved", "2026-11-28T00:00+00:00")
    planned("asked", None, None)
    planned("refused", "rejected", None)

    listed = {p["run"].run_id: p for p in store_health(ledger, store, now=now).planned}

    assert (listed["ahead"]["approval"], listed["ahead"]["phase"]) == ("approved", "waiting")
    assert listed["ahead"]["starts"] == starts and listed["ahead"]["ends"] == starts + timedelta(days=1)
    assert (listed["asked"]["approval"], listed["asked"]["phase"]) == ("waiting", "waiting")
    assert listed["refused"]["phase"] == "cancelled"
    later = {p["run"].run_id: p["phase"] for p in store_health(ledger, store, now=starts + timedelta(days=2)).planned}
    assert later["ahead"] == "ended" and later["asked"] == "started"


@pytest.mark.parametrize(("dry_run", "decision", "said"), [
    (True, None, "Dry run: the export guard would hold this export (nothing is written in a dry run)."),
    (False, "rejected", "Held by the export guard and rejected by ops-lead: nothing was written to the marketplace."),
    (False, "approved", "Held by the export guard, approved by ops-lead: pushed."),
])
def test_a_held_export_is_shown_with_its_checks_and_largest_moves(seeded, dry_run, decision, said) -> None:
    ledger, _store, run_id, tmp = seeded
    checks = [{"check": "changed_prices", "count": 9, "of": 10, "value": 90.0, "limit": 20.0, "tripped": True},
              {"check": "price_move", "count": 0, "of": 9, "value": 50.0, "limit": 50.0, "tripped": False}]
    moves = {"prices": [{"product_id": 7, "sku_code": "A-1", "old": "10.00", "new": "5.00", "percent": -50.0}]}
    ledger.guards.record(run_id, "demo", held=True, dry_run=dry_run, checks=checks, moves=moves, product_ids=[7])
    if decision:
        ledger.guards.decide(run_id, decision, "ops-lead", datetime(2026, 11, 27, 3, 0, tzinfo=UTC))
    english = store_config("demo", tmp / "en", language="en")

    html = Path(write_run_report(ledger, run_id, str(tmp / "en"), english)["html"]).read_text("utf-8")

    assert 'id="export-guard"' in html and said in html
    assert "⚠ 9 of 10 SKUs change price (90%; the limit is 20%)" in html
    assert "0 SKU price(s) move by more than 50% (the largest move: 50%)" in html
    assert "product 7 SKU A-1: price 10.00 → 5.00 (-50.0%)" in html
    assert ("2026-11-27 11:00 (UTC+08:00)" in html) == bool(decision)  # when it was decided, in store time


def test_a_run_the_guard_did_not_hold_has_no_guard_section(seeded) -> None:
    ledger, _store, run_id, tmp = seeded
    ledger.guards.record(run_id, "demo", held=False, dry_run=False, checks=[], moves={}, product_ids=[7])
    html = Path(write_run_report(ledger, run_id, str(tmp / "en"), store_config("demo", tmp / "en", language="en"))
                ["html"]).read_text("utf-8")
    assert 'id="export-guard"' not in html
