"""Verification of large change sets: the one-page rule for many high-risk products, its coverage and miss
probability, escalation of products that failed a page, concurrent list reads, the fast storefront reader,
and the bulk ledger writes the whole-store plan relies on."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest

from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.marketplace.listing import list_concurrently
from aeops.store import ensure_schema
from aeops.store.ledger import Ledger
from aeops.verify import sampling
from aeops.verify.fake import FakeMarketplace
from aeops.verify.page_reader import SimulatorStorefrontReader
from aeops.verify.runner import Target, VerifySettings, poke_target

SITES = ["en", "ru", "es", "fr", "pt"]
DEVICES = ("desktop", "mobile", "anonymous")
PAIRS = [(s, d) for s in SITES for d in DEVICES]


# ------------------------------------------------------------------------------------------- the rule
def test_many_high_risk_products_get_one_page_each_dealt_over_every_site_and_device() -> None:
    rule = sampling.SamplingRule(page_all_threshold=200, sample_size=200, risky_cross_size=1000)
    products = range(100_000)
    plan = sampling.page_plan(products, products, rule, seed=11)
    grids = [g for g in plan.values()]
    assert len(plan) == 100_000  # every high-risk product gets a page
    assert grids.count(sampling.FULL) == 200
    assert 800 <= grids.count(sampling.CROSS) <= 1000  # the cross sample, less what the full sample took
    fetches = sampling.fetch_count(plan, SITES, DEVICES)
    assert fetches == 100_000 + 6 * grids.count(sampling.CROSS) + 14 * 200  # instead of 7 x 100,000
    coverage = sampling.pair_coverage(plan, SITES, DEVICES)
    assert set(coverage) == set(PAIRS) and min(coverage.values()) >= 100_000 // 15
    one_page = [g for g in grids if g.startswith("one:")]
    dealt = [sampling.cells(g, SITES, DEVICES)[0] for g in one_page]
    counts = [dealt.count(p) for p in PAIRS]
    assert max(counts) - min(counts) <= 40  # dealt evenly (then the full-grid sample took ~13 from each pair)
    assert plan == sampling.page_plan(products, products, rule, seed=11)  # every poke checks the same pages


def test_the_one_page_rule_never_checks_fewer_pages_as_the_risky_set_grows() -> None:
    rule = sampling.SamplingRule(page_all_threshold=10, sample_size=20, risky_cross_size=100)
    counts = [sampling.fetch_count(sampling.page_plan(range(5000), range(r), rule, seed=3), SITES, DEVICES)
              for r in (50, 99, 100, 101, 102, 500, 5000)]
    assert counts == sorted(counts)
    assert sampling.page_plan(range(5000), range(100), rule, seed=3)[5] in (sampling.CROSS, sampling.FULL)


def test_pair_miss_probability() -> None:
    assert sampling.pair_miss_probability(100, 0.05) == pytest.approx(0.95**100)
    assert sampling.pair_miss_probability(6_666, 0.001) < 0.0013
    assert sampling.pair_miss_probability(0, 0.5) == 1.0 and sampling.pair_miss_probability(10, 0) == 1.0


# ------------------------------------------------------------------------------------------- a pass
class Clock:
    def __init__(self) -> None:
        self.skipped = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skipped

    def tick(self, seconds: float) -> None:
        self.skipped += timedelta(seconds=seconds)


def pushed(url: str, market: FakeMarketplace, n: int, rule: sampling.SamplingRule, budget: int = 300) -> Target:
    ensure_schema(url)
    run = Ledger(url).runs.start("demo", "unit", "big")
    Ledger(url).changes.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": None}]}) for pid in range(1, n + 1)])
    ids = Ledger(url).changes.open_ids([run])[(run, "price")]
    for i in range(0, len(ids), 20):
        push_batch(Ledger(url), market, run, "price", ids[i : i + 20])
    return Target(ledger=Ledger(url), store="demo", sync_run_id=run, run_id="big", sites=SITES,
                  settings=VerifySettings(deadline=timedelta(seconds=60), rule=rule, pages_per_second=1e6,
                                          page_budget=budget), client=market, reader=market)


def test_a_device_that_never_updates_is_seen_on_one_page_products_and_blamed_after_escalation(sqlite_url) -> None:
    clock = Clock()
    market = FakeMarketplace(clock=clock, never_device="mobile")
    market.seed(range(1, 301), {"S": ("20.00", None, 10)}, clock() - timedelta(days=1))
    rule = sampling.SamplingRule(page_all_threshold=10, sample_size=5, risky_cross_size=20)
    target = pushed(sqlite_url, market, 300, rule, budget=3000)
    first = poke_target(target, now=clock)
    assert not first.done
    plan = sampling.budget_plan(range(1, 301), dict.fromkeys(range(1, 301), 2), rule,
                                sampling.seed_for("demo", "big"), SITES, DEVICES, 3000)
    one_page_on_mobile = {pid for pid, cells in plan.items() if len(cells) == 1 and cells[0][1] == "mobile"}
    failed = Ledger(sqlite_url).verification.results(target.sync_run_id, only_failed=True)
    single = {r.product_id for r in failed if r.field == "price" and r.site is not None and r.device == "mobile"}
    assert one_page_on_mobile and one_page_on_mobile <= single  # blamed on the page it was seen on
    # the next pass reads every page of the products that failed one: the blame moves to the device
    second = poke_target(target, now=clock)
    assert not second.done
    rows = Ledger(sqlite_url).verification.results(target.sync_run_id, only_failed=True)
    device_wide = {r.product_id for r in rows if r.check == "device" and r.device == "mobile" and r.site is None}
    assert one_page_on_mobile <= device_wide
    assert all(r.device == "mobile" for r in rows if r.field == "price")  # nothing else is blamed


def test_a_clean_whole_store_repricing_is_verified_within_the_page_budget(sqlite_url) -> None:
    clock = Clock()
    market = FakeMarketplace(clock=clock)
    market.seed(range(1, 401), {"S": ("20.00", None, 10)}, clock() - timedelta(days=1))
    rule = sampling.SamplingRule(page_all_threshold=10, sample_size=10, risky_cross_size=30)
    result = poke_target(pushed(sqlite_url, market, 400, rule), now=clock)
    assert result.done and result.counts["verified"] == 400 and result.counts["verified_share"] == 1.0
    assert result.counts["verify_page_fetches"] == 300  # the budget, one page each for 300 products
    assert (result.counts["verified_by_page"], result.counts["verified_by_api"]) == (300, 100)


def test_an_urgent_runs_product_queries_are_capped_by_its_deadline_and_the_rest_verified_by_list_and_pages(
        sqlite_url) -> None:
    """One product query per changed product does not fit 15 minutes for a whole store: an urgent run queries the
    products whose pages are read, then a seeded sample, up to its budget; the others rest on their list timestamp
    (and a page when sampled). A product the marketplace does not show right is still caught by the list read."""
    from dataclasses import replace

    from aeops.verify.runner import URGENT_QUERY_MIN, urgent_query_budget

    assert urgent_query_budget(15, 18) == 2430 and urgent_query_budget(1, 0.5) == URGENT_QUERY_MIN
    clock = Clock()
    market = FakeMarketplace(clock=clock)
    market.seed(range(1, 401), {"S": ("20.00", None, 10)}, clock() - timedelta(days=1))
    rule = sampling.SamplingRule(page_all_threshold=10, sample_size=10, risky_cross_size=30)
    target = pushed(sqlite_url, market, 400, rule, budget=50)
    target = replace(target, settings=replace(target.settings, api_check_budget=120))
    calls_before = market.calls

    result = poke_target(target, now=clock)

    assert result.done and result.counts["verified"] == 400
    assert result.counts["verify_product_queries"] == 120  # not 400
    assert result.counts["verified_by_page"] == 50 and result.counts["verified_by_list"] == 400 - 120
    assert market.calls - calls_before < 400
    state = Ledger(sqlite_url).runs.get(target.sync_run_id).artifacts["verify"]
    assert len(state["api_sample"]) == 120


# ------------------------------------------------------------------------------------------- list reads
class PagedClient(FakeMarketplace):
    """list_products over ``n`` products, recording each page read (and the threads that read them)."""

    def __init__(self, n: int) -> None:
        super().__init__()
        self.n, self.reads, self.threads = n, [], set()
        self._lock = threading.Lock()

    def list_products(self, status="onSelling", *, page=1, page_size=50, modified_since=None, modified_until=None):
        with self._lock:
            self.reads.append((status, page, modified_since))
            self.threads.add(threading.get_ident())
        items = list(range(self.n)) if status == "onSelling" else []
        chunk = items[(page - 1) * page_size : page * page_size]
        return SimpleNamespace(products=[SimpleNamespace(product_id=i) for i in chunk],
                               total_page=-(-len(items) // page_size))


def test_list_reads_every_page_once_in_order_several_at_a_time() -> None:
    client = PagedClient(1000)
    since = datetime(2026, 11, 27, tzinfo=UTC)
    got = [p.product_id for p in list_concurrently(client, page_size=99, modified_since=since, workers=4)]
    assert got == list(range(1000))
    on_sale = sorted(page for status, page, _ in client.reads if status == "onSelling")
    assert on_sale == list(range(1, 12)) and len(client.reads) == 11 + 3  # 3 other statuses: one page each
    assert {s for *_, s in client.reads} == {since}


# ------------------------------------------------------------------------------------------- the reader
class Storefront(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, str | None]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Storefront.seen.append((self.path, self.headers["User-Agent"], self.headers.get("Cookie")))
        body = (b'<script>window.runParams = {\n data: {"priceComponent": {"skuPriceList": [{"skuAttr": "14:193", '
                b'"skuVal": {"skuCalPrice": "21.00", "inventory": 4}}]}, '
                b'"simulatorComponent": {"gmtModified": 1795716450000}}\n};</script>')
        self.send_response(200)
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


def test_simulator_reader_keeps_a_session_per_device_and_none_anonymously_over_kept_alive_connections() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Storefront)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Storefront.seen = []
    reader = SimulatorStorefrontReader(f"http://127.0.0.1:{server.server_port}/sync", sku_codes={7: {"14:193": "S"}})
    try:
        pages = [reader.fetch(7, "fr", d) for d in ("desktop", "desktop", "mobile", "anonymous", "anonymous")]
        assert all(p.error is None and p.skus["S"].price == "21.00" for p in pages)
        assert Storefront.seen[0][0] == "/store/fr/item/7.html?device=desktop"
        assert Storefront.seen[0][2] is None and Storefront.seen[1][2] == "session=abc"
        assert "AliApp" in Storefront.seen[2][1] and "AliApp" not in Storefront.seen[3][1]
        assert Storefront.seen[3][2] is None and Storefront.seen[4][2] is None
        assert reader.requests == 5
    finally:
        reader.close()
        server.shutdown()
        server.server_close()
    # a server that is gone: a page with an error, never an exception
    assert reader.fetch(7, "fr", "desktop").error


# ------------------------------------------------------------------------------------------- ledger
def test_bulk_store_plan_keeps_pushed_changes_and_replans_open_ones(sqlite_url) -> None:
    ensure_schema(sqlite_url)
    run = Ledger(sqlite_url).runs.start("demo", "unit", "plan")
    first = [PlannedChange(pid, "price", {"skus": [{"sku_code": "S", "price": "1.00"}]}, {"skus": []})
             for pid in range(1, 6001)] + [PlannedChange(9, "unpushable", {"reason": "R", "message": "m"})]
    assert Ledger(sqlite_url).changes.store_plan(run, "demo", first) == {"price": 6000, "unpushable": 1}
    done = Ledger(sqlite_url).changes.open_ids([run])[(run, "price")][:2]
    Ledger(sqlite_url).changes.set_status(done, "confirmed")
    again = [PlannedChange(pid, "price", {"skus": [{"sku_code": "S", "price": "2.00"}]}) for pid in (1, 2, 3)]
    Ledger(sqlite_url).changes.store_plan(run, "demo", again)
    changes = {c.product_id: c for c in Ledger(sqlite_url).changes.of_run(run) if c.kind == "price"}
    assert len(changes) == 6000
    assert [changes[p].payload["skus"][0]["price"] for p in (1, 2, 3, 4)] == ["1.00", "1.00", "2.00", "1.00"]
    unpushable = [c for c in Ledger(sqlite_url).changes.of_run(run) if c.kind == "unpushable"][0]
    assert (unpushable.status, unpushable.error_code, unpushable.error_message) == ("unpushable", "R", "m")
    assert changes[4].status == "planned" and changes[4].attempts == 0 and changes[4].updated_at is not None


def test_known_state_and_state_fields_read_the_confirmed_product_state(sqlite_url) -> None:
    ensure_schema(sqlite_url)
    at = datetime(2026, 11, 27, tzinfo=UTC)
    Ledger(sqlite_url).products.save_seen("demo", {pid: ({"title": f"t{pid}", "skus": {}}, at) for pid in (1, 2, 3)})
    known = Ledger(sqlite_url).products.known("demo")
    assert set(known) == {1, 2, 3} and known[2].fields["title"] == "t2"
    assert known[2].marketplace_modified_at.replace(tzinfo=UTC) == at
    assert Ledger(sqlite_url).products.fields_of("demo", [2, 3, 99]) == {2: {"title": "t2", "skus": {}},
                                                                  3: {"title": "t3", "skus": {}}}
    assert Ledger(sqlite_url).products.known("other") == {}
