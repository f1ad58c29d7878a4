#!/usr/bin/env python
"""Verification cost for a change set, three ways in the same run: naive (every product x every device x every
language site), the grid rule before the politeness budget, and the budget rule (every product by the API query,
pages for a sample that grows with risk, at most ``--budget`` pages a run): storefront pages read per changed
product, side by side.

All use the same in-memory marketplace (:class:`aeops.verify.fake.FakeMarketplace`, which counts every list call,
product query and page fetch) and the real checks (:func:`aeops.verify.passes.run_pass`): the grid with
:func:`aeops.verify.sampling.page_plan`, the budget with :func:`aeops.verify.sampling.budget_plan`. Scenarios:

- ``daily``: a day's ERP sync, mostly stock (10% price changes, 1% of products failed before);
- ``repricing``: Black Friday, every product's price changes (all high risk: above ``--risky-cross`` of them,
  one page each dealt over the (site, device) pairs, the cross for a sample of that many);
- ``stale``: the daily mix with one language site stale for 2% of products: both sides must catch it.

Usage: python bench/verify.py [--products 10000] [--threshold 200] [--sample 200] [--risky-cross 1000]
                              [--budget 300] [--rate 1]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from aeops.verify.checks import Expected, compare_page
from aeops.verify.fake import FakeMarketplace
from aeops.verify.page_reader import DEVICES
from aeops.verify.passes import run_pass
from aeops.verify.sampling import SamplingRule, budget_plan, cells, miss_probability, page_plan, seed_for

SITES = ["en", "ru", "es", "fr", "pt"]


def scenario(n: int, price_share: float, failed_share: float, stale_share: float, seed: int = 7):
    """A marketplace with ``n`` products just written, the expectations, and the high-risk set."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    market = FakeMarketplace(clock=lambda: now + timedelta(seconds=1))
    market.seed(range(1, n + 1), {"S1": ("20.00", None, 10), "S2": ("30.00", None, 5)}, now - timedelta(days=1))
    expected: dict[int, Expected] = {}
    risky: set[int] = set()
    prices, stocks = {}, {}
    for pid in range(1, n + 1):
        exp = Expected(pid, now)
        if rng.random() < price_share:
            exp.prices["S1"] = ("21.00", None)
            prices[pid] = True
            risky.add(pid)
        else:
            exp.stocks["S1"] = 11
            stocks[pid] = True
        if rng.random() < failed_share:
            risky.add(pid)
        expected[pid] = exp
    from aeops.marketplace import SkuPrice, SkuStock

    ids = sorted(prices)
    for i in range(0, len(ids), 20):
        market.update_prices_batch({pid: [SkuPrice("S1", "21.00")] for pid in ids[i : i + 20]})
    ids = sorted(stocks)
    for i in range(0, len(ids), 20):
        market.update_inventory({pid: [SkuStock("S1", 11)] for pid in ids[i : i + 20]})
    market.stale = {(pid, "ru") for pid in range(1, n + 1) if rng.random() < stale_share}
    market.calls = market.requests = 0
    return market, expected, risky


def naive(market: FakeMarketplace, expected: dict[int, Expected]) -> tuple[int, set[int], float]:
    start = time.perf_counter()
    bad = set()
    for pid, exp in expected.items():
        for site in SITES:
            for device in DEVICES:
                if compare_page(exp, market.fetch(pid, site, device)):
                    bad.add(pid)
    return market.requests, bad, time.perf_counter() - start


def grid(market: FakeMarketplace, expected: dict[int, Expected], risky: set[int],
         rule: SamplingRule) -> tuple[int, int, set[int]]:
    """The rule before the budget: the full grid / cross / one page by the product's risk, list reads only."""
    plan = page_plan(expected, risky, rule, seed_for("bench", "run"))
    result = run_pass(expected, {pid: cells(g, SITES, DEVICES) for pid, g in plan.items()}, market, market,
                      workers=1, api_ok=set(expected))  # it had no product query per product
    return market.calls, result.page_fetches, set(result.failing)


def budgeted(market: FakeMarketplace, expected: dict[int, Expected], risky: set[int], rule: SamplingRule,
             budget: int) -> tuple[int, int, int, set[int]]:
    """The budget rule: the list and the product query for every product, ``budget`` pages for the riskiest."""
    plan = budget_plan(expected, dict.fromkeys(risky, 2), rule, seed_for("bench", "run"), SITES, DEVICES, budget)
    before = market.calls
    result = run_pass(expected, plan, market, market, workers=1)
    return market.calls - before - result.api_calls, result.api_calls, result.page_fetches, set(result.failing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--threshold", type=int, default=200)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--risky-cross", type=int, default=1000)
    parser.add_argument("--budget", type=int, default=300, help="storefront pages a run (storefront_page_budget)")
    parser.add_argument("--rate", type=float, default=1.0, help="pages a second per site, for the reading time")
    args = parser.parse_args()
    rule = SamplingRule(page_all_threshold=args.threshold, sample_size=args.sample,
                        risky_cross_size=args.risky_cross)
    n = args.products
    print(f"verification of a {n:,}-product change set; {len(SITES)} sites x {len(DEVICES)} devices; grid rule: "
          f"all pages up to {rule.page_all_threshold} products, else a sample of {rule.sample_size} (full grid) + "
          f"every high-risk product (cross; above {rule.risky_cross_size} one page each); budget rule: the product "
          f"query for every product, at most {args.budget} pages a run")
    print(f"{'scenario':<10} {'naive pages':>11} {'grid pages':>10} {'budget pages':>12} "
          f"{'pages/changed product: naive / grid / budget':>46} {'list':>5} {'queries':>8} "
          f"{'reading at ' + format(args.rate, 'g') + '/s/site: grid / budget':>38} {'bad: naive/grid/budget':>23}")
    for name, price_share, failed_share, stale_share in (("daily", 0.10, 0.01, 0.0), ("repricing", 1.0, 0.0, 0.0),
                                                           ("stale", 0.10, 0.01, 0.02)):
        market, expected, risky = scenario(n, price_share, failed_share, stale_share)
        naive_requests, naive_bad, _naive_s = naive(market, expected)
        market.calls = market.requests = 0
        _grid_calls, grid_pages, grid_bad = grid(market, expected, risky, rule)
        market.calls = market.requests = 0
        list_calls, queries, pages, budget_bad = budgeted(market, expected, risky, rule, args.budget)
        per = f"{naive_requests / n:.2f} / {grid_pages / n:.2f} / {pages / n:.3f}"
        seconds = f"{grid_pages / args.rate / len(SITES):,.0f} s / {pages / args.rate / len(SITES):,.0f} s"
        print(f"{name:<10} {naive_requests:>11,} {grid_pages:>10,} {pages:>12,} {per:>46} {list_calls:>5} "
              f"{queries:>8,} {seconds:>38} {len(naive_bad):>7,}/{len(grid_bad):,}/{len(budget_bad):,}")
    print("\nmiss probability of the random sample (no high-risk product among the k bad ones), C(N-k,n)/C(N,n):")
    for k in (1, 10, 25, 50, 100):
        print(f"  N={n:,} n={rule.sample_size} k={k:<4} {miss_probability(n, rule.sample_size, k):.4f}")
    print("(the cheap timestamp check covers every product; the sample only guards page-level visibility)")


if __name__ == "__main__":
    main()
