"""Post-update verification against the real simulator over HTTP (free port): faults are detected, attributed
to the right product / device / site, re-pushed once and reported; strikes are counted across runs.

Time is the test's: the simulator (in this process) and the verifier read one :class:`SimClock`, real time plus
what the test lets pass between pokes; nothing sleeps, so a slow machine cannot change what a poke sees."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.config import parse_config
from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
from aeops.marketplace import AliExpressClient
from aeops.marketplace.simulator.faults import SITES, Faults
from aeops.store import ensure_schema, session_scope
from aeops.store.ledger import Ledger
from aeops.store.models import ApiWrite, Change, SiteStrike
from aeops.verify.page_reader import SimulatorStorefrontReader
from aeops.verify.runner import PokeResult, Target, VerifySettings, poke_target
from tests.e2e.harness import Embedded

pytestmark = pytest.mark.e2e
STORE = "demo"
SELLER_ID = DEMO_SELLERS[STORE][1]
FIRST_ID = 1005000000000001
DAY_MS = 86_400_000


def fast_settings(deadline: timedelta) -> VerifySettings:
    """The simulator on loopback is no live site: read its pages without pacing and within a large budget."""
    return VerifySettings(deadline=deadline, pages_per_second=1e6, page_budget=100_000)


def catalog_rows(n: int) -> list[dict[str, Any]]:
    rows = []
    for p in range(n):
        for s in range(2):
            rows.append({"product_id": str(FIRST_ID + p), "sku_code": f"V{p}-S{s}", "title": f"Verify {p}",
                         "price": "20.00", "discount_price": "15.00", "stock": "10", "freight_template_id": "1001",
                         "category": "toys", "brand": "Acme", "main_image": f"https://img.example/{p}.jpg"})
    return rows


class SimClock:
    """Real time plus the time the test has let pass: the simulator's ``now_ms`` and the verifier's ``now``."""

    def __init__(self) -> None:
        self.offset_s = 0.0

    def ms(self) -> int:
        return int((time.time() + self.offset_s) * 1000)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset_s)

    def advance(self, seconds: float) -> None:
        self.offset_s += seconds


class Harness:
    """A simulator seeded with ``n`` products, the aeops DB, a client, and helpers to push and verify runs."""

    def __init__(self, env: Embedded, n: int, deadline_s: float, clock: SimClock) -> None:
        self.env, self.clock = env, clock
        env.sim.state.seed_rows(catalog_rows(n), seller_id=SELLER_ID)
        with env.sim.state.transaction() as data:  # yesterday's catalog: last modified a day before the push
            for product in data["products"].values():
                for key in ("gmt_create_ms", "gmt_modified_ms"):
                    product[key] -= DAY_MS
                for version in product["versions"]:
                    version["at_ms"] -= DAY_MS
                    version["gmt_modified_ms"] -= DAY_MS
        self.n = n
        self.db_url = env.db_url
        ensure_schema(self.db_url)
        self.config = parse_config({**env.config, "verify_deadline_minutes": deadline_s / 60})
        self.client = AliExpressClient(env.sim.url, DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS[STORE][2],
                                       seller_id=SELLER_ID, qps=1000, backoff_initial=0.01, backoff_max=0.05)
        self.reader = SimulatorStorefrontReader(env.sim.url)
        self.deadline = timedelta(seconds=deadline_s)

    def close(self) -> None:
        self.client.close()
        self.reader.close()

    def push_run(self, price: str, products: list[int] | None = None, stock: int | None = None, *,
                 known: bool = False) -> Target:
        """A new sync run that changes the first SKU's price (and stock) of ``products`` and pushes it.

        ``known``: aeops knows the products' values (the seeded 20.00 / 15.00 / 10 of both SKUs) but not their
        SKU-id maps, as after a store's blind first run; the changes carry the values they replace."""
        run_id = f"verify-{uuid.uuid4().hex[:8]}"
        sync_run_id = Ledger(self.db_url).runs.start(STORE, "verify_test", run_id)
        pids = products if products is not None else [FIRST_ID + p for p in range(self.n)]
        if known:
            seeded = {"price": "20.00", "discount_price": "15.00", "stock": 10}
            Ledger(self.db_url).products.save_seen(STORE, {pid: ({"freight_template_id": "1001", "skus": {
                f"V{pid - FIRST_ID}-S{s}": dict(seeded) for s in range(2)}}, None) for pid in pids})
        changes = []
        for pid in pids:
            sku = f"V{pid - FIRST_ID}-S0"
            was = {"skus": [{"sku_code": sku, "price": "20.00", "discount_price": "15.00"}]} if known else {}
            changes.append(PlannedChange(pid, "price", {"skus": [{"sku_code": sku, "price": price,
                                                                  "discount_price": "15.00"}]}, was))
            if stock is not None:
                was = {"skus": [{"sku_code": sku, "inventory": 10}]} if known else {}
                changes.append(PlannedChange(pid, "inventory", {"skus": [{"sku_code": sku, "inventory": stock}]},
                                             was))
        Ledger(self.db_url).changes.store_plan(sync_run_id, STORE, changes)
        for (_, kind), ids in Ledger(self.db_url).changes.open_ids([sync_run_id]).items():
            for i in range(0, len(ids), 20):
                push_batch(Ledger(self.db_url), self.client, sync_run_id, kind, ids[i : i + 20])
        settings = fast_settings(self.deadline)
        return Target(ledger=Ledger(self.db_url), store=STORE, sync_run_id=sync_run_id, run_id=run_id,
                      sites=list(SITES), settings=settings, client=self.client, reader=self.reader,
                      config=self.config)

    def verify(self, target: Target, poke_every: float = 0.25) -> tuple[PokeResult, list[PokeResult]]:
        """Poke until verification ends, ``poke_every`` seconds of the test's clock apart (no sleeping)."""
        pokes = []
        for _ in range(400):
            result = poke_target(target, now=self.clock.now)
            pokes.append(result)
            if result.done:
                return result, pokes
            self.clock.advance(poke_every)
        raise AssertionError("verification never finished")

    def statuses(self, target: Target) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for change in Ledger(self.db_url).changes.of_run(target.sync_run_id):
            out.setdefault(change.product_id, set()).add(change.status)
        return out

    def writes_for(self, target: Target, pid: int) -> int:
        with session_scope(self.db_url) as s:
            rows = s.scalars(select(ApiWrite).where(ApiWrite.sync_run_id == target.sync_run_id))
            return sum(1 for w in rows if pid in w.product_ids)


@pytest.fixture
def sim_clock(monkeypatch: pytest.MonkeyPatch) -> SimClock:
    from aeops.marketplace.simulator import api, item_pages, products, protocol, state

    clock = SimClock()
    for module in (api, products, protocol, state, item_pages):
        monkeypatch.setattr(module, "now_ms", clock.ms)
    return clock


@pytest.fixture
def harness(embedded, sim_clock):
    made: list[Harness] = []

    def make(faults: str = "", n: int = 6, deadline_s: float = 3.0) -> Harness:
        # the rich profile: the completion rate and the pages' last-modified times are what these tests read
        h = Harness(embedded(faults=faults, seed=False, profile="rich"), n, deadline_s, sim_clock)
        made.append(h)
        return h

    yield make
    for h in made:
        h.close()


def failed_rows(h: Harness, target: Target) -> list[Any]:
    return Ledger(h.db_url).verification.results(target.sync_run_id, only_failed=True)


def test_clean_run_reports_full_completion_in_one_pass(harness) -> None:
    h = harness()
    target = h.push_run("21.00", stock=7)

    result, pokes = h.verify(target)

    assert len(pokes) == 1
    assert result.counts["verified_share"] == 1.0
    assert result.counts["marketplace_completion_rate"] == 1.0
    assert result.counts["verified"] == 12 and result.counts["verify_failed"] == 0
    assert result.counts["verify_page_fetches"] == 6 * len(SITES) * 3  # small change set: the full grid
    assert set().union(*h.statuses(target).values()) == {"verified"}
    assert failed_rows(h, target) == []


def test_device_that_never_updates_is_blamed_repushed_once_and_reported(harness) -> None:
    h = harness(faults="never_device=mobile", n=3)
    target = h.push_run("22.00")

    result, _ = h.verify(target)

    assert result.counts["verified_share"] == 0.0
    assert result.counts["repushed_products"] == 3
    assert result.counts["marketplace_completion_rate"] == 0.0
    for pid in range(FIRST_ID, FIRST_ID + 3):
        assert h.statuses(target)[pid] == {"verify_failed"}
        assert h.writes_for(target, pid) == 2  # the push and exactly one re-push
    rows = failed_rows(h, target)
    assert {(r.product_id, r.check, r.device, r.site) for r in rows if r.field == "price"} == {
        (pid, "device", "mobile", None) for pid in range(FIRST_ID, FIRST_ID + 3)}
    price = next(r for r in rows if r.field == "price")
    sku = f"V{price.product_id - FIRST_ID}-S0"
    assert (price.expected, price.seen, price.sku_code, price.attempt) == ("22.00", "20.00", sku, 2)
    with session_scope(h.db_url) as s:  # a device problem is not a multi-site inconsistency
        assert s.scalars(select(SiteStrike)).all() == []


def product_queries(h: Harness) -> int:
    return int(httpx.get(f"{h.env.sim.url}/_sim/calls").json().get("aliexpress.solution.product.info.get", 0))


def test_pages_that_show_the_expected_values_are_verified_with_one_product_query_each(harness) -> None:
    """After a blind first run aeops knows every SKU's values but not which platform SKU id is which: the API check
    (one product query per changed product) gives the map; nothing else is queried, and the maps are kept."""
    h = harness(n=4)
    httpx.post(f"{h.env.sim.url}/_sim/calls/reset")
    target = h.push_run("21.00", stock=7, known=True)

    result, pokes = h.verify(target)

    assert len(pokes) == 1 and result.counts["verified"] == 8 and result.counts["verify_failed"] == 0
    assert result.counts["verify_page_fetches"] == 4 * len(SITES) * 3
    assert product_queries(h) == 4  # the API check of every changed product, nothing more
    fields = Ledger(h.db_url).products.fields_of(STORE, range(FIRST_ID, FIRST_ID + 4))
    assert all(sorted(f["sku_ids"].values()) == [f"V{pid - FIRST_ID}-S0", f"V{pid - FIRST_ID}-S1"]
               for pid, f in fields.items())


def test_a_page_that_does_not_show_the_expected_values_reads_the_sku_ids_to_blame_the_right_sku(harness) -> None:
    h = harness(faults="never_device=mobile", n=3)
    httpx.post(f"{h.env.sim.url}/_sim/calls/reset")
    target = h.push_run("22.00", known=True)

    result, _ = h.verify(target)

    assert result.counts["verified_share"] == 0.0
    rows = failed_rows(h, target)
    assert {(r.product_id, r.check, r.device, r.field, r.sku_code, r.expected, r.seen) for r in rows
            if r.field != "last_modified"} == {
        (pid, "device", "mobile", "price", f"V{pid - FIRST_ID}-S0", "22.00", "20.00")
        for pid in range(FIRST_ID, FIRST_ID + 3)}
    fields = Ledger(h.db_url).products.fields_of(STORE, range(FIRST_ID, FIRST_ID + 3))
    for pid in range(FIRST_ID, FIRST_ID + 3):  # read once, kept for the next runs
        assert sorted(fields[pid]["sku_ids"].values()) == [f"V{pid - FIRST_ID}-S0", f"V{pid - FIRST_ID}-S1"]
    assert product_queries(h) == 3  # one per product, at the first pass that needed it


def stale_pairs(spec: str, pids: list[int]) -> dict[int, set[str]]:
    faults = Faults.parse(spec)
    return {pid: {site for site in SITES if faults.is_stale(pid, site)} for pid in pids}


def test_stale_site_is_blamed_on_its_site_and_becomes_a_strike(harness) -> None:
    spec = "stale_site=0.3,seed=11"
    h = harness(faults=spec, n=8)
    stale = stale_pairs(spec, [FIRST_ID + p for p in range(8)])
    assert any(stale.values()) and not all(stale.values())  # the seed gives a mix

    target = h.push_run("23.00")
    result, _ = h.verify(target)

    rows = failed_rows(h, target)
    blamed = {(r.product_id, r.site) for r in rows if r.check == "site" and r.field == "price"}
    assert blamed == {(pid, site) for pid, sites in stale.items() for site in sites}
    for pid, sites in stale.items():
        assert h.statuses(target)[pid] == ({"verify_failed"} if sites else {"verified"})
        assert h.writes_for(target, pid) == (2 if sites else 1)
    bad = sum(1 for sites in stale.values() if sites)
    assert result.counts["verified_share"] == pytest.approx((8 - bad) / 8)
    assert result.counts["inconsistent_sites"] == sorted(set().union(*stale.values()))
    with session_scope(h.db_url) as s:
        strikes = s.scalars(select(SiteStrike)).all()
    assert {st.site for st in strikes} == set().union(*stale.values())


def test_slow_propagation_is_seen_then_passes_without_a_repush(harness) -> None:
    """Two minutes to propagate, 30 minutes to verify (the re-push is due at 15): seen at the poke at 135 s."""
    h = harness(faults="propagation_s=120", n=4, deadline_s=1800)
    target = h.push_run("24.00")

    result, pokes = h.verify(target, poke_every=45)

    assert [p.done for p in pokes] == [False, False, False, True]  # 0, 45, 90 s: not yet; 135 s: everywhere
    assert result.counts["verified_share"] == 1.0 and result.counts["repushed_products"] == 0
    rows = Ledger(h.db_url).verification.results(target.sync_run_id)
    # detected while it propagated (first nothing showed the update: the product's timestamp problem; pages
    # fetched while it was arriving may blame a site or device for a moment), then every problem passed
    assert {r.product_id for r in rows if r.check == "timestamp" and r.field == "last_modified"} == set(
        range(FIRST_ID, FIRST_ID + 4))
    assert rows and all(r.passed for r in rows)
    for pid in range(FIRST_ID, FIRST_ID + 4):
        assert h.writes_for(target, pid) == 1


def test_propagation_slower_than_the_deadline_is_repushed_once_then_reported(harness) -> None:
    """An hour to propagate, 10 minutes to verify: re-pushed at 5 minutes, reported at 10, not a poke later."""
    h = harness(faults="propagation_s=3600", n=2, deadline_s=600)
    target = h.push_run("25.00")

    result, pokes = h.verify(target, poke_every=60)

    assert len(pokes) == 11 and [p.done for p in pokes].index(True) == 10  # 0, 1, ... 10 minutes

    assert result.counts["verified_share"] == 0.0 and result.counts["repushed_products"] == 2
    rows = failed_rows(h, target)
    assert {(r.product_id, r.check, r.device, r.site, r.attempt) for r in rows if r.field == "price"} == {
        (pid, "timestamp", None, None, 2) for pid in (FIRST_ID, FIRST_ID + 1)}
    stamp = next(r for r in rows if r.field == "last_modified")
    assert stamp.expected.startswith(">= ") and stamp.seen < stamp.expected[3:]
    for pid in (FIRST_ID, FIRST_ID + 1):
        assert h.writes_for(target, pid) == 2


def test_strikes_count_across_runs_and_warn_loudly_at_the_second(harness) -> None:
    spec = "stale_site=0.3,seed=11"
    h = harness(faults=spec, n=8, deadline_s=1.0)
    stale = stale_pairs(spec, [FIRST_ID + p for p in range(8)])
    pid = next(p for p, sites in stale.items() if len(sites) == 1)  # one product, stale on exactly one site

    totals = []
    for n, price in enumerate(("26.00", "27.00", "28.00"), 1):
        result, _ = h.verify(h.push_run(price, products=[pid]))
        totals.append(result.counts["site_strikes_total"])
        assert Ledger(h.db_url).verification.strike_count(STORE) == n

    assert totals == [1, 2, 3]
    alerts = [m for m in h.env.slack_messages() if "inconsistenc" in str(m).lower()]
    texts = [str(m.get("text", "")) for m in alerts]
    assert len(texts) == 3
    assert "strike 1 of 3" in texts[0].lower()
    assert "warning" in texts[1].lower() and "restricts traffic" in texts[1].lower()
    assert "traffic restriction" in texts[2].lower()
    with session_scope(h.db_url) as s:
        assert s.scalar(select(Change.status).where(Change.product_id == pid).limit(1)) == "verify_failed"


def test_a_wrong_shipping_template_fails_on_every_device_until_the_repush(harness) -> None:
    """aeops moved a product to Free Shipping (1002); the seller center put it back on Standard (1001): every page
    offers charged standard shipping, which template 1002 never does. The re-push puts it right."""
    from aeops.marketplace.simulator.products import now_ms, record_write

    h = harness(n=2, deadline_s=2.0)
    pid = FIRST_ID
    run_id = f"verify-{uuid.uuid4().hex[:8]}"
    sync_run_id = Ledger(h.db_url).runs.start(STORE, "verify_test", run_id)
    Ledger(h.db_url).changes.store_plan(sync_run_id, STORE, [
        PlannedChange(pid, "edit", {"fields": {"freight_template_id": "1002"}})])
    (ids,) = Ledger(h.db_url).changes.open_ids([sync_run_id]).values()
    push_batch(Ledger(h.db_url), h.client, sync_run_id, "edit", ids)
    with h.env.sim.state.write() as tx:  # the hand edit in the seller center, after aeops's push
        product = tx.product(pid)
        product["freight_template_id"] = 1001
        record_write(product, now_ms())
    target = Target(ledger=Ledger(h.db_url), store=STORE, sync_run_id=sync_run_id, run_id=run_id, sites=list(SITES),
                    settings=fast_settings(h.deadline), client=h.client, reader=h.reader, config=h.config)
    assert not poke_target(target).done
    rows = failed_rows(h, target)
    assert {(r.check, r.field, r.expected, r.seen) for r in rows} == {
        # every (site, device) page shows it: the product's problem
        ("timestamp", "freight_template_id", "template 1002: CAINIAO_STANDARD free", "CAINIAO_STANDARD charged"),
        ("api", "freight_template_id", "1002", "1001")}  # and the product query says the catalog has 1001
    result, _pokes = h.verify(target)
    assert result.counts["verified"] == 1 and result.counts["repushed_products"] == 1
    assert h.env.products()[pid]["freight_template_id"] == 1002


def test_a_storefront_answering_anti_bot_pages_for_one_site_leaves_products_verified_by_the_api(harness) -> None:
    """Every ``ru`` page is the punish page: nothing is learnt from it, nothing is held against the products (no
    failure, no strike for ``ru``); the other sites' pages and the product query verify them, and the run counts
    the unreadable pages per site and device."""
    h = harness(faults="antibot_site=ru", n=4)
    target = h.push_run("21.50", stock=6)

    result, pokes = h.verify(target)

    assert len(pokes) == 1 and result.counts["verified"] == 8 and result.counts["verify_failed"] == 0
    assert set().union(*h.statuses(target).values()) == {"verified"}
    assert failed_rows(h, target) == []
    assert result.counts["storefront_unreadable"] == {
        f"ru/{device}": {"anti_bot": 4} for device in ("anonymous", "desktop", "mobile")}
    assert result.counts["storefront_unreadable_pages"] == 12
    assert result.counts["verify_product_queries"] == 4 and result.counts["verified_by_page"] == 4
    assert "inconsistent_sites" not in result.counts and result.counts["site_strikes_total"] == 0


def test_a_storefront_that_answers_only_anti_bot_pages_leaves_the_product_query_to_decide(harness) -> None:
    """No page is readable: the product query decides. One product's catalog price is changed behind aeops's back
    after the push: the query catches it (not a page), the re-push puts it right."""
    from aeops.marketplace.simulator.products import now_ms, record_write

    h = harness(faults="antibot=1", n=3)
    target = h.push_run("21.75")
    with h.env.sim.state.write() as tx:
        product = tx.product(FIRST_ID + 2)
        product["skus"][0]["price"] = "19.99"
        record_write(product, now_ms())

    first = poke_target(target, now=h.clock.now)

    assert not first.done
    assert {(r.product_id, r.check, r.field, r.expected, r.seen) for r in failed_rows(h, target)} == {
        (FIRST_ID + 2, "api", "price", "21.75", "19.99")}
    assert h.statuses(target) == {FIRST_ID: {"verified"}, FIRST_ID + 1: {"verified"}, FIRST_ID + 2: {"confirmed"}}
    result, _ = h.verify(target)
    assert result.counts["verified"] == 3 and result.counts["repushed_products"] == 1
    assert result.counts["verified_by_unreadable"] == 3 and result.counts["verified_by_page"] == 0
    assert result.counts["storefront_unreadable_pages"] >= 3 * len(SITES) * 3
