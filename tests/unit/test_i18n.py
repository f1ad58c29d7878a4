"""Both languages, for every message: the catalogs are complete and in step with the code, and what people read
(Slack messages, reports, pages, the CLI) comes out in the store's language."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.pofile import read_po

from aeops import i18n
from aeops.config import ConfigError, StoreConfig, parse_config

ROOT = Path(__file__).resolve().parents[2]
LANGS = ("en", "zh_CN")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|\{[a-z_]+\}")
CJK = re.compile(r"[\u4e00-\u9fff]")


def _script():
    spec = importlib.util.spec_from_file_location("aeops_i18n_script", ROOT / "scripts" / "i18n.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _catalog(lang: str):
    with (i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "aeops.po").open("rb") as fh:
        return read_po(fh, locale=lang, domain="aeops")


@pytest.mark.parametrize("lang", LANGS)
def test_every_message_has_a_translation_with_the_same_placeholders(lang: str) -> None:
    catalog = _catalog(lang)
    problems = []
    for msg in catalog:
        if not msg.id:
            continue
        strings = msg.string if isinstance(msg.string, tuple | list) else (msg.string,)
        if msg.fuzzy:
            problems.append(f"fuzzy: {msg.id!r}")
        if msg.pluralizable and len(strings) != catalog.num_plurals:
            problems.append(f"plural forms {len(strings)} != {catalog.num_plurals}: {msg.id!r}")
        if not all(s and s.strip() for s in strings):
            problems.append(f"untranslated: {msg.id!r}")
        ids = msg.id if isinstance(msg.id, tuple | list) else (msg.id,)
        wanted = set(PLACEHOLDER.findall(ids[-1] if msg.pluralizable else ids[0])) | set(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if not set(PLACEHOLDER.findall(text)) <= wanted or (not msg.pluralizable and
                                                               set(PLACEHOLDER.findall(text)) != wanted):
                problems.append(f"placeholders differ: {msg.id!r} -> {text!r}")
    for msg, errors in catalog.check():
        problems += [f"{msg.id!r}: {e}" for e in errors]
    assert not problems, f"{lang} (fix include/aeops/locale, see docs/i18n.md):\n" + "\n".join(problems)


def test_the_catalogs_hold_exactly_the_messages_of_the_code() -> None:
    script = _script()
    wanted = {m.id if isinstance(m.id, str) else tuple(m.id) for m in script.template() if m.id}
    assert len(wanted) > 200
    for lang in LANGS:
        have = {m.id if isinstance(m.id, str) else tuple(m.id) for m in _catalog(lang) if m.id}
        new, gone = sorted(wanted - have, key=str), sorted(have - wanted, key=str)
        assert not new, f"{lang}: new messages not in the catalog (run `make i18n`, then translate): {new}"
        assert not gone, f"{lang}: messages no longer in the code (run `make i18n`): {gone}"


def test_chinese_is_the_default_and_both_languages_are_compiled_at_first_use() -> None:
    assert StoreConfig(name="s").language == "zh-CN"
    assert i18n.normalize(None) == "zh-CN" and i18n.normalize("zh_Hans_CN") == "zh-CN"
    assert i18n.normalize("en-US") == "en" and i18n.normalize("fr") == "zh-CN"
    assert i18n.gettext("Failed", "zh-CN") == "失败" and i18n.gettext("Failed", "en") == "Failed"
    assert i18n.ngettext("zh-CN")("{n} row needs your attention", "{n} rows need your attention", 3) \
        .format(n=3) == "3 行需要您处理"
    assert i18n.ngettext("en")("{n} row needs your attention", "{n} rows need your attention", 1) \
        .format(n=1) == "1 row needs your attention"


def test_a_store_language_is_checked_and_normalised() -> None:
    config = parse_config({"stores": [{"name": "a", "language": "zh"}, {"name": "b", "language": "en"}]})
    assert [s.language for s in config.stores] == ["zh-CN", "en"]
    with pytest.raises(ConfigError, match="language must be one of zh-CN, en"):
        parse_config({"stores": [{"name": "a", "language": "fr"}]})


def test_times_are_shown_in_the_store_zone_with_its_offset() -> None:
    when = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    assert i18n.datetime_in(when, "Asia/Shanghai", "zh-CN") == "2026-11-27 10:00 (UTC+08:00)"
    assert i18n.datetime_in(when.replace(tzinfo=None), "America/Los_Angeles", "en") == "2026-11-26 18:00 (UTC-08:00)"
    assert i18n.percent(0.9731, "zh-CN") == "97.3%" and i18n.percent(None) == "-"


def _every_message(lang: str) -> dict[str, str]:
    """Every Slack message builder's output in ``lang`` (text + blocks)."""
    from aeops.catalog.dates import quarter_of
    from aeops.certificates.watch import CertAlert, certificate_message
    from aeops.findings import Finding, Severity
    from aeops.notify.messages import (
        failure_alert,
        review_not_triggered,
        review_overdue,
        review_refused,
        summary_details,
        sync_summary,
    )
    from aeops.notify.pages import Failure, failure_page
    from aeops.storefront.logo_rotation import LogoOutcome, logo_message
    from aeops.urgent import progress
    from aeops.urgent.request import parse_request
    from aeops.verify.strikes import strike_message

    def flat(message) -> str:
        return message.text + " " + str(message.blocks)

    finding = Finding(code="SKU-CHARS", severity=Severity.ERROR, message="bad", sku_code="A&B", row=3)
    deadline = progress.Deadline(datetime(2026, 11, 27, 2, 0, tzinfo=UTC), 15)
    now = datetime(2026, 11, 27, 2, 20, tzinfo=UTC)
    request = parse_request({"store": "demo", "mode": "price_override", "percent": -20, "reason": "Black Friday"},
                            ["demo"])
    ti = SimpleNamespace(dag_id="d", task_id="push", run_id="r", map_index=-1, try_number=1)
    certs = [CertAlert(cert_id=1, kind=kind, threshold=7 if kind == "warning" else None, brand="Acme", cert_type="CE",
                       file="Acme_CE_20261210.pdf", valid_until=date(2026, 12, 10), days_left=5,
                       categories=["electronics"], at_risk=3, reasons=["`CERT-NAME` bad"])
             for kind in ("expired", "warning", "invalid", "closed", "removed")]
    outcome = LogoOutcome(store="demo", as_of=date(2027, 1, 1), quarter=quarter_of(date(2027, 1, 1)),
                          last_change=date(2026, 10, 2), last_change_source="marketplace", stale=True,
                          reminder_kind="start")
    return {
        "failure": flat(failure_alert({"ti": ti, "exception": RuntimeError("boom")}, store="demo", lang=lang)),
        "summary": flat(sync_summary(store="demo", dag_id="d", run_id="r", rows=10, findings_by_code={"SKU-CHARS": 1},
                                     pushed=3, failed=1, verified=2, completion_rate=0.5, top_findings=[finding],
                                     report_url="http://x/aeops/reports/demo/d/r", lang=lang)),
        "details": flat(summary_details([finding], store="demo", run_id="r", lang=lang)[0]),
        "strike": flat(strike_message("demo", 2, ["fr"], ["p1"], lang=lang)),
        "started": flat(progress.started(store="demo", run_id="r", what=request.describe(lang), reason="x",
                                         deadline=deadline, dry_run=False, lang=lang, timezone="Asia/Shanghai")),
        "half": flat(progress.half_way(store="demo", run_id="r", done=1, total=2, deadline=deadline, now=now,
                                       lang=lang)),
        "late": flat(progress.late(store="demo", run_id="r", done=1, total=2, deadline=deadline, now=now, lang=lang)),
        "final": flat(progress.final(store="demo", run_id="r", what="w", reason="x", status="partial",
                                     counts={"confirmed": 1}, deadline=deadline, now=now, mode="price_override",
                                     dry_run=False, lang=lang)),
        "certs": flat(certificate_message("demo", date(2026, 12, 5), certs, "export", ["x.pdf"], lang=lang)),
        "logo": flat(logo_message(outcome, lang)),
        "page": flat(failure_page("d", "r", [Failure("push", -1, "demo", "RuntimeError: boom"),
                                             Failure("", -1, None, "timed out")], lang=lang)),
        "refused": flat(review_refused(store="demo", product_id=7, reason=None, lang=lang)),
        "overdue": flat(review_overdue(store="demo", product_ids=[7, 8], hours=2, lang=lang)),
        "not_triggered": flat(review_not_triggered(store="demo", products={7: "onSelling", 8: "offline"},
                                                   minutes=120, lang=lang)),
        "not_approved": flat(progress.not_approved(store="demo", run_id="r", what="w", reason="x",
                                                   decision={"decision": "rejected", "by": "li"},
                                                   counts={"planned_price": 3}, lang=lang)),
    }


def test_every_slack_message_comes_in_both_languages() -> None:
    english, chinese = _every_message("en"), _every_message("zh-CN")
    for name in english:
        assert not CJK.search(english[name]), f"{name} (en) has Chinese: {english[name][:300]}"
        assert len(CJK.findall(chinese[name])) >= 4, f"{name} (zh-CN) is not in Chinese: {chinese[name][:300]}"
    assert "店铺 *demo* 的任务 `push` 失败" in chinese["failure"]
    assert "10:15:00 UTC+08:00" in chinese["started"]  # the deadline in the store's time zone
    assert chinese["page"].startswith("d 运行失败，店铺 demo: push（店铺 demo）：RuntimeError: boom; "
                                      "（整个运行）: timed out")
    assert english["page"].startswith("Run of d failed for store demo: push (store demo): RuntimeError: boom")
    assert "紧急改价被 li 拒绝：未写入任何内容" in chinese["not_approved"] and "已拒绝" in chinese["not_approved"]


def test_the_cli_prints_its_table_and_summary_in_the_chosen_language(tmp_path, capsys) -> None:
    from aeops.cli import main

    export = tmp_path / "export.csv"
    export.write_text("product_id,sku_code,title,price,stock\n1001,A&B,T,9.9,1\n", encoding="utf-8")

    assert main(["validate", str(export), "--lang", "zh-CN"]) == 1
    out = capsys.readouterr().out
    assert "代码" in out.splitlines()[0] and "SKU-CHARS" in out and "1 行，0 行有效，1 行被阻断" in out
    assert main(["validate", str(export), "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "CODE" in out.splitlines()[0] and "1 rows, 0 valid, 1 blocked" in out
    assert main(["validate", str(export), "--lang", "zh-CN", "--json"]) == 1
    assert '"code": "SKU-CHARS"' in capsys.readouterr().out  # --json is the same in every language


def test_no_message_hides_in_an_f_string() -> None:
    """``f"{_('x')}"`` is never extracted (Python 3.11 tokenizes an f-string as one string): such a message would
    stay English in every language. Translate it into a name first."""
    hidden = []
    for path in (ROOT / "include" / "aeops").rglob("*.py"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(r"""\bf(["']).*\{[^}]*\b(_|n_|gettext|ngettext)\(""", line):
                hidden.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not hidden, "\n".join(hidden)
