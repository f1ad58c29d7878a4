"""Post-update verification: sampling, page parsing, checks and attribution, records, strikes, and the poke
state machine on an in-memory marketplace with a settable clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.store import ensure_schema
from aeops.store.ledger import Ledger
from aeops.verify import sampling
from aeops.verify.checks import (
    Expected,
    Problem,
    attribute,
    check_listed,
    compare_page,
    expected_from_changes,
    key_by_values,
    site_disagreements,
)
from aeops.verify.fake import FakeMarketplace
from aeops.verify.page_reader import (
    HttpStorefrontReader,
    PageView,
    SimulatorStorefrontReader,
    SkuView,
    StorefrontReader,
    parse_item_page,
    reader_for_connection,
    sku_key,
    with_sku_codes,
)
from aeops.verify.runner import Target, VerifySettings, poke_target
from aeops.verify.strikes import strike_message

SITES = ["en", "ru", "es", "fr", "pt"]
DEVICES = ("desktop", "mobile", "anonymous")
T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


# ------------------------------------------------------------------------------------------- sampling
def test_small_change_sets_get_every_page_and_large_ones_a_seeded_sample_plus_the_risky() -> None:
    rule = sampling.SamplingRule(page_all_threshold=200, sample_size=50)
    small = sampling.page_plan(range(200), set(), rule, seed=1)
    assert small == dict.fromkeys(range(200), sampling.FULL)

    risky = set(range(0, 10_000, 100))
    plan = sampling.page_plan(range(10_000), risky, rule, seed=7)
    full = {pid for pid, grid in plan.items() if grid == sampling.FULL}
    assert len(full) == 50 and risky <= set(plan)
    assert plan == sampling.page_plan(range(10_000), risky, rule, seed=7)  # a rescheduled poke samples the same
    assert full != {p for p, g in sampling.page_plan(range(10_000), risky, rule, seed=8).items() if g == "full"}


def test_grids_and_miss_probability() -> None:
    assert len(sampling.cells(sampling.FULL, SITES, DEVICES)) == 15
    cross = sampling.cells(sampling.CROSS, SITES, DEVICES)
    assert len(cross) == 7 and {s for s, _ in cross} == set(SITES) and {d for _, d in cross} == set(DEVICES)
    assert sampling.miss_probability(5, 2, 1) == pytest.approx(0.6)  # C(4,2)/C(5,2)
    assert sampling.miss_probability(10_000, 200, 0) == 1.0
    assert sampling.miss_probability(10, 10, 1) == 0.0
    n = sampling.sample_size_for(10_000, 50, 0.01)
    assert sampling.miss_probability(10_000, n, 50) <= 0.01 < sampling.miss_probability(10_000, n - 1, 50)
    assert sampling.seed_for("demo", "r1") == sampling.seed_for("demo", "r1") != sampling.seed_for("demo", "r2")


# ------------------------------------------------------------------------------------------- parsing
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "aliexpress"


def simulator_page(tmp_path, device: str = "desktop") -> str:
    from aeops.marketplace.simulator.protocol import Simulator
    from aeops.marketplace.simulator.state import SimState

    state = SimState(tmp_path / "sim.json")
    state.seed_rows([{"product_id": "1005001", "sku_code": "A&1", "title": "Cup </script> <b>", "price": "12.5",
                      "discount_price": "", "stock": "4", "freight_template_id": "1002"},
                     {"product_id": "1005001", "sku_code": "A&2", "title": "Cup", "price": "30",
                      "discount_price": "24.99", "stock": "0", "freight_template_id": "1002"}])
    return Simulator(state).storefront("ru", 1005001, device)


def test_simulator_page_has_the_real_structure_and_no_seller_codes(tmp_path) -> None:
    html = simulator_page(tmp_path)
    assert "window.runParams = {\n    data: {" in html and "A&1" not in html and "A&amp;1" not in html
    view = parse_item_page(html, 1005001, "ru", "desktop")  # without the map: the platform's SKU ids
    assert view.error is None and view.last_modified is not None
    assert view.skus == {"14:193": SkuView("12.50", None, 4), "14:29": SkuView("30.00", "24.99", 0)}
    assert view.shipping == frozenset({("CAINIAO_STANDARD", True)})  # template 1002: free standard shipping
    mapped = parse_item_page(html, 1005001, "ru", "desktop", {"14:193": "A&1", "14:29": "A&2"})
    assert mapped.skus == {"A&1": SkuView("12.50", None, 4), "A&2": SkuView("30.00", "24.99", 0)}
    assert parse_item_page("<html>maintenance</html>", 1, "en", "desktop").unreadable == "no_data"


def test_saved_real_page_of_today_is_read_in_the_sellers_currency() -> None:
    """The current *Component page: MXN shown, CNY base (rate 2.4148); SKUs keyed by property values."""
    html = (FIXTURES / "item-component.html").read_text(encoding="utf-8")
    codes = {"14:771;200000124:200000334": "SHOE-BEIGE-36", "14:1052;200000124:200000334": "SHOE-PINK-36"}
    view = parse_item_page(html, 1005005913925017, "es", "desktop", codes)
    assert view.error is None and view.last_modified is None  # the real page shows no modified time
    # skuCalPrice is the base-currency list price; the promotion 16.47 MXN / 2.4148 = 6.82 CNY; inventory 10
    # although availQuantity is 8
    assert view.skus["SHOE-BEIGE-36"] == SkuView("113.69", "6.82", 10)
    assert view.skus["SHOE-PINK-36"] == SkuView("117.56", "8.53", 5)
    assert view.skus["14:193;200000124:200000337"] == SkuView("129.90", "13.96", 98)  # not in the map: its id
    assert len(view.skus) == 5
    assert view.shipping == frozenset({("CAINIAO_FULFILLMENT_STD", False)})


def test_saved_real_page_of_the_older_generation_is_read_too() -> None:
    """The older *Module page: USD, one property, no freight results on the page."""
    html = (FIXTURES / "item-module.html").read_text(encoding="utf-8")
    view = parse_item_page(html, 1739481085, "en", "desktop", {"14:350853": "XLR-10", "14:200004889": "XLR-2"})
    assert view.error is None
    assert view.skus["XLR-10"] == SkuView("21.22", "18.89", 987)
    assert view.skus["XLR-2"] == SkuView("9.85", "8.77", 970)
    assert view.skus["14:200004890"] == SkuView("9.77", "8.70", 911)
    assert view.shipping is None  # no shipping block: a template check fails on such a page


def test_sku_attr_becomes_the_api_sku_id() -> None:
    assert sku_key("14:771#Black Rose Red;200000124:100010483") == "14:771;200000124:100010483"
    assert sku_key("14:350852#Emo Go Home") == "14:350852"
    assert sku_key("14:1052;200000124:200000334") == "14:1052;200000124:200000334"


def test_readers_send_a_user_agent_per_device_and_no_cookies_anonymously() -> None:
    seen: list[tuple[str, str, str | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["user-agent"], request.headers.get("cookie")))
        return httpx.Response(200, headers={"set-cookie": "session=abc; Path=/"}, text="<html></html>")

    reader = SimulatorStorefrontReader("http://sim.test:9/sync", transport=httpx.MockTransport(handler))
    for device in ("desktop", "desktop", "mobile", "anonymous", "anonymous"):
        reader.fetch(7, "fr", device)
    assert seen[0][0] == "http://sim.test:9/store/fr/item/7.html?device=desktop"
    assert seen[1][2] == "session=abc"  # desktop keeps its session
    assert "AliApp" in seen[2][1] and "AliApp" not in seen[3][1]
    assert seen[3][2] is None and seen[4][2] is None  # anonymous: never a cookie
    assert reader.requests == 5
    real = HttpStorefrontReader(transport=httpx.MockTransport(handler))
    assert real.url(9, "ru", "desktop") == "https://aliexpress.ru/item/9.html"
    assert real.url(9, "es", "mobile") == "https://m.aliexpress.com/item/9.html?lang=es"
    assert isinstance(reader_for_connection("https://api-sg.aliexpress.com"), HttpStorefrontReader)
    assert isinstance(reader_for_connection("http://127.0.0.1:5000"), SimulatorStorefrontReader)
    assert isinstance(reader, StorefrontReader)


# ------------------------------------------------------------------------------------------- checks
FREE_STANDARD = frozenset({("CAINIAO_STANDARD", True)})  # what template 1002 offers
PAID_STANDARD = frozenset({("CAINIAO_STANDARD", False)})  # template 1001


def expected() -> Expected:
    return Expected(1, T0, prices={"S": ("21.00", "15.00")}, stocks={"S": 7}, freight_template_id="1002",
                    shipping=FREE_STANDARD)


def page(site: str, device: str, *, new: bool = True) -> PageView:
    if new:
        return PageView(1, site, device, T0 + timedelta(seconds=1), {"S": SkuView("21.00", "15.00", 7)},
                        FREE_STANDARD)
    return PageView(1, site, device, T0 - timedelta(days=1), {"S": SkuView("20.00", "15.00", 10)}, FREE_STANDARD)


def problems_for(bad) -> list[Problem]:
    grid = [(s, d) for s in SITES for d in DEVICES]
    found = [p for s, d in grid for p in compare_page(expected(), page(s, d, new=not bad(s, d)))]
    return attribute(1, grid, found)


def test_page_comparison_names_each_field() -> None:
    assert compare_page(expected(), page("en", "desktop")) == []
    fields = {(p.field, p.expected, p.seen) for p in compare_page(expected(), page("en", "mobile", new=False))}
    assert ("price", "21.00", "20.00") in fields and ("stock", "7", "10") in fields
    assert "last_modified" in {f for f, _, _ in fields}
    assert check_listed(expected(), T0 - timedelta(seconds=1)) is None  # within the clock tolerance
    assert check_listed(expected(), T0 - timedelta(hours=1)).check == "timestamp"
    assert check_listed(expected(), None).seen == "not modified since the push"


def test_without_a_page_timestamp_a_title_or_main_image_edit_is_judged_by_its_value() -> None:
    """Real pages carry no last-modified time: an edit must show as a value. The English site shows the title as
    sent (other sites translate it), every page the main image (by photobank id, whatever slug or size)."""
    edit = Expected(1, T0, title="Steel  Mug 350 ml", main_image_url="https://ae01.alicdn.com/kf/Sabc123T.jpg")
    shown = PageView(1, "en", "mobile", None, {"S": SkuView("21.00", None, 7)}, None, title="Steel Mug 350 ml",
                     main_image="https://ae01.alicdn.com/kf/Sabc123T/Steel-Mug.jpg_640x640.jpg")
    assert compare_page(edit, shown) == []
    stale = replace(shown, title="Steel Mug", main_image="https://ae01.alicdn.com/kf/Sold999T/Steel-Mug.jpg")
    assert {(p.field, p.expected, p.seen) for p in compare_page(edit, stale)} == {
        ("title", "Steel  Mug 350 ml", "Steel Mug"),
        ("main_image", "https://ae01.alicdn.com/kf/Sabc123T.jpg", "https://ae01.alicdn.com/kf/Sold999T/Steel-Mug.jpg")}
    translated = replace(stale, site="es", main_image=shown.main_image)
    assert compare_page(edit, translated) == []  # a translated title is no stale one
    assert compare_page(edit, replace(shown, title=None, main_image=None)) == []  # a page without them: unsaid


def test_a_pushed_title_and_main_image_are_expected_from_the_edit() -> None:
    change = SimpleNamespace(id=3, product_id=1, kind="edit", pushed_at=T0, updated_at=T0, previous=None,
                             payload={"fields": {"title": "New", "main_image": "mug.jpg",
                                                 "main_image_pushed_url": "https://ae01.alicdn.com/kf/Sx.jpg"}})
    exp = expected_from_changes([change])[1]
    assert (exp.title, exp.main_image_url) == ("New", "https://ae01.alicdn.com/kf/Sx.jpg")
    assert exp.freight_template_id is None


def test_real_pages_show_their_title_and_main_image() -> None:
    view = parse_item_page((FIXTURES / "item-component.html").read_text(encoding="utf-8"), 1005005913925017, "es",
                           "desktop")
    assert view.title.startswith("Zapatillas de correr transpirables para mujer")
    assert view.main_image.startswith("https://ae01.alicdn.com/kf/Sddaa2436f96b4e6483be3a94dd6e64f03/")
    old = parse_item_page((FIXTURES / "item-module.html").read_text(encoding="utf-8"), 1739481085, "en", "desktop")
    assert old.title.startswith("10 set  2/3/4/5/6/7/8/9/10 pin aviation")
    assert old.main_image.startswith("https://ae01.alicdn.com/kf/HTB1atMgQpXXXXXzXXXXq6xXFXXX0/")


def test_a_wrong_shipping_template_fails_on_every_device() -> None:
    grid = [(s, d) for s in SITES for d in DEVICES]
    wrong = [PageView(1, s, d, T0 + timedelta(seconds=1), {"S": SkuView("21.00", "15.00", 7)}, PAID_STANDARD)
             for s, d in grid]
    found = [p for v in wrong for p in compare_page(expected(), v)]
    assert {(p.site, p.device) for p in found} == set(grid)  # every page of every device fails
    assert {(p.field, p.expected, p.seen) for p in found} == {
        ("freight_template_id", "template 1002: CAINIAO_STANDARD free", "CAINIAO_STANDARD charged")}
    assert {(p.check, p.field) for p in attribute(1, grid, found)} == {("timestamp", "freight_template_id")}
    # a page without a shipping block cannot prove the template; an unreadable template is not a pass either
    bare = PageView(1, "en", "desktop", T0 + timedelta(seconds=1), {"S": SkuView("21.00", "15.00", 7)}, None)
    assert [p.seen for p in compare_page(expected(), bare)] == ["no shipping block on the page"]
    unknown = Expected(1, T0, prices={"S": ("21.00", "15.00")}, freight_template_id="1002", template_pushed=True)
    assert [p.field for p in compare_page(unknown, page("en", "desktop"))] == ["freight_template_id"]
    assert compare_page(replace(unknown, template_pushed=False), page("en", "desktop")) == []  # known, not pushed
    # a country the template excludes may show fewer services; an extra service is wrong
    two = Expected(1, T0, freight_template_id="9", shipping=frozenset({("DHL", False), ("EMS", False)}))
    assert compare_page(two, replace(page("en", "desktop"), shipping=frozenset({("DHL", False)}))) == []
    assert compare_page(two, replace(page("en", "desktop"), shipping=frozenset({("DHL", False), ("UPS", False)})))


def test_a_page_without_a_modified_time_is_judged_by_its_values() -> None:
    real = replace(page("en", "desktop"), last_modified=None)  # the real page has no timestamp
    assert compare_page(expected(), real) == []
    old = replace(page("en", "desktop", new=False), skus={"S": SkuView("21.00", "15.00", 7)})
    assert [p.field for p in compare_page(expected(), old)] == ["last_modified"]
    assert compare_page(replace(expected(), by_value=True), old) == []  # values already on the platform


def test_attribution_blames_the_stale_site_the_silent_device_or_the_product() -> None:
    stale = problems_for(lambda s, d: s == "ru")
    assert {(p.check, p.site, p.device) for p in stale} == {("site", "ru", None)}
    silent = problems_for(lambda s, d: d == "mobile")
    assert {(p.check, p.site, p.device) for p in silent} == {("device", None, "mobile")}
    both = problems_for(lambda s, d: d == "mobile" or s == "pt")
    assert {(p.check, p.site, p.device) for p in both} == {("site", "pt", None), ("device", None, "mobile")}
    nothing = problems_for(lambda s, d: True)
    assert {(p.check, p.site, p.device) for p in nothing} == {("timestamp", None, None)}
    one = problems_for(lambda s, d: (s, d) == ("es", "anonymous"))
    assert {(p.check, p.site, p.device) for p in one} == {("device", "es", "anonymous")}


def test_site_disagreement_uses_the_pushed_value_not_the_majority() -> None:
    views = [page(s, "desktop", new=s != "ru") for s in SITES]
    views[1] = PageView(1, "ru", "desktop", T0, {"S": SkuView("21.00", "15.00", 7), "T": SkuView("9.00", None, 1)})
    for v in views:
        if v.site != "ru":
            v.skus["T"] = SkuView("8.00", None, 1)
    found = site_disagreements(views, expected())
    assert {(p.site, p.field, p.sku_code, p.expected, p.seen) for p in found} == {("ru", "price", "T", "8.00", "9.00")}


# ------------------------------------------------------------------------------------------- pages without a map
def change(cid: int, kind: str, skus: list[dict], previous: list[dict], pid: int = 1) -> SimpleNamespace:
    """A confirmed change as verification reads it (the attributes of a ``Change`` row)."""
    return SimpleNamespace(id=cid, product_id=pid, kind=kind, pushed_at=T0, updated_at=T0, payload={"skus": skus},
                           previous={"skus": previous})


# the product after the run, as the confirmed state holds it: A's price went 20.00 -> 21.00, B untouched
STATE = {1: {"skus": {"A": {"price": "21.00", "discount_price": None, "stock": 5},
                      "B": {"price": "30.00", "discount_price": None, "stock": 5}}}}
PRICE_A = change(1, "price", [{"sku_code": "A", "price": "21.00", "discount_price": None}],
                 [{"sku_code": "A", "price": "20.00", "discount_price": None}])


def unmapped(*values: tuple[str, str | None, int]) -> PageView:
    """A page read without the SKU-id map: keyed by the platform's SKU ids."""
    ids = [f"14:{100 + i}" for i in range(len(values))]
    return PageView(1, "en", "desktop", None, {k: SkuView(*v) for k, v in zip(ids, values, strict=True)},
                    FREE_STANDARD, page_ids={k: str(9000 + i) for i, k in enumerate(ids)})


def test_a_page_showing_exactly_the_expected_values_needs_no_sku_id_map() -> None:
    exp = expected_from_changes([PRICE_A], STATE)[1]
    assert exp.keyless and exp.sku_values == {"A": ("21.00", None, 5), "B": ("30.00", None, 5)}
    keyed = key_by_values(exp, unmapped(("30.00", None, 5), ("21.00", None, 5)))  # any order of SKU ids
    assert keyed is not None and keyed.skus == {"A": SkuView("21.00", None, 5), "B": SkuView("30.00", None, 5)}
    assert compare_page(exp, keyed) == []
    # a stale page (A still at 20.00) or a wrong stock: the map is needed to say which SKU is wrong
    assert key_by_values(exp, unmapped(("20.00", None, 5), ("30.00", None, 5))) is None
    assert key_by_values(exp, unmapped(("21.00", None, 4), ("30.00", None, 5))) is None
    assert key_by_values(exp, unmapped(("21.00", None, 5))) is None  # a SKU missing
    # a page keyed with its map, or one that could not be read, is compared as it is
    mapped = page("en", "desktop")
    assert key_by_values(exp, mapped) is mapped
    broken = PageView(1, "en", "desktop", error="HTTP 503")
    assert key_by_values(exp, broken) is broken


def test_values_a_stale_sku_could_show_make_the_map_necessary() -> None:
    # A's old price is B's new one (a swap): a page still showing A at 30.00 and B at 21.00 has the same values
    swap = [change(1, "price", [{"sku_code": "A", "price": "30.00", "discount_price": None},
                                {"sku_code": "B", "price": "21.00", "discount_price": None}],
                   [{"sku_code": "A", "price": "21.00", "discount_price": None},
                    {"sku_code": "B", "price": "30.00", "discount_price": None}])]
    assert not expected_from_changes(swap, STATE)[1].keyless
    assert key_by_values(expected_from_changes(swap, STATE)[1], unmapped(("30.00", None, 5), ("21.00", None, 5))) \
        is None
    # A goes 29.00/5 -> 30.00/9 and B 30.00/9 -> 30.00/5 (two writes each way): with
    # the stock writes lagging, A shows 30.00/5 and B 30.00/9, the expected values on the wrong SKUs
    state = {1: {"skus": {"A": {"price": "30.00", "discount_price": None, "stock": 9},
                          "B": {"price": "30.00", "discount_price": None, "stock": 5}}}}
    lagging = [change(1, "price", [{"sku_code": "A", "price": "30.00", "discount_price": None}],
                      [{"sku_code": "A", "price": "29.00", "discount_price": None}]),
               change(2, "inventory", [{"sku_code": "A", "inventory": 9}, {"sku_code": "B", "inventory": 5}],
                      [{"sku_code": "A", "inventory": 5}, {"sku_code": "B", "inventory": 9}])]
    assert not expected_from_changes(lagging, state)[1].keyless
    # a blind write replaced values nobody read; a product whose state is not known
    blind = change(1, "price", [{"sku_code": "A", "price": "21.00", "discount_price": None}],
                   [{"sku_code": "A", "price": None, "discount_price": None}])
    assert not expected_from_changes([blind], STATE)[1].keyless
    assert not expected_from_changes([PRICE_A], {})[1].keyless
    # A's writes alone: whatever A still shows (29.00 or 5), a SKU this run did not change shows what it showed
    # before, so the values differ from the expected ones whenever A is stale (even where stale A equals B)
    only_a = [lagging[0], change(2, "inventory", [{"sku_code": "A", "inventory": 9}], [{"sku_code": "A",
                                                                                        "inventory": 5}])]
    exp = expected_from_changes(only_a, state)[1]
    assert exp.keyless
    assert key_by_values(exp, unmapped(("30.00", None, 5), ("30.00", None, 5))) is None  # A's stock lags
    assert key_by_values(exp, unmapped(("30.00", None, 5), ("30.00", None, 9))) is not None


def test_a_map_read_later_keys_the_page_by_seller_codes() -> None:
    keyed = with_sku_codes(unmapped(("21.00", None, 5), ("30.00", None, 5)), {"14:100": "A", "9001": "B"})
    assert keyed.skus == {"A": SkuView("21.00", None, 5), "B": SkuView("30.00", None, 5)} and keyed.page_ids == {}
    partial = with_sku_codes(unmapped(("21.00", None, 5), ("30.00", None, 5)), {"14:100": "A"})
    assert set(partial.skus) == {"A", "14:101"} and partial.page_ids == {"14:101": "9001"}


# ------------------------------------------------------------------------------------------- strikes
def test_strike_messages_escalate() -> None:
    first = strike_message("demo", 1, ["ru"], ["site ru disagreed"])
    second = strike_message("demo", 2, ["ru"], ["site ru disagreed"])
    third = strike_message("demo", 3, ["es"], ["site es disagreed"])
    assert first.severity == "warning" and "strike 1 of 3" in first.text
    assert second.severity == "error" and "one more" in second.text and "restricts traffic" in second.text
    assert third.severity == "error" and third.text.startswith("Traffic restriction")
    assert len({first.dedupe_key, second.dedupe_key, third.dedupe_key}) == 3


# ------------------------------------------------------------------------------------------- the poke state machine
class Clock:
    """Real time plus what the test skipped ahead (push_batch stamps pushed_at with the real clock)."""

    def __init__(self) -> None:
        self.skipped = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skipped

    def tick(self, seconds: float) -> None:
        self.skipped += timedelta(seconds=seconds)


def pushed_target(sqlite_url: str, market: FakeMarketplace, products: list[int], deadline_s: float = 60,
                  rule: sampling.SamplingRule | None = None, page_budget: int = 1000) -> Target:
    ensure_schema(sqlite_url)
    run = Ledger(sqlite_url).runs.start("demo", "unit", f"run-{len(market.writes)}-{products[0]}")
    changes = [PlannedChange(pid, "price", {"skus": [{"sku_code": "S", "price": "21.00", "discount_price": "15.00"}]})
               for pid in products]
    Ledger(sqlite_url).changes.store_plan(run, "demo", changes)
    ids = Ledger(sqlite_url).changes.open_ids([run])[(run, "price")]
    for i in range(0, len(ids), 20):
        push_batch(Ledger(sqlite_url), market, run, "price", ids[i : i + 20])
    settings = VerifySettings(deadline=timedelta(seconds=deadline_s), rule=rule or sampling.SamplingRule(),
                              pages_per_second=1e6, page_budget=page_budget)  # an in-memory storefront: no pacing
    return Target(ledger=Ledger(sqlite_url), store="demo", sync_run_id=run, run_id=f"r{run}", sites=SITES,
                  settings=settings, client=market, reader=market)


def seeded_market(clock: Clock, n: int, **faults) -> FakeMarketplace:
    market = FakeMarketplace(clock=clock, **faults)
    market.seed(range(1, n + 1), {"S": ("20.00", "15.00", 10)}, clock() - timedelta(days=1))
    return market


def statuses(url: str, run: int) -> set[str]:
    return {c.status for c in Ledger(url).changes.of_run(run)}


def test_poke_verifies_a_clean_push_at_once(sqlite_url) -> None:
    clock = Clock()
    market = seeded_market(clock, 3)
    target = pushed_target(sqlite_url, market, [1, 2, 3])
    result = poke_target(target, now=clock)
    assert result.done and result.counts["verified_share"] == 1.0 and result.counts["verified"] == 3
    assert statuses(sqlite_url, target.sync_run_id) == {"verified"}
    assert poke_target(target, now=clock).counts == result.counts  # final: later pokes change nothing


def test_poke_waits_for_propagation_then_passes_without_repush(sqlite_url) -> None:
    clock = Clock()
    market = seeded_market(clock, 2, lag=timedelta(seconds=20))
    target = pushed_target(sqlite_url, market, [1, 2])
    assert not poke_target(target, now=clock).done
    clock.tick(25)
    result = poke_target(target, now=clock)
    assert result.done and result.counts["verified_share"] == 1.0 and result.counts["repushed_products"] == 0
    rows = Ledger(sqlite_url).verification.results(target.sync_run_id)
    assert rows and all(r.passed for r in rows) and {r.check for r in rows} == {"timestamp"}
    assert len(market.writes) == 1


def test_a_write_the_platform_did_not_restamp_is_verified_by_its_values(sqlite_url) -> None:
    """The platform already had the value (its last-modified time stays older than the push): the values it shows
    decide, not the timestamp; a product whose values are not there still fails on its timestamp."""
    clock = Clock()
    market = seeded_market(clock, 2)
    target = pushed_target(sqlite_url, market, [1, 2])
    before = clock() - timedelta(hours=1)
    latest = market.products[1][-1]
    market.products[1] = [replace(v, at=before) for v in market.products[1]]  # values there, old stamp
    market.products[2] = [replace(market.products[2][0], at=before)]  # neither the value nor a new stamp
    assert latest.skus == market.products[1][-1].skus
    assert not poke_target(target, now=clock).done
    changes = {c.product_id: c.status for c in Ledger(sqlite_url).changes.of_run(target.sync_run_id)}
    assert changes == {1: "verified", 2: "confirmed"}
    run = Ledger(sqlite_url).runs.get(target.sync_run_id)
    assert run.artifacts["verify"]["verified_by_value"] == [1]
    failed = Ledger(sqlite_url).verification.results(target.sync_run_id, only_failed=True)
    assert {(r.product_id, r.check, r.field) for r in failed} == {(2, "timestamp", "gmt_modified")}


@pytest.fixture
def alerts(monkeypatch: pytest.MonkeyPatch) -> list[tuple]:
    sent: list[tuple] = []
    monkeypatch.setattr("aeops.verify.strikes.alert", lambda *a, **kw: sent.append(a))
    return sent


def test_poke_repushes_once_at_half_the_deadline_then_reports(sqlite_url, alerts) -> None:
    clock = Clock()
    market = seeded_market(clock, 3, never_device="mobile", stale={(3, "ru")})
    target = pushed_target(sqlite_url, market, [1, 2, 3], deadline_s=60)
    assert not poke_target(target, now=clock).done
    clock.tick(31)
    repush = poke_target(target, now=clock)
    assert not repush.done and "re-pushed 3" in repush.message
    assert [w for w in market.writes] == [("price", [1, 2, 3]), ("price", [1, 2, 3])]
    clock.tick(10)
    assert not poke_target(target, now=clock).done  # still not seen, the deadline is not reached
    clock.tick(20)
    final = poke_target(target, now=clock)
    assert final.done and final.counts["verify_failed"] == 3 and final.counts["verified_share"] == 0.0
    assert len(market.writes) == 2  # re-pushed exactly once
    failed = Ledger(sqlite_url).verification.results(target.sync_run_id, only_failed=True)
    assert {(r.product_id, r.check, r.device, r.site, r.attempt) for r in failed if r.field == "price"} == {
        (1, "device", "mobile", None, 2), (2, "device", "mobile", None, 2), (3, "device", "mobile", None, 2),
        (3, "site", None, "ru", 2)}
    assert final.counts["inconsistent_sites"] == ["ru"] and final.counts["site_strikes_total"] == 1
    assert Ledger(sqlite_url).verification.strike_count("demo") == 1
    assert alerts == [("demo", 1, ["ru"], [alerts[0][3][0]])] and "1 product(s): 3" in alerts[0][3][0]


def test_every_product_is_checked_by_the_api_and_pages_stay_within_the_budget(sqlite_url) -> None:
    clock = Clock()
    market = seeded_market(clock, 250)
    rule = sampling.SamplingRule(page_all_threshold=100, sample_size=40)
    target = pushed_target(sqlite_url, market, list(range(1, 251)), rule=rule, page_budget=300)
    result = poke_target(target, now=clock)
    assert result.done and result.counts["verified"] == 250
    assert result.counts["verify_product_queries"] == 250  # the API query for every changed product
    assert result.counts["verify_list_calls"] == 3 + 3  # 250 on-sale products in pages of 99, 3 other statuses
    # every product is a price move (high risk): one page each, then a second page for 50 until the budget is spent
    assert result.counts["verify_page_fetches"] == 300 and result.counts["storefront_page_budget"] == 300
    assert result.counts["verified_by_page"] == 250 and result.counts["verified_by_api"] == 0
    assert poke_target(target, now=clock).counts == result.counts


def test_pages_beyond_the_budget_leave_products_verified_by_the_api_query(sqlite_url) -> None:
    clock = Clock()
    market = seeded_market(clock, 30)
    target = pushed_target(sqlite_url, market, list(range(1, 31)), page_budget=10)
    result = poke_target(target, now=clock)
    assert result.done and result.counts["verified"] == 30 and result.counts["verify_page_fetches"] == 10
    assert (result.counts["verified_by_page"], result.counts["verified_by_api"]) == (10, 20)
    assert result.counts["verify_pages_sampled_products"] == 10


def test_a_price_the_catalog_does_not_hold_fails_the_api_check_whatever_the_pages(sqlite_url) -> None:
    """No page is read (budget 0): the product query alone shows that the catalog still has the old price."""
    clock = Clock()
    market = seeded_market(clock, 2)
    target = pushed_target(sqlite_url, market, [1, 2], page_budget=0)
    stale = market.products[2][0]
    market.products[2].append(replace(stale, at=clock()))  # re-stamped by another write, the old price back
    result = poke_target(target, now=clock)
    assert not result.done
    failed = Ledger(sqlite_url).verification.results(target.sync_run_id, only_failed=True)
    assert {(r.product_id, r.check, r.field, r.expected, r.seen) for r in failed} == {
        (2, "api", "price", "21.00", "20.00")}
    assert statuses(sqlite_url, target.sync_run_id) == {"verified", "confirmed"}


def test_strikes_are_recorded_once_per_run_and_site(sqlite_url) -> None:
    ensure_schema(sqlite_url)
    run = Ledger(sqlite_url).runs.start("demo", "unit", "strikes")
    assert len(Ledger(sqlite_url).verification.record_strikes("demo", run, {"ru": [5, 3], "es": [3]})) == 2
    assert Ledger(sqlite_url).verification.record_strikes("demo", run, {"ru": [5]}) == []
    ledger = Ledger(sqlite_url)
    assert ledger.verification.strike_count("demo") == 2 and ledger.verification.strike_count("other") == 0


def test_finish_keeps_its_report_when_verification_cannot_run(sqlite_url, monkeypatch) -> None:
    from aeops.catalog.context import RunContext
    from aeops.config import AeopsConfig
    from aeops.sync import finish

    clock = Clock()
    market = seeded_market(clock, 2)
    target = pushed_target(sqlite_url, market, [1, 2])

    def down(*_a, **_kw):
        raise ConnectionError("marketplace unreachable")

    for read in ("list_products", "iter_products"):
        monkeypatch.setattr(market, read, down)
    monkeypatch.setattr("aeops.verify.runner.reader_for_store", lambda store, *_a: market)
    cfg = AeopsConfig()
    counts = finish._verify(RunContext(cfg, cfg.store("demo"), Ledger(sqlite_url)), target.sync_run_id, market)
    assert counts["verify_error"] == "ConnectionError: marketplace unreachable"
    assert counts["verify_failed"] == 2 and counts["verified"] == 0 and counts["confirmed"] == 2


# ------------------------------------------------------------------------------------------- the review
def test_review_follow_up_moves_changes_on_and_alerts_once(sqlite_url) -> None:
    from aeops.marketplace import Product
    from aeops.store.status import ChangeStatus
    from aeops.verify import review_followup

    ensure_schema(sqlite_url)
    ledger = Ledger(sqlite_url)
    run = ledger.runs.start("demo", "unit", "review")
    edit = {"fields": {"main_image": "a.jpg", "main_image_sha256": "0" * 64}}
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "edit", edit) for pid in (1, 2, 3)])
    ids = ledger.changes.open_ids([run])[(run, "edit")]
    ledger.changes.begin_write(run, "demo", "aliexpress.solution.product.edit", "b", ids)  # pushed_at = now
    ledger.changes.set_status(ids, ChangeStatus.IN_REVIEW)
    status = {1: ("onSelling", None), 2: ("editingRequired", "image under 800 px"), 3: ("auditing", None)}
    ledger.runs.add_milestone(run, "review-started:1")  # the push's read right after the edit saw it auditing

    class Client(FakeMarketplace):
        def get_product(self, product_id: int) -> Product:
            return Product(product_id, status=status[product_id][0], audit_reason=status[product_id][1])

    sent: list = []
    at = datetime.now(UTC)
    first = review_followup.follow(ledger, Client(), "demo", run, "r", deadline=timedelta(hours=2), at=at,
                                   alert=sent.append)
    assert (first.passed, first.refused, first.waiting, first.overdue) == ([1], {2: "image under 800 px"}, [3], [])
    assert {c.product_id: (c.status, c.error_code) for c in ledger.changes.of_run(run)} == {
        1: ("confirmed", None), 2: ("failed", "editingRequired"), 3: ("in_review", None)}
    assert len(sent) == 1 and "product 2" in sent[0].text and "800 px" in sent[0].text
    late = review_followup.follow(ledger, Client(), "demo", run, "r", deadline=timedelta(hours=2),
                         at=at + timedelta(hours=2, seconds=1), alert=sent.append)
    assert late.overdue == [3] and late.pending == [] and "review overdue" in sent[-1].text and len(sent) == 2
    review_followup.follow(ledger, Client(), "demo", run, "r", deadline=timedelta(hours=2), at=at + timedelta(hours=3),
                  alert=sent.append)
    assert len(sent) == 2  # each alert once per run


def _image_edits(sqlite_url: str, name: str, pids: tuple[int, ...]):
    from aeops.store.status import ChangeStatus

    ensure_schema(sqlite_url)
    ledger = Ledger(sqlite_url)
    run = ledger.runs.start("demo", "unit", name)
    edit = {"fields": {"main_image": "a.jpg", "main_image_sha256": "0" * 64}}
    ledger.changes.store_plan(run, "demo", [PlannedChange(pid, "edit", edit) for pid in pids])
    ids = ledger.changes.open_ids([run])[(run, "edit")]
    ledger.changes.begin_write(run, "demo", "aliexpress.solution.product.edit", "b", ids)  # pushed_at = now
    ledger.changes.set_status(ids, ChangeStatus.IN_REVIEW)
    return ledger, run


def _status_client(status: dict[int, str]):
    from aeops.marketplace import Product

    class Client(FakeMarketplace):
        def get_product(self, product_id: int) -> Product:
            return Product(product_id, status=status[product_id])

    return Client()


def test_an_image_edit_with_no_review_started_within_the_trigger_time_is_alerted_and_reported(sqlite_url) -> None:
    """The guide: a main-image change must trigger the review within 2 hours. Product 1 is back on sale and was never
    seen auditing, product 2 went offline: neither is counted as reviewed."""
    from aeops.verify import review_followup

    ledger, run = _image_edits(sqlite_url, "no-review", (1, 2))
    client, sent = _status_client({1: "onSelling", 2: "offline"}), []
    at = datetime.now(UTC)

    early = review_followup.follow(ledger, client, "demo", run, "r", deadline=timedelta(hours=2), at=at,
                                   alert=sent.append, trigger=timedelta(minutes=120))
    assert early.passed == [] and early.unstarted == [1, 2] and early.pending == [1, 2] and sent == []

    late = review_followup.follow(ledger, client, "demo", run, "r", deadline=timedelta(hours=2),
                                  at=at + timedelta(minutes=121), alert=sent.append, trigger=timedelta(minutes=120))
    assert late.passed == [] and late.unreviewed == {1: "onSelling", 2: "offline"}
    assert late.overdue == [2] and late.pending == []  # not waited for any longer
    assert {c.product_id: c.status for c in ledger.changes.of_run(run)} == {1: "confirmed", 2: "in_review"}
    assert len(sent) == 1 and "review not triggered" in sent[0].text and "1 (onSelling)" in sent[0].text
    assert "120 minutes" in sent[0].text
    assert {"review-missing:1", "review-missing:2"} <= set(ledger.runs.milestones(run))
    review_followup.follow(ledger, client, "demo", run, "r", deadline=timedelta(hours=2),
                           at=at + timedelta(minutes=150), alert=sent.append, trigger=timedelta(minutes=120))
    assert len(sent) == 1  # once per run


def test_a_review_seen_starting_then_passing_confirms_and_a_late_one_alerts_overdue(sqlite_url) -> None:
    from aeops.verify import review_followup

    ledger, run = _image_edits(sqlite_url, "reviewed", (1, 2))
    status = {1: "auditing", 2: "auditing"}
    client, sent = _status_client(status), []
    at = datetime.now(UTC)

    first = review_followup.follow(ledger, client, "demo", run, "r", deadline=timedelta(minutes=120), at=at,
                                   alert=sent.append, trigger=timedelta(minutes=120))
    assert first.waiting == [1, 2] and first.unstarted == [] and "review-started:1" in ledger.runs.milestones(run)
    status[1] = "onSelling"  # the review passed
    later = review_followup.follow(ledger, client, "demo", run, "r", deadline=timedelta(minutes=120),
                                   at=at + timedelta(minutes=121), alert=sent.append, trigger=timedelta(minutes=120))
    assert later.passed == [1] and later.overdue == [2] and later.unreviewed == {}
    assert len(sent) == 1 and "review overdue" in sent[0].text


def test_the_push_reads_the_status_right_after_an_image_edit_and_records_a_started_review(sqlite_url) -> None:
    from aeops.catalog.push import note_reviews_started
    from aeops.marketplace import ApiError, Product

    ensure_schema(sqlite_url)
    ledger = Ledger(sqlite_url)
    run = ledger.runs.start("demo", "unit", "push-read")

    class Client(FakeMarketplace):
        def get_product(self, product_id: int) -> Product:
            if product_id == 3:
                raise ApiError("busy", code="isp.temporary-failure")
            return Product(product_id, status={1: "auditing", 2: "onSelling"}[product_id])

    note_reviews_started(ledger, Client(), run, [1, 2, 3])
    assert {n for n in ledger.runs.milestones(run) if n.startswith("review-started:")} == {"review-started:1"}


def test_a_refusal_without_a_reason_says_the_platform_gave_none_in_the_stores_language(sqlite_url) -> None:
    """No public documentation names a reason field (the documented profile has none): the report and the alert
    say the review refused it without a reason, in the store's language, instead of an empty or invented one."""
    from aeops.marketplace import Product
    from aeops.store.status import ChangeStatus
    from aeops.verify import review_followup

    ensure_schema(sqlite_url)
    ledger = Ledger(sqlite_url)
    run = ledger.runs.start("demo", "unit", "review-no-reason")
    ledger.changes.store_plan(run, "demo", [PlannedChange(7, "edit", {"fields": {"main_image": "a.jpg"}})])
    ids = ledger.changes.open_ids([run])[(run, "edit")]
    ledger.changes.begin_write(run, "demo", "aliexpress.solution.product.edit", "b", ids)
    ledger.changes.set_status(ids, ChangeStatus.IN_REVIEW)

    class Client:
        def get_product(self, pid: int) -> Product:
            return Product(pid, status="editingRequired")  # no audit_reason on the documented platform

    sent: list = []
    outcome = review_followup.follow(ledger, Client(), "demo", run, "r", deadline=timedelta(hours=2),
                                     at=datetime.now(UTC), alert=sent.append, lang="zh-CN")
    assert outcome.refused == {7: "平台未给出原因"}
    [change] = ledger.changes.of_run(run)
    assert (change.status, change.error_code, change.error_message) == ("failed", "editingRequired", "平台未给出原因")
    assert len(sent) == 1 and "平台未给出原因" in sent[0].text


def test_the_checks_the_platform_does_not_allow_are_counted_for_the_report() -> None:
    from aeops.verify.runner import not_allowed_checks

    assert not_allowed_checks({}) == []  # not verified: nothing to say
    assert not_allowed_checks({"passes": 1, "untimed_pages": 15}) == ["completion_rate", "page_timestamps"]
    assert not_allowed_checks({"passes": 2, "untimed_pages": 0, "marketplace_completion_rate": 1.0}) == []


def test_a_product_the_review_refused_is_off_sale_unless_its_refusal_is_already_the_edits_failure() -> None:
    """A refused product fails the product query's check (off sale whatever its values); once this run's review
    follow-up failed its main-image edit (and alerted), its price and stock changes are judged by their values:
    one refusal, reported once, not a verification that never ends."""
    from aeops.marketplace import Product, Sku
    from aeops.verify.checks import Expected, compare_product

    product = Product(7, status="editingRequired", skus=[Sku("14:1", "A", Decimal("9.90"), None, 3)])
    exp = Expected(7, datetime.now(UTC), prices={"A": ("9.90", None)}, stocks={"A": 3})
    assert [(p.field, p.seen) for p in compare_product(exp, product)] == [("status", "editingRequired")]
    assert compare_product(replace(exp, review_refused=True), product) == []
    wrong = Product(7, status="editingRequired", skus=[Sku("14:1", "A", Decimal("8.00"), None, 3)])
    assert [p.field for p in compare_product(replace(exp, review_refused=True), wrong)] == ["price"]
