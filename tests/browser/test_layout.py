"""The run report, the catalog-health page and a person task read at desktop size (1,400 px) and on a phone
(390 px), for a Chinese store (browser in zh-CN) and an English one (browser in en-US): the page never scrolls
sideways (``scrollWidth`` equals the viewport; wide tables become cards or scroll inside their own box), chart
labels are never clipped, badges stay on one line, the legend reads at 100% zoom, and the words are the store's.

Screenshots of every page and size are kept in ``var/screenshots/layout-*.png`` (CI keeps the folder as an
artifact): look at them after a layout change.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from tests.airflow_server import SEEDED_RUN_ID
from tests.browser.conftest import Page

SYNC_DAG = "aliexpress_catalog_sync"
SIZES = {"desktop": (1400, 1000), "phone": (390, 844)}
STORES = {"zh-CN": "demo", "en": "demo-kids"}  # tests/airflow_server.py: demo reads Chinese, demo-kids English
BROWSER_LOCALE = {"zh-CN": "zh-CN", "en": "en-US"}
WORDS = {  # what each language's reader must see (and the other language's words must not be there)
    "zh-CN": {"report": ("商品目录报告", "按代码统计的问题", "需要您处理的行"),
              "health": ("商品目录健康", "最近运行", "打开")},
    "en": {"report": ("Catalog report", "Findings by code", "Rows that need your attention"),
           "health": ("Catalog health", "Last runs", "open")},
}
CASES = [(lang, size) for lang in STORES for size in SIZES]
IDS = [f"{lang}-{SIZES[size][0]}px" for lang, size in CASES]

LAYOUT = """() => {
  const inner = window.innerWidth;
  const sticking = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > inner + 1 && !e.closest('.table-wrap');
  }).slice(0, 5).map(e => e.tagName.toLowerCase() + '.' + e.className);
  return {scroll: document.documentElement.scrollWidth, inner, sticking};
}"""
CLIPPED = """sel => [...document.querySelectorAll(sel)].filter(e => e.scrollWidth > e.clientWidth + 1)
  .map(e => e.textContent.trim())"""
DRAWER_IN_VIEW = """() => { const d = document.querySelector('[role=dialog]'); if (!d) return false;
  const r = d.getBoundingClientRect(); return r.left >= -1 && r.right <= window.innerWidth + 1; }"""
WRAPPED_BADGES = """() => [...document.querySelectorAll('.badge')].filter(b => {
  const r = b.getBoundingClientRect(); return r.height > 1.9 * parseFloat(getComputedStyle(b).fontSize);
}).map(b => b.textContent.trim())"""


@pytest.fixture
def browse(browser: Any, airflow_server: Any) -> Iterator[Any]:
    """Opens a logged-in page at a size and in a browser locale."""
    contexts = []

    def open_page(size: str, lang: str) -> Page:
        width, height = SIZES[size]
        context = browser.new_context(viewport={"width": width, "height": height}, locale=BROWSER_LOCALE[lang])
        context.add_cookies([{"name": "_token", "value": airflow_server.token("admin"), "url": airflow_server.url}])
        contexts.append(context)
        page = Page(context.new_page())
        page.page.set_default_timeout(30_000)
        return page

    try:
        yield open_page
    finally:
        for context in contexts:
            context.close()


def _fits(page: Any) -> None:
    layout = page.evaluate(LAYOUT)
    assert layout["scroll"] == layout["inner"], layout  # nothing makes the page scroll sideways
    assert not layout["sticking"], layout


@pytest.mark.parametrize(("lang", "size"), CASES, ids=IDS)
def test_the_run_report_reads_without_sideways_scrolling(airflow_server, browse, lang: str, size: str) -> None:
    shot = browse(size, lang)
    page = shot.page
    store = STORES[lang]
    page.goto(f"{airflow_server.url}/aeops/reports/{store}/{SYNC_DAG}/{quote(SEEDED_RUN_ID, safe='')}")
    page.wait_for_selector("#headline")

    assert page.evaluate("document.documentElement.lang") == lang
    text = page.locator("main").inner_text()
    assert all(word in text for word in WORDS[lang]["report"]), text[:500]
    other = "en" if lang == "zh-CN" else "zh-CN"
    assert WORDS[other]["report"][1] not in text
    _fits(page)
    assert page.evaluate(CLIPPED, ".bar-label") == []  # codes and their names are never clipped
    stacked = page.evaluate("getComputedStyle(document.querySelector('#rejected-rows thead')).display") == "none"
    assert stacked == (size == "phone")  # on a phone every finding is a card
    problems = page.locator("#rejected-rows td.problem").all_inner_texts()
    assert problems and all(problems)
    if lang == "zh-CN":
        assert any("SKU 编码" in p for p in problems) and not any("SKU code" in p for p in problems)
    else:
        assert any("SKU code" in p for p in problems)
    shot.shot(f"layout-report-{lang}-{SIZES[size][0]}px")
    assert not shot.errors, shot.errors


@pytest.mark.parametrize(("lang", "size"), CASES, ids=IDS)
def test_the_health_page_reads_without_sideways_scrolling(airflow_server, browse, lang: str, size: str) -> None:
    shot = browse(size, lang)
    page = shot.page
    page.goto(f"{airflow_server.url}/aeops/health/{STORES[lang]}")
    page.wait_for_selector("section.store-card")

    assert page.evaluate("document.documentElement.lang") == lang
    text = page.locator("main").inner_text()
    assert all(word in text for word in WORDS[lang]["health"]), text[:500]
    _fits(page)
    assert page.evaluate(WRAPPED_BADGES) == []  # a badge (e.g. the dry-run one) never wraps into a circle
    assert page.evaluate(CLIPPED, ".bar-label, .legend li") == []
    legend = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.legend li')).fontSize)")
    assert legend >= 12  # readable at 100% zoom
    opened = page.locator("table.runs a", has_text=WORDS[lang]["health"][2]).first
    assert opened.evaluate("a => a.getClientRects().length") == 1  # the report link is never split ("打/开")
    shot.shot(f"layout-health-{lang}-{SIZES[size][0]}px")
    assert not shot.errors, shot.errors


@pytest.fixture(scope="module")
def person_tasks(airflow_server) -> dict[str, dict[str, Any]]:
    """One waiting store-settings person task per store (tests/browser/person_task.py)."""
    from tests.browser import person_task

    return {lang: person_task.seed(airflow_server, store) for lang, store in STORES.items()}


@pytest.mark.parametrize(("lang", "size"), CASES, ids=IDS)
def test_a_person_task_reads_in_the_store_language(airflow_server, browse, person_tasks, lang: str, size: str
                                                   ) -> None:
    task = person_tasks[lang]
    shot = browse(size, lang)
    page = shot.page
    page.goto(f"{airflow_server.url}/required_actions")
    page.locator("tr", has_text=task["subject"]).locator("button").first.click()  # the request's review drawer
    drawer = page.get_by_role("dialog")
    drawer.get_by_text(task["subject"]).wait_for()

    body = drawer.inner_text()
    done, not_yet = task["options"]
    assert (done, not_yet) == (("已完成", "尚未完成") if lang == "zh-CN" else ("Done", "Not done yet"))
    for answer in (done, not_yet):
        assert drawer.get_by_role("button", name=answer, exact=True).count() == 1
    if lang == "zh-CN":  # the differences and steps in Chinese, as the store's people read them
        assert "店铺名称：电脑端显示'demo store'" in body and "Logo：电脑端显示没有图片" in body
        assert "desktop shows" not in body and "want" not in body
    else:
        assert "store name: desktop shows 'demo store'" in body and "logo: desktop shows no image" in body
    note = drawer.locator("#element_note")
    assert note.evaluate("e => e.required") is False  # optional: no "required" mark, as its help says
    label = drawer.get_by_text(task["note"]["title"], exact=False).first.inner_text()
    assert "*" not in label and task["note"]["description"][:10] in body
    layout = page.evaluate(LAYOUT)  # the Airflow UI lays out its own page; the request's drawer must fit the screen
    assert layout["scroll"] == layout["inner"], layout
    page.wait_for_function(DRAWER_IN_VIEW, timeout=5_000)  # once it has slid in, it lies within the screen
    shot.shot(f"layout-person-task-{lang}-{SIZES[size][0]}px")
    note.scroll_into_view_if_needed()  # the drawer scrolls on its own: its foot holds the note and the answers
    shot.shot(f"layout-person-task-{lang}-{SIZES[size][0]}px-answers")
    assert not shot.errors, shot.errors
