"""No English sentence in what a Chinese store's people read, no Chinese in what an English store's read.

Covers every cause of every finding code (rendered with sample values, and the real findings of the sample export,
certificates and logos), every Slack message kind and every person-task kind with its form (subject, text, answers,
the note's title and help). Data stays as it is (file names, SKU codes, error details a library gave, codes,
links): the check removes the values a message was filled with, code spans, links and quoted values, then looks
for two or more English words in a row.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from aeops import findings as finding_module
from aeops.config import load_config
from aeops.findings import ALL_CODES, CAUSES, PARTS, Finding, Text, placeholders
from aeops.i18n import translator
from aeops.notify.finding_texts import finding_message, finding_problem, finding_todo

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "include" / "sample"
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
WORD = r"[A-Za-z][A-Za-z'’]*"
ENGLISH = re.compile(rf"(?<![\w\-./<\[{{]){WORD}(?:[ ]+{WORD})+(?![\w\-./>\]}}])")
# Names that stay as they are in a Chinese text: products, setting and column names, platform statuses
KEPT = ("Open Platform API", "Required Actions", "Information Accuracy", "Pillow", "Excel", "Airflow", "aeops",
        "Slack", "AliExpress", "CSV UTF-8")
# Every rule module declares its causes when imported
RULE_MODULES = ("aeops.rules.rows", "aeops.rules.images", "aeops.rules.certs", "aeops.rules.logo",
                "aeops.rules.detectors", "aeops.exports.reader", "aeops.exports.columns")
SAMPLE_VALUES = {"n": 3, "days": 5, "limit": 20, "side": 800, "width": 640, "height": 480, "size": "4.2",
                 "status": 404, "alpha": 0, "edges": 2, "years": 2, "deadline": 30, "warn": 30, "bits": 12,
                 "have": 4, "want": 9, "shown": 2, "wanted": 3, "hours": 24, "cap": 10}


def _import_rules() -> None:
    import importlib

    for name in RULE_MODULES:
        importlib.import_module(name)


def english_in(text: str, data: Iterable[Any] = ()) -> list[str]:
    """English word runs left in ``text`` once data, code spans, links and quoted values are taken out."""
    for value in sorted({str(v) for v in data if str(v)}, key=len, reverse=True):
        text = text.replace(value, " ¦ ")
    text = re.sub(r"```.*?```", " ¦ ", text, flags=re.S)
    text = re.sub(r"`[^`]*`", " ¦ ", text)
    text = re.sub(r"<(?:https?|file)://[^|>]*\|([^>]*)>", r" ¦ \1 ¦ ", text)
    text = re.sub(r"\[([^\]]*)\]\((?:https?|file)://[^)]*\)", r" ¦ \1 ¦ ", text)
    text = re.sub(r"(?:https?|file)://\S+", " ¦ ", text)
    text = re.sub(r"'[^'\n]*'", " ¦ ", text)
    for name in KEPT:
        text = text.replace(name, " ¦ ")
    return ENGLISH.findall(text)


def _values(params: dict[str, Any]) -> list[Any]:
    """The data a text was filled with (its parts are text, not data)."""
    found: list[Any] = []
    for value in params.values():
        if isinstance(value, Text):
            found += _values(dict(value.params))
        elif isinstance(value, list | tuple):
            for item in value:
                found += _values(dict(item.params)) if isinstance(item, Text) else [item]
        else:
            found.append(value)
    return found


def _sample(template: str) -> Text:
    return Text(template, {name: SAMPLE_VALUES.get(name, f"Q{len(name)}x") for name in placeholders(template)})


def check_chinese(label: str, text: str, data: Iterable[Any] = ()) -> list[str]:
    """Problems of ``text`` as a Chinese store's reader gets it (empty: fine)."""
    problems = []
    if not CJK.search(text):
        problems.append(f"{label}: no Chinese at all: {text[:200]!r}")
    left = english_in(text, data)
    if left:
        problems.append(f"{label}: English left {left} in {text[:300]!r}")
    return problems


def check_english(label: str, text: str, source: str = "") -> list[str]:
    """Chinese in an English store's text is wrong, unless the English source itself holds it (a date example)."""
    return [] if not CJK.search(text) or CJK.search(source) else [f"{label}: Chinese in English: {text[:300]!r}"]


# ------------------------------------------------------------------------------------------- finding codes
def test_every_finding_code_has_causes_each_with_what_to_do() -> None:
    _import_rules()
    codes = {c.code for c in CAUSES}
    assert set(ALL_CODES) - codes == {"LOGO-STALE"}  # the quarterly reminder is a Slack notice, not a finding
    assert all(c.todo for c in CAUSES), [c.problem for c in CAUSES if not c.todo]


def test_every_cause_and_part_reads_in_chinese_and_in_english() -> None:
    _import_rules()
    zh, en = translator("zh-CN"), translator("en")
    problems: list[str] = []
    for template in sorted({t for c in CAUSES for t in (c.problem, c.todo) if t} | set(PARTS)):
        sample = _sample(template)
        problems += check_chinese(template, sample.render(zh), sample.params.values())
        problems += check_english(template, sample.render(en), template)
    assert not problems, "\n".join(problems)


def _sample_findings() -> list[Finding]:
    """The real findings of the sample export (every finding code on purpose), its certificates and logos."""
    from aeops.catalog.validation import validate_export
    from aeops.rules.certs import scan_certificates
    from aeops.rules.logo import check_logo

    export = next(iter(sorted((SAMPLE / "exports" / "demo").glob("*.csv"))))
    result = validate_export(str(export), images_dir=str(SAMPLE / "images"), certs_dir=str(SAMPLE / "certs"),
                             as_of=date(2026, 11, 26), known_freight_templates={"1001"})
    found = list(result.findings) + scan_certificates(str(SAMPLE / "certs"), date(2026, 11, 26))[1]
    for logo in sorted((SAMPLE / "logo").glob("*")):
        found += check_logo(logo, detect_text=False)
    return found


def test_the_sample_findings_come_in_the_store_language_in_the_report_csv_and_slack() -> None:
    found = _sample_findings()
    assert len({f.code for f in found}) >= 20
    problems = []
    for f in found:
        assert f.problem is not None and f.todo is not None, f  # every rule says what and what to do, by cause
        data = _values(dict(f.problem.params))
        problems += check_chinese(f.code, finding_message(f, "zh-CN"), data)
        problems += check_chinese(f.code, finding_todo(f, "zh-CN") or "", data)
        problems += check_english(f.code, finding_message(f, "en"), f.problem.template)
        assert finding_message(f, "en") == f.message  # the English one is the --json contract's message
    assert not problems, "\n".join(problems[:40])


def test_the_advice_follows_the_cause_not_only_the_code(tmp_path: Path) -> None:
    from aeops.rules.certs import NO_TEXT, PASSWORD

    locked = PASSWORD.finding(file="x", name="'Gizmo_CE_20280301.pdf'")
    scanned = NO_TEXT.finding(file="x", name="'Gizmo_CE_20280301.pdf'")
    assert locked.code == scanned.code == "CERT-UNREADABLE"
    assert finding_problem(locked, "zh-CN") == "无法检查证书 'Gizmo_CE_20280301.pdf'：文件有密码保护"
    assert finding_todo(locked, "zh-CN") == "上传一份没有密码的副本"
    assert finding_todo(scanned, "zh-CN").startswith("上传发证机构提供的 PDF")
    assert finding_todo(locked, "en") == "Upload a copy without a password"
    kept = SimpleNamespace(code="CERT-UNREADABLE", message="old", texts=None)  # a finding kept before 0008
    assert finding_problem(kept, "zh-CN") == "old" and finding_todo(kept, "zh-CN").startswith("上传可读取的证书 PDF")


def test_a_finding_keeps_its_texts_through_the_aeops_db_and_json(tmp_path: Path) -> None:
    from aeops.rules.certs import DISAGREES, TEXT_BRAND
    from aeops.store.ledger import Ledger

    finding = DISAGREES.finding(file="f", name="'A_CE_20270101.pdf'",
                                differences=[Text(TEXT_BRAND, {"in_text": "'B'", "in_name": "'A'"})])
    ledger = Ledger(f"sqlite:///{tmp_path / 'aeops.db'}")
    run = ledger.runs.start("demo", "d", "r")
    ledger.runs.store_findings(run, "demo", [finding])
    [row] = ledger.runs.findings(run)
    assert row.message == finding.message and finding_message(row, "en") == finding.message
    assert finding_message(row, "zh-CN") == ("证书 'A_CE_20270101.pdf' 的文件名与证书正文不一致：正文中的品牌为 'B'，"
                                             "文件名中为 'A'；按证书正文重命名文件（或取得正确的证书）")
    assert finding_module.texts_of({"texts": finding.texts_json()})[0] == finding.problem


# ------------------------------------------------------------------------------------------- Slack
def _slack_messages(lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every kind of Slack message aeops posts, built in ``lang`` (with real findings, not stand-ins)."""
    from aeops.rules.rows import SKU_CHARS
    from aeops.storefront import settings_steps
    from aeops.sync import freshness, repeat_failures
    from tests.unit.test_i18n import _every_message

    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)  # this test's own DB, not the embedded one
    messages = dict(_every_message(lang))  # failure, summary, details, strike, urgent progress, certs, logo, ...
    finding = SKU_CHARS.finding(row=3, sku_code="A&B", field="sku_code", sku="'A&B'", chars="'&'",
                                allowed="A-Za-z0-9_.:+()-")
    from aeops.notify.messages import summary_details, sync_summary

    flat = "{0.text} {0.blocks}".format
    messages["summary"] = flat(sync_summary(store="demo", dag_id="d", run_id="r", rows=10,
                                            findings_by_code={"SKU-CHARS": 9}, pushed=3, failed=1, verified=2,
                                            completion_rate=0.5, top_findings=[finding] * 9, lang=lang,
                                            report_url="http://x/aeops/reports/demo/d/r"))
    messages["details"] = flat(summary_details([finding], store="demo", run_id="r", lang=lang)[0])
    sent: list[Any] = []
    monkeypatch.setattr(settings_steps, "send", lambda message, **kw: sent.append(message))
    monkeypatch.setattr("aeops.sync.guard_hold.send", lambda message, **kw: sent.append(message))
    config = load_config({"database_url": f"sqlite:///{tmp_path / 'aeops.db'}",
                          "stores": [{"name": "demo", "language": lang}]})
    store = config.store("demo")
    ctx = SimpleNamespace(store=store, config=config, db_url=config.resolved_database_url())
    run = SimpleNamespace(dag_id="d", run_id="r")
    messages["fresh"] = flat(freshness._alert(ctx, run, {"export_age_hours": 30, "oldest_unsynced_hours": 25},
                                              True, True))
    messages["failing"] = flat(repeat_failures._message(ctx, run, [
        {"product_id": 7, "kind": "price", "error_code": "E1", "error_message": "x", "runs": 3}]))
    settings_steps._post_accuracy(config, "demo", {"accuracy": 0.5, "matched": 1, "tracked": 2, "trend": [1.0, 0.5],
                                                   "as_of": "2026-11-27"}, [], None, ["Q"])
    messages["settings"] = flat(sent.pop())
    messages["approval"] = approval_notice(lang)
    messages["export_guard"] = export_guard_texts(config, sent, lang)
    return messages


def export_guard_texts(config: Any, sent: list[Any], lang: str) -> str:
    """The export guard's Slack notice, its approval form and its report lines for an export halving every price."""
    from aeops.catalog.context import context
    from aeops.catalog.diff import diff_catalog
    from aeops.reports.guard_texts import decision_text
    from aeops.sync import guard_hold

    ctx = context("demo", config)
    run = ctx.ledger.runs.start("demo", "d", "r")
    current = {pid: {"skus": {f"S{pid}": {"price": "10.00", "discount_price": "8.00", "stock": 5}}}
               for pid in range(1, 6)}
    desired = {pid: {"skus": {f"S{pid}": {"price": "5.00", "discount_price": "4.00", "stock": 0}}}
               for pid in range(1, 5)}
    ctx.ledger.guards.record(run, "demo", held=False, dry_run=False, checks=[], moves={}, product_ids=range(1, 6))
    run = ctx.ledger.runs.start("demo", "d", "r2")
    changes = diff_catalog(desired, current)
    guard_hold.guard_plan(ctx, run, desired, current, changes, dry_run=False)
    form = guard_hold.approval_form("demo", "d", "r2", link="http://x/hitl", wait_hours=6, config=config)
    notice = "{0.text} {0.blocks}".format(sent.pop())
    guard = ctx.ledger.guards.of_run(run)
    outcomes = []
    for decision, by in (("approved", "w"), ("rejected", "w"), ("timed out", None), (None, None)):
        guard.decision, guard.decided_by = decision, by
        outcomes.append(decision_text(guard, lang))
    return " ".join([notice, form["subject"], form["body"], *outcomes])


def approval_notice(lang: str) -> str:
    """The approval form's text (the subject and body a person answers) for a risky override."""
    from aeops.urgent.approval import APPROVE, REJECT

    _ = translator(lang)
    return " ".join([_(APPROVE), _(REJECT), _("**{approve}** writes these prices now; **{reject}** writes nothing. "
                                               "No answer within {minutes} minutes counts as {reject}.").format(
        approve=_(APPROVE), reject=_(REJECT), minutes=60)])


def test_every_slack_message_kind_is_chinese_for_a_chinese_store(tmp_path, monkeypatch) -> None:
    zh = _slack_messages("zh-CN", tmp_path / "zh", monkeypatch)
    en = _slack_messages("en", tmp_path / "en", monkeypatch)
    data = ("demo", "d", "r", "Acme", "CE", "Acme_CE_20261210.pdf", "electronics", "price_override", "push",
            "RuntimeError: boom", "timed out", "Black Friday", "li", "A&B", "E1", "fr", "p1", "x.pdf", "x", "w", "Q")
    problems = []
    for kind in zh:
        problems += check_chinese(kind, zh[kind], data)
        problems += check_english(kind, en[kind])
    assert not problems, "\n".join(problems)


def test_a_run_posts_one_summary_with_the_top_findings_and_the_report_link() -> None:
    from aeops.notify.messages import sync_summary
    from aeops.rules.rows import SKU_MISSING

    findings = [SKU_MISSING.finding(row=n) for n in range(2, 47)]
    message = sync_summary(store="demo", dag_id="d", run_id="r", rows=50, findings_by_code={"SKU-MISSING": 45},
                           pushed=5, failed=0, verified=5, top_findings=findings, lang="zh-CN",
                           report_url="https://airflow.example/aeops/reports/demo/d/r")
    text = str(message.blocks)
    assert text.count("SKU 编码为空") == 5 and "另有 40 条，见报告及其 CSV" in text
    assert "<https://airflow.example/aeops/reports/demo/d/r|打开报告>" in text


# ------------------------------------------------------------------------------------------- person tasks
def _storefront() -> Any:
    return SimpleNamespace(base_url="http://127.0.0.1:8765", store_num=912, real=False)


def _person_tasks(lang: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Every person-task kind opened for a store in ``lang``, and the form that asks about them."""
    from PIL import Image

    from aeops.catalog.context import RunContext
    from aeops.catalog.diff import PlannedChange
    from aeops.rules.detectors import NO_FACE
    from aeops.store.ledger import Ledger
    from aeops.store.repos import person_tasks
    from aeops.store.status import ChangeStatus
    from aeops.storefront import page_compare, settings_steps
    from aeops.sync import image_flags

    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)  # this test's own DB, not the embedded one
    tmp_path.mkdir(parents=True, exist_ok=True)
    logo = tmp_path / "logo.png"
    Image.new("RGB", (800, 800), "white").save(logo)
    config = load_config({"database_url": f"sqlite:///{tmp_path / 'aeops.db'}",
                          "stores": [{"name": "demo", "language": lang, "store_name": "Demo Store",
                                      "store_logo": str(logo), "response_time_hours": 24}]})
    store, url = config.store("demo"), config.resolved_database_url()
    ledger = Ledger(url)
    fields = [page_compare.FieldResult("name", "'Demo Store'", False, {"desktop": "'demo store'", "mobile": "ok"}),
              page_compare.FieldResult("logo", "logo.png", False, {"desktop": Text(page_compare.NO_IMAGE)}),
              page_compare.FieldResult("response_time", Text(page_compare.AT_MOST_HOURS, {"hours": "24"}), False,
                                       {"anonymous": Text(page_compare.PAGE_UNREADABLE, {"error": "HTTP 503"})})]
    comparison = page_compare.Comparison("demo", fields)
    title, detail = settings_steps.settings_task(store, comparison, _storefront())
    ledger.person_tasks.open("demo", "store_settings", "store_settings", title, detail, "r")
    status = page_compare.RotationStatus(due=True, quarter="2027Q1", last_change=date(2026, 10, 2),
                                         previous_sha256=None)
    title, detail = settings_steps.rotation_task(store, status, _storefront(), ledger, [])
    ledger.person_tasks.open("demo", "logo_rotation", "logo_rotation:2027Q1", title, detail, "r")
    ctx = RunContext(config, store, ledger)
    image_flags._refresh_review_task(ctx, "r", [NO_FACE.finding(file="dress.jpg", product_id=7, source="dress.jpg")])
    ledger.products.save_seen("demo", {1: ({"main_image": "a"}, None)})
    ledger.products.save_seen("demo", {4: ({"main_image": "mug.png"}, None)})
    run = ledger.runs.start("demo", "aliexpress_catalog_sync", "r")
    ledger.changes.store_plan(run, "demo", [PlannedChange(4, "edit", {"fields": {"main_image": "mug.png"}},
                                                  {"fields": {"main_image": "old.jpg"}})])
    ledger.changes.set_status([c.id for c in ledger.changes.of_run(run)], ChangeStatus.CONFIRMED)
    ledger.runs.update(run, artifacts={"image_urls": {"mug.png": "https://ae01.alicdn.com/kf/Hmug.png"}})
    assert image_flags.open_new_product_tasks(ctx, run, "r") == 1
    monkeypatch.setattr("aeops.store.repos.image_reviews.ImageReviews.analysed",
                        lambda *a, **k: ({"text": [{"text": "SALE", "score": 0.9, "share": 0.1}]}, True))
    from aeops.storefront.logo_rotation import approved_logo_problems

    assert [f.code for f in approved_logo_problems(ledger, store, "r")] == ["LOGO-TEXT"]  # opens its review
    tasks = ledger.person_tasks.open_tasks("demo")
    assert {t.kind for t in tasks} == set(person_tasks.KINDS)
    form = settings_steps.ask_form("demo", "r", 2, "http://x/hitl", config=config)
    return {"tasks": tasks, "form": form, "markdown": [settings_steps._task_markdown(t, translator(lang))
                                                       for t in tasks]}


def test_every_person_task_kind_and_its_form_are_in_the_store_language(tmp_path, monkeypatch) -> None:
    zh = _person_tasks("zh-CN", tmp_path / "zh", monkeypatch)
    en = _person_tasks("en", tmp_path / "en", monkeypatch)
    data = ("demo", "'demo store'", "'Demo Store'", "logo.png", "dress.jpg", "HTTP 503", "2027Q1", "2026-10-02",
            "SALE", "store_logo", "aeops_config", "IMG-NO-FACE", "LOGO-TEXT", "demo")
    problems = []
    for name, output in (("zh", zh), ("en", en)):
        texts = [t.title for t in output["tasks"]] + output["markdown"] + [
            output["form"]["subject"], output["form"]["body"], *output["form"]["options"],
            output["form"]["note"]["title"], output["form"]["note"]["description"]]
        for text in texts:
            if name == "zh":
                problems += check_chinese("person task", text, data)
            else:
                problems += check_english("person task", text)
    assert not problems, "\n".join(problems)
    assert zh["form"]["options"] == ["已完成", "尚未完成"] and en["form"]["options"] == ["Done", "Not done yet"]
    store_task = next(t for t in zh["tasks"] if t.kind == "store_settings")
    assert store_task.detail["differences"][0] == "店铺名称：电脑端显示'demo store'（应为 'Demo Store'）"


def test_the_person_task_form_asks_only_for_what_is_required() -> None:
    from aeops.hitl import PersonTasksOperator
    from aeops.storefront.settings_steps import every_answer, is_done

    operator = PersonTasksOperator(task_id="ask_1", round_no=1, store_task_id="store.check")
    note = operator.params.get_param("note")
    assert None in [note.value] and "null" in note.schema["type"]  # optional: the UI marks no "*"
    assert "optional" in note.schema["title"].lower() and "empty" in note.description
    assert is_done("已完成") and is_done("Done") and not is_done("尚未完成") and "尚未完成" in every_answer()


def test_the_plugin_names_read_in_both_languages() -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("plugin_names", ROOT / "plugins" / "aeops_ui_plugin.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for view in module.AeopsUiPlugin.external_views:
        assert CJK.search(view["name"]) and re.search(r"[A-Za-z]{4,}", view["name"]), view["name"]


def test_the_cli_table_prints_each_finding_in_the_chosen_language_and_json_stays_english(tmp_path, capsys) -> None:
    from aeops.cli import main

    export = tmp_path / "export.csv"
    export.write_text("product_id,sku_code,title,price,stock\n1001,A&B,T,9.9,1\n", encoding="utf-8")
    assert main(["validate", str(export), "--lang", "zh-CN"]) == 1
    assert "SKU 编码 'A&B' 含有平台不接受的字符 '&'；在 ERP 中重命名该 SKU" in capsys.readouterr().out
    assert main(["validate", str(export), "--lang", "en", "--json"]) == 1
    assert "SKU code 'A&B' contains '&', which the marketplace rejects; rename the SKU" in capsys.readouterr().out


def test_a_skipped_run_says_why_in_the_store_language(tmp_path: Path) -> None:
    from aeops.reports.run_report import headline, skip_reason
    from aeops.store.ledger import Ledger

    ledger = Ledger(f"sqlite:///{tmp_path / 'aeops.db'}")
    run_id = ledger.runs.start("demo", "aliexpress_catalog_sync", "r")
    ledger.runs.record_export("demo", "/exports/catalog.csv", 10, "ab" * 32, run_id)
    ledger.runs.update(run_id, status="skipped", message="export /exports/catalog.csv was already synced")
    run = ledger.runs.get(run_id)
    reason = skip_reason(ledger, run, "zh-CN")
    assert reason == "导出文件 /exports/catalog.csv（sha256 abababababab）已同步过；如需再次同步，请以 force=true 触发"
    assert headline(run, [], "zh-CN", reason=reason).startswith("无需处理")


def test_the_override_approval_offers_and_reads_its_answers_in_the_store_language() -> None:
    from aeops.hitl import OverrideApprovalOperator

    operator = OverrideApprovalOperator(task_id="approve")
    operator._answers_in("zh-CN")
    assert operator.options == ["批准", "拒绝"] and operator.defaults == ["拒绝"] and operator.APPROVE == "批准"
    operator._answers_in("en")
    assert operator.options == ["Approve", "Reject"]
