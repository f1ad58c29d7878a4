"""The politeness budget: per-site pacing inside a poke's window, the risk-ordered page sample within the run's
budget, deferred pages read by the next poke, and the settings that set them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.config import ConfigError, parse_config
from aeops.store import ensure_schema
from aeops.store.ledger import Ledger
from aeops.verify import sampling
from aeops.verify.fake import FakeMarketplace
from aeops.verify.politeness import SitePacer
from aeops.verify.runner import Target, VerifySettings, poke_target

SITES = ["en", "ru", "es", "fr", "pt"]
DEVICES = ("desktop", "mobile", "anonymous")


class FakeTime:
    def __init__(self) -> None:
        self.now, self.slept = 0.0, []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_pages_of_one_site_are_spaced_and_those_after_the_window_are_deferred_without_waiting() -> None:
    t = FakeTime()
    pacer = SitePacer(rate=1.0, window_s=3.0, clock=t.clock, sleep=t.sleep)
    assert [pacer.slot("ru") for _ in range(6)] == [True, True, True, True, False, False]  # at 0, 1, 2, 3 s
    assert t.slept == [1.0, 1.0, 1.0] and pacer.deferred == 2
    assert pacer.slot("en") and t.now == 3.0  # another site's first turn: now, still inside the window
    t.now = 3.5
    assert not pacer.slot("es")  # the window is over for every site


def test_each_site_has_its_own_rate() -> None:
    t = FakeTime()
    pacer = SitePacer(rate=2.0, window_s=10.0, clock=t.clock, sleep=t.sleep)
    for site in SITES:
        assert pacer.slot(site)
    assert t.slept == []  # the first page of every site at once
    assert pacer.slot("en") and t.slept == [0.5]


def test_the_budget_plan_reads_risky_products_first_breadth_first_and_never_beyond_the_budget() -> None:
    rule = sampling.SamplingRule(page_all_threshold=10, sample_size=20, risky_cross_size=5)
    risk = {1: 3, 2: 2, 3: 2, 4: 1} | {p: 2 for p in range(100, 130)}
    plan = sampling.budget_plan(range(1, 200), risk, rule, seed=4, sites=SITES, devices=DEVICES, budget=60)
    assert sum(len(c) for c in plan.values()) == 60
    order = list(plan)
    assert order[0] == 1 and set(order[:34]) == set(risk)  # every high-risk product before any low-risk one
    # 34 high-risk + 20 sampled = 54 first pages, then second pages in the same order for who may have more: the
    # first risky_cross_size (5) high-risk products, then the sampled ones
    twice = [p for p in order if len(plan[p]) == 2]
    assert len(plan) == 54 and twice == order[:5] + [order[34]]
    assert len({c for cells in plan.values() for c in cells}) == 15  # the first pages are dealt over every pair
    assert sampling.budget_plan(range(1, 200), risk, rule, seed=4, sites=SITES, devices=DEVICES, budget=0) == {}
    # a small change set: everything sampled, the full grid while the budget lasts
    small = sampling.budget_plan(range(1, 5), {}, rule, seed=4, sites=SITES, devices=DEVICES, budget=1000)
    assert {len(c) for c in small.values()} == {15} and all(len(set(c)) == 15 for c in small.values())
    # failed a page before: every page first
    esc = sampling.budget_plan(range(1, 200), risk, rule, seed=4, sites=SITES, devices=DEVICES, budget=20,
                               escalated=[150])
    assert len(esc[150]) == 15 and sum(len(c) for c in esc.values()) == 20


def test_a_risky_product_beyond_the_cross_size_keeps_one_page() -> None:
    rule = sampling.SamplingRule(page_all_threshold=0, sample_size=0, risky_cross_size=2)
    plan = sampling.budget_plan(range(10), dict.fromkeys(range(10), 2), rule, seed=1, sites=SITES, devices=DEVICES,
                                budget=1000)
    assert sorted(len(c) for c in plan.values()) == [1] * 8 + [15, 15]


def test_deferred_pages_are_read_by_the_next_poke_and_the_product_waits_for_them(sqlite_url) -> None:
    market = FakeMarketplace()
    now = datetime.now(UTC)
    market.clock = lambda: now + timedelta(seconds=1)
    market.seed(range(1, 4), {"S": ("20.00", None, 10)}, now - timedelta(days=1))
    ensure_schema(sqlite_url)
    run = Ledger(sqlite_url).runs.start("demo", "unit", "paced")
    Ledger(sqlite_url).changes.store_plan(run, "demo", [PlannedChange(pid, "price", {"skus": [
        {"sku_code": "S", "price": "21.00", "discount_price": None}]}) for pid in (1, 2, 3)])
    push_batch(Ledger(sqlite_url), market, run, "price", Ledger(sqlite_url).changes.open_ids([run])[(run, "price")])
    # one page per site a poke (the next turn of a site is 1,000 s later, after the window), the rest deferred
    settings = VerifySettings(deadline=timedelta(seconds=60), pages_per_second=0.001, page_budget=1000,
                              read_window=timedelta(seconds=5))
    target = Target(ledger=Ledger(sqlite_url), store="demo", sync_run_id=run, run_id="paced", sites=SITES,
                    settings=settings, client=market, reader=market)
    first = poke_target(target, now=lambda: now)
    assert not first.done and "left for the next poke" in first.message
    state = Ledger(sqlite_url).runs.get(run).artifacts["verify"]
    assert state["page_fetches"] == len(SITES) and state["pages_deferred"] == 3 * 15 - len(SITES)
    pokes = 1
    while not poke_target(target, now=lambda: now).done:
        pokes += 1
        assert pokes < 20
    final = Ledger(sqlite_url).runs.get(run).artifacts["verify"]["result"]
    assert final["verified"] == 3 and final["verify_failed"] == 0 and final["verified_by_page"] == 3
    assert pokes >= 45 // len(SITES) - 1  # at most one page a site a poke
    assert final["verify_page_fetches"] == 3 * 15  # every page once: what a poke read right is not read again


def test_the_store_sets_the_rate_and_the_budget_and_unknown_keys_are_still_refused() -> None:
    config = parse_config({"stores": [{"name": "s", "storefront_pages_per_second": 0.5,
                                       "storefront_page_budget": 120}]})
    settings = VerifySettings.from_config(config, config.store("s"))
    assert (settings.pages_per_second, settings.page_budget) == (0.5, 120)
    default = parse_config({"stores": [{"name": "s"}]})
    polite = VerifySettings.from_config(default, default.store("s"))
    assert (polite.pages_per_second, polite.page_budget) == (1.0, 300)  # the production default is polite
    with pytest.raises(ConfigError):
        parse_config({"stores": [{"name": "s", "storefront_pages_per_sec": 5}]})
    with pytest.raises(ConfigError):
        parse_config({"stores": [{"name": "s", "storefront_pages_per_second": 0}]})
    assert VerifySettings.from_config(SimpleNamespace()).page_budget == 300
