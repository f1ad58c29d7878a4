"""The politeness budget: per-site pacing inside a poke's window, shared by every store of the deployment, the
risk-ordered page sample within the run's budget, deferred pages read by the next poke, and the settings that set
them."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from aeops import embedded
from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.config import ConfigError, parse_config
from aeops.marketplace.ratelimit import FileRateLimiter, InProcessRateLimiter, RedisRateLimiter
from aeops.store import ensure_schema
from aeops.store.ledger import Ledger
from aeops.verify import sampling
from aeops.verify.fake import FakeMarketplace
from aeops.verify.politeness import SitePacer, shared_limiter
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


def test_two_stores_in_one_process_share_each_sites_rate() -> None:
    t = FakeTime()
    shared = InProcessRateLimiter(1.0, clock=t.clock)  # the deployment's 1 page a second per site
    first, second = (SitePacer(rate=1.0, window_s=10.0, shared=shared, clock=t.clock, sleep=t.sleep)
                     for _ in range(2))
    assert first.slot("ru") and t.slept == []
    assert second.slot("ru") and t.slept == [1.0]  # the second store waits for the first store's slot
    assert first.slot("ru") and t.slept == [1.0, 1.0]  # and the first for the second's
    assert second.slot("en") and t.slept == [1.0, 1.0]  # another site: its own budget, at once


def test_a_page_after_the_window_takes_no_shared_slot_so_the_next_store_is_not_pushed_back() -> None:
    t = FakeTime()
    shared = InProcessRateLimiter(1.0, clock=t.clock)
    closing = SitePacer(rate=1.0, window_s=0.5, shared=shared, clock=t.clock, sleep=t.sleep)  # its poke ends soon
    other = SitePacer(rate=1.0, window_s=10.0, shared=shared, clock=t.clock, sleep=t.sleep)
    assert closing.slot("ru")
    assert [closing.slot("ru") for _ in range(3)] == [False] * 3 and closing.deferred == 3 and t.slept == []
    assert other.slot("ru") and t.slept == [1.0]  # the slot right after the first one, not 3 s later


def test_a_store_slower_than_the_shared_rate_keeps_its_own_pace_and_leaves_the_gaps_to_others() -> None:
    t = FakeTime()
    shared = InProcessRateLimiter(2.0, clock=t.clock)  # the deployment: 2 pages a second per site
    slow = SitePacer(rate=0.5, window_s=10.0, shared=shared, clock=t.clock, sleep=t.sleep)  # its own 1 page / 2 s
    fast = SitePacer(rate=100.0, window_s=10.0, shared=shared, clock=t.clock, sleep=t.sleep)
    assert slow.slot("ru") and t.now == 0.0
    assert fast.slot("ru") and t.now == 0.5
    assert slow.slot("ru") and t.now == 2.0  # its own turn, 2 s after its first page (the shared slot was at 1 s)
    assert fast.slot("ru") and t.now == 2.5  # the slow store took no shared slot it was not ready for


def test_stores_in_processes_of_one_host_share_the_rate_through_the_file_backend(tmp_path: Path) -> None:
    waits: list[float] = []
    first, second, closing, later = (  # one limiter each, as each task process builds its own
        SitePacer(rate=1.0, window_s=window, shared=FileRateLimiter(0.5, tmp_path), sleep=waits.append)
        for window in (60.0, 60.0, 1.0, 60.0))
    assert first.slot("ru") and waits == []
    assert second.slot("ru") and len(waits) == 1 and 1.0 < waits[0] <= 2.0  # ~2 s: after the first store's slot
    assert not closing.slot("ru") and closing.deferred == 1  # ~4 s away, after its window: not reserved
    assert later.slot("ru") and 3.0 < waits[1] <= 4.0  # not pushed back by the refusal


def test_stores_on_any_host_share_the_rate_through_redis(redis_url: str) -> None:
    prefix = f"aeops:test:{uuid.uuid4().hex}:"  # a fresh budget
    waits: list[float] = []
    first, second, closing, later = (
        SitePacer(rate=1.0, window_s=window, shared=RedisRateLimiter(0.5, redis_url, prefix=prefix), sleep=waits.append)
        for window in (60.0, 60.0, 1.0, 60.0))
    assert first.slot("ru") and waits == []
    assert second.slot("ru") and len(waits) == 1 and 1.0 < waits[0] <= 2.0
    assert not closing.slot("ru") and closing.deferred == 1
    assert later.slot("ru") and 3.0 < waits[1] <= 4.0


@pytest.mark.parametrize("backend", ["memory", "file"])
def test_the_deployment_rate_from_the_config_is_shared_by_every_stores_poke(backend, monkeypatch,
                                                                            tmp_path: Path) -> None:
    monkeypatch.delenv("AEOPS_RATE_LIMIT", raising=False)
    spec = "memory" if backend == "memory" else (tmp_path / "limits").as_uri()
    config = parse_config({"rate_limit_backend": spec, "storefront_pages_per_second": 0.1,
                           "stores": [{"name": "a", "storefront_pages_per_second": 5}, {"name": "b"}]})
    a, b = (replace(VerifySettings.from_config(config, config.store(name)), read_window=timedelta(seconds=5))
            for name in ("a", "b"))
    assert (a.effective_pages_per_second, b.effective_pages_per_second) == (0.1, 0.1)
    site = f"fr-{uuid.uuid4().hex}"  # a budget no other test used (the memory limiter lives as long as the process)
    assert a.pacer().slot(site)
    assert not (pacer := b.pacer()).slot(site) and pacer.deferred == 1  # a's page took the site's slot for 10 s
    assert b.pacer().slot(f"es-{uuid.uuid4().hex}")
    assert shared_limiter(spec, 0.1) is shared_limiter(spec, 0.1)  # one limiter per process for every store


def test_the_embedded_demo_is_not_slowed_by_the_shared_rate(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path))
    config = parse_config(embedded.aeops_config())
    assert config.stores and all(VerifySettings.from_config(config, store).effective_pages_per_second == 500
                                 for store in config.stores)


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
    assert polite.shared_pages_per_second == 1.0  # and so is the deployment's, over every store
    shared = parse_config({"storefront_pages_per_second": 20, "stores": [{"name": "s", "storefront_pages_per_second":
                                                                          2}]})
    mine = VerifySettings.from_config(shared, shared.store("s"))
    assert (mine.shared_pages_per_second, mine.effective_pages_per_second) == (20.0, 2.0)
    with pytest.raises(ConfigError):
        parse_config({"storefront_pages_per_second": 0, "stores": [{"name": "s"}]})
    with pytest.raises(ConfigError):
        parse_config({"stores": [{"name": "s", "storefront_pages_per_sec": 5}]})
    with pytest.raises(ConfigError):
        parse_config({"stores": [{"name": "s", "storefront_pages_per_second": 0}]})
    assert VerifySettings.from_config(SimpleNamespace()).page_budget == 300
