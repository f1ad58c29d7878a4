"""Which storefront pages a verification pass fetches, and what a sample can miss.

The rule verification uses, within the politeness budget (:func:`budget_plan`, docs/verification.md): every
changed product is checked by the API (the list's timestamp, the product query's values); storefront pages go to
a sample that grows with risk, breadth first, until the run's page budget is spent:

1. products that failed a page in an earlier pass of the run: every (site, device) page, so the blame lands on a
   site or a device;
2. one page each, dealt over the (site, device) pairs, for every high-risk product (by weight: a product that
   failed before or caused a strike, a price move, a main-image change), then for a seeded sample of the others
   (all of them up to ``page_all_threshold`` changed products, else ``sample_size``);
3. while the budget lasts, a second page for each of them in the same order, then a third, ... (the cross of
   sites on the primary device and devices on the primary site first, then the rest of the grid); a high-risk
   product beyond the first ``risky_cross_size`` keeps its one page.

The grid rule before the budget (:func:`page_plan`, kept for ``bench/verify.py``'s comparison):

- the cheap timestamp check (paged list reads of ``gmt_modified``) covers **every** pushed product;
- when a run changed at most ``page_all_threshold`` products, every changed product gets the full page grid
  (every device on every language site);
- above that, a seeded random sample of ``sample_size`` products gets the full grid, and every high-risk
  product (a price change, or a product that failed a push or a verification before) gets page fetches:
  while there are at most ``risky_cross_size`` high-risk products each gets the *cross* (every language
  site on the primary device, the multi-site price check, plus every other device on the primary site, the
  cross-device check); beyond that (a whole-store repricing) a seeded random ``risky_cross_size`` of them get
  the cross and every other one gets **one** page (``one:<k>``), the pages dealt out over every
  (site, device) pair in turn, so each pair is seen on about ``R / pairs`` high-risk products. Cost: ``7R``
  pages up to the limit, then ``R + 6 * risky_cross_size``: it never drops as ``R`` grows.

The seed is derived from the store and the Airflow run, so a retried or rescheduled task samples the same
products. :func:`miss_probability` is the chance a sample of ``n`` out of ``N`` contains none of ``k`` bad
products: ``C(N-k, n) / C(N, n)``; :func:`pair_miss_probability` is the chance that the ``m`` products that
cover one (site, device) pair all miss a fault of that pair affecting a share ``f`` of products: ``(1-f)^m``.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from math import comb

FULL = "full"
CROSS = "cross"
ONE = "one"  # grid "one:<k>": the k-th (site, device) pair of the full grid, k modulo its size


@dataclass(frozen=True)
class SamplingRule:
    """Which pages verification reads by the number of changed products (docs/verification.md)."""
    page_all_threshold: int = 200  # up to this many changed products: every page of every product
    sample_size: int = 200  # above it: a random sample gets every page
    risky_cross_size: int = 1000  # ... and up to this many high-risk products the cross, the rest one page


def seed_for(store: str, run_id: str) -> int:
    """A sampling seed fixed by the store and run (a re-run samples the same products)."""
    return int.from_bytes(hashlib.sha256(f"{store}\x00{run_id}".encode()).digest()[:8], "big")


def page_plan(changed: Collection[int], high_risk: Collection[int], rule: SamplingRule,
              seed: int) -> dict[int, str]:
    """Product id -> ``full`` | ``cross``: the products whose pages are fetched and which grid they get."""
    products = sorted(set(changed))
    if len(products) <= rule.page_all_threshold:
        return dict.fromkeys(products, FULL)
    risky = sorted(set(high_risk) & set(products))
    rng = random.Random(seed)
    sample = rng.sample(products, min(rule.sample_size, len(products)))
    if len(risky) <= rule.risky_cross_size:
        plan = dict.fromkeys(risky, CROSS)
    else:  # one page each, dealt over the (site, device) pairs in a seeded random order, a sample the cross
        rng.shuffle(risky)
        plan = {pid: f"{ONE}:{k}" for k, pid in enumerate(risky)}
        plan.update(dict.fromkeys(risky[: rule.risky_cross_size], CROSS))
    plan.update(dict.fromkeys(sample, FULL))
    return plan


def _cell_order(start: int, sites: Sequence[str], devices: Sequence[str]) -> list[tuple[str, str]]:
    """Every (site, device) page, the ``start``-th pair of the grid first, then the cross, then the rest."""
    every = [(site, device) for site in sites for device in devices]
    first = every[start % len(every)]
    rest = cells(CROSS, sites, devices) + every
    return [first] + [c for i, c in enumerate(rest) if c != first and c not in rest[:i]]


def budget_plan(changed: Collection[int], risk: Mapping[int, int], rule: SamplingRule, seed: int,
                sites: Sequence[str], devices: Sequence[str], budget: int,
                escalated: Collection[int] = ()) -> dict[int, list[tuple[str, str]]]:
    """Product id -> the (site, device) pages to read, at most ``budget`` pages in all (see the module's rule).

    ``risk`` weighs high-risk products (0 or absent: low risk); ``escalated`` products failed a page earlier."""
    products = sorted(set(changed))
    if budget <= 0 or not products or not sites or not devices:
        return {}
    rng = random.Random(seed)
    known = set(products)
    first = [p for p in sorted(set(escalated)) if p in known]
    risky = [p for p in products if risk.get(p, 0) > 0 and p not in first]
    rng.shuffle(risky)
    risky.sort(key=lambda p: -risk[p])  # stable: by weight, ties in the seeded order
    low = [p for p in products if risk.get(p, 0) <= 0 and p not in first]
    rng.shuffle(low)
    if len(products) > rule.page_all_threshold:
        low = low[: rule.sample_size]
    plan: dict[int, list[tuple[str, str]]] = {}
    left = budget
    for pid in first:  # the full grid, to tell a site's or a device's fault from the product's
        take = _cell_order(0, sites, devices)[:left]
        if take:
            plan[pid] = take
        left -= len(take)
    order = risky + low
    orders = {pid: _cell_order(k, sites, devices) for k, pid in enumerate(order)}
    deep = set(risky[: rule.risky_cross_size]) | set(low)  # who gets more than one page
    grid = len(sites) * len(devices)
    for depth in range(grid):
        for pid in order:
            if left <= 0:
                return plan
            if depth and pid not in deep:
                continue
            plan.setdefault(pid, []).append(orders[pid][depth])
            left -= 1
    return plan


def cells(grid: str, sites: Sequence[str], devices: Sequence[str]) -> list[tuple[str, str]]:
    """The (site, device) pages of a grid; the first site and first device are the primary ones."""
    if grid == FULL:
        return [(site, device) for site in sites for device in devices]
    if grid.startswith(ONE + ":"):
        every = [(site, device) for site in sites for device in devices]
        return [every[int(grid.split(":", 1)[1]) % len(every)]]
    primary_site, primary_device = sites[0], devices[0]
    return [(site, primary_device) for site in sites] + [(primary_site, d) for d in devices[1:]]


def fetch_count(plan: dict[int, str], sites: Sequence[str], devices: Sequence[str]) -> int:
    """How many pages a sampling plan reads."""
    per = {FULL: len(cells(FULL, sites, devices)), CROSS: len(cells(CROSS, sites, devices))}
    return sum(per.get(g, 1) for g in plan.values())


def pair_coverage(plan: dict[int, str], sites: Sequence[str], devices: Sequence[str]) -> dict[tuple[str, str], int]:
    """(site, device) -> how many products of the plan get that page."""
    covered: dict[tuple[str, str], int] = {}
    for grid in plan.values():
        for cell in cells(grid, sites, devices):
            covered[cell] = covered.get(cell, 0) + 1
    return covered


def pair_miss_probability(covering: int, share: float) -> float:
    """P(none of ``covering`` products checked on a (site, device) pair is among a share ``share`` of
    products that pair shows wrong): ``(1 - share) ** covering`` (faults independent of which product got
    which pair, which the seeded deal makes true)."""
    if covering <= 0 or share <= 0:
        return 1.0
    return (1.0 - min(share, 1.0)) ** covering


def miss_probability(population: int, sample: int, bad: int) -> float:
    """P(a uniform sample of ``sample`` out of ``population`` contains none of ``bad`` products)."""
    if bad <= 0:
        return 1.0
    if sample >= population or bad > population - sample:
        return 0.0
    return comb(population - bad, sample) / comb(population, sample)


def sample_size_for(population: int, bad: int, miss: float) -> int:
    """The smallest sample with a miss probability at most ``miss`` when ``bad`` products are bad."""
    low, high = 0, population
    while low < high:
        mid = (low + high) // 2
        if miss_probability(population, mid, bad) <= miss:
            high = mid
        else:
            low = mid + 1
    return low


def describe(products: Iterable[int], limit: int = 10) -> str:
    """Product ids for a message: the first ``limit``, then how many more."""
    ids = sorted(products)
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return ", ".join(str(i) for i in ids[:limit]) + more
