#!/usr/bin/env python
"""Verification cost for a 10,000-product change set against the naive "every product x every device x
every language site" page count, measured in the same run.

Both sides use the same in-memory marketplace (:class:`aeops.verify.fake.FakeMarketplace`, which counts
every list call and page fetch) and the real checks; aeops's side is :func:`aeops.verify.runner.run_pass` with
the real sampling rule (:func:`aeops.verify.sampling.page_plan`). Scenarios:

- ``daily``: a day's ERP sync, mostly stock (10% price changes, 1% of products failed before);
- ``repricing``: Black Friday, every product's price changes (all high risk: above ``--risky-cross`` of them,
  one page each dealt over the (site, device) pairs, the cross for a sample of that many);
- ``stale``: the daily mix with one language site stale for 2% of products: both sides must catch it.

Usage: python bench/verify.py [--products 10000] [--threshold 200] [--sample 200] [--risky-cross 1000]
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta

from aeops.verify.checks import Expected, compare_page
from aeops.verify.fake import FakeMarketplace
from aeops.verify.page_reader import DEVICES
from aeops.verify.runner import run_pass
from aeops.verify.sampling import SamplingRule, fetch_count, miss_probability, page_plan, seed_for

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
    return market.requests + market.calls, bad, time.perf_counter() - start


def ours(market: FakeMarketplace, expected: dict[int, Expected], risky: set[int],
         rule: SamplingRule) -> tuple[int, int, int, set[int], float]:
    start = time.perf_counter()
    plan = page_plan(expected, risky, rule, seed_for("bench", "run"))
    result = run_pass(expected, plan, SITES, market, market, workers=1)
    return (market.calls, market.requests, fetch_count(plan, SITES, DEVICES), set(result.failing),
            time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--threshold", type=int, default=200)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--risky-cross", type=int, default=1000)
    args = parser.parse_args()
    rule = SamplingRule(page_all_threshold=args.threshold, sample_size=args.sample,
                        risky_cross_size=args.risky_cross)
    n = args.products
    print(f"verification requests for a {n:,}-product change set; {len(SITES)} sites x {len(DEVICES)} devices; "
          f"rule: all pages up to {rule.page_all_threshold} products, else a sample of {rule.sample_size} "
          f"(full grid) + every high-risk product (cross: 7 pages; above {rule.risky_cross_size} high-risk "
          f"products a sample of {rule.risky_cross_size} gets the cross and the rest one page each)")
    print(f"{'scenario':<10} {'naive requests':>15} {'aeops list':>10} {'aeops pages':>12} {'aeops total':>12} "
          f"{'ratio':>7} {'bad: naive/aeops':>17}")
    for name, price_share, failed_share, stale_share in (("daily", 0.10, 0.01, 0.0), ("repricing", 1.0, 0.0, 0.0),
                                                           ("stale", 0.10, 0.01, 0.02)):
        market, expected, risky = scenario(n, price_share, failed_share, stale_share)
        naive_requests, naive_bad, naive_s = naive(market, expected)
        market.calls = market.requests = 0
        list_calls, page_requests, _planned, our_bad, ours_s = ours(market, expected, risky, rule)
        total = list_calls + page_requests
        print(f"{name:<10} {naive_requests:>15,} {list_calls:>10,} {page_requests:>12,} {total:>12,} "
              f"{naive_requests / total:>6.1f}x {len(naive_bad):>8,}/{len(our_bad):<8,}")
    print("\nmiss probability of the random sample (no high-risk product among the k bad ones), C(N-k,n)/C(N,n):")
    for k in (1, 10, 25, 50, 100):
        print(f"  N={n:,} n={rule.sample_size} k={k:<4} {miss_probability(n, rule.sample_size, k):.4f}")
    print("(the cheap timestamp check covers every product; the sample only guards page-level visibility)")


if __name__ == "__main__":
    main()
