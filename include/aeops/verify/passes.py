"""One verification pass over a run's products not verified yet: the API for every product, pages for a sample.

:func:`run_pass` checks each product of ``expected``:

1. **timestamp** (every product, cheap): paged list reads (``gmt_modified`` since the earliest push) -> the
   product's last-modified time must be at or after its push. One that is older is read through the product
   query: when the platform already has every pushed value (a write that changed nothing is not re-stamped) it is
   checked *by value*, else it fails here (the write is not even in the catalog);
2. **API** (every product, once a run): the product query (``client.get_product``) must hold the pushed price,
   discount, stock (and freight template, when this run set it) and not be refused by the review
   (:func:`aeops.verify.checks.compare_product`). It also gives the product's SKU-id map, which keys its pages;
3. **pages** (the products ``plan`` names, each on the (site, device) pages it lists; :mod:`aeops.verify.sampling`):
   the pushed values must show; failing pages are attributed to a site, a device or the product
   (:func:`aeops.verify.checks.attribute`). A page the storefront would not show (an anti-bot page, a login or
   geo redirect, no item data) is *unreadable*: counted per site and device, never held against the product, which
   the API check then judges. Pages are read through the poke's :class:`~aeops.verify.politeness.SitePacer`: a page
   whose turn falls after the poke's window is deferred to the next poke.

A product is verified when nothing failed and nothing is outstanding (a deferred page, a product query left for
the next poke by ``api_limit``); :attr:`PassResult.methods` says how: ``page`` (a readable page showed it),
``unreadable`` (pages were tried, none was readable: the API decided), ``api`` (no page was read for it).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from aeops.catalog.timestamps import PLATFORM_TZ, parse_gmt
from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.listing import list_concurrently
from aeops.secrets import get_logger
from aeops.verify.checks import (
    Expected,
    Problem,
    attribute,
    check_listed,
    compare_page,
    compare_product,
    key_by_values,
    site_disagreements,
)
from aeops.verify.page_reader import PageView, StorefrontReader, with_sku_codes
from aeops.verify.politeness import SitePacer

log = get_logger(__name__)

API_THREADS = 8  # product queries at once (latency-bound one by one; the client's limiter keeps the seller's QPS)
PAGE, API, UNREADABLE, LISTED = "page", "api", "unreadable", "list"
Cell = tuple[str, str]


@dataclass
class PassResult:
    """One pass: products verified (and how), failing with their problems, outstanding, and what was read."""

    verified: list[int] = field(default_factory=list)
    failing: dict[int, list[Problem]] = field(default_factory=dict)
    pending: list[int] = field(default_factory=list)  # nothing failed, something left for the next poke
    methods: dict[int, str] = field(default_factory=dict)  # verified product -> page | unreadable | api | list
    api_ok: list[int] = field(default_factory=list)  # the product query showed every pushed value
    by_value: list[int] = field(default_factory=list)  # listed as not modified, but the values are there
    sku_ids_read: dict[int, dict[str, str]] = field(default_factory=dict)  # SKU-id maps this pass read
    unreadable: dict[str, dict[str, int]] = field(default_factory=dict)  # "site/device" -> cause -> pages
    paged: list[int] = field(default_factory=list)  # products at least one page was read for
    pages_ok: dict[int, list[Cell]] = field(default_factory=dict)  # outstanding products: pages read and right
    list_calls: int = 0
    api_calls: int = 0
    page_fetches: int = 0
    pages_deferred: int = 0
    untimed_pages: int = 0  # pages read that carry no last-modified time (the real ones never do): judged by values
    marketplace_rate: float | None = None


def query(client: MarketplaceClient, pid: int) -> tuple[Any, str | None]:
    """(the product query's product, None) or (None, why it could not be read)."""
    try:
        return client.get_product(pid), None
    except Exception as exc:  # noqa: BLE001 - one unreadable product never stops the pass; retried next pass
        log.info("product %s: product query failed (%s)", pid, type(exc).__name__)
        return None, type(exc).__name__


def run_pass(expected: Mapping[int, Expected], plan: Mapping[int, Sequence[Cell]], client: MarketplaceClient,
             reader: StorefrontReader, *, workers: int = 8, seller_id: int | None = None, store: str = "",
             api_ok: Collection[int] = (), api_limit: int | None = None, pacer: SitePacer | None = None,
             api_only: Collection[int] | None = None) -> PassResult:
    """Check ``expected`` once: the list timestamp and the product query for all (the query once a run:
    ``api_ok`` were shown right by an earlier pass; with ``api_only``, only for those: the others rest on their
    list timestamp and pages, method ``list`` when no page was read), the ``plan``'s pages for those it names."""
    result = PassResult()
    if not expected:
        return result
    exps = dict(expected)
    since = min(e.not_before for e in exps.values())
    tz = getattr(client, "platform_tz", PLATFORM_TZ)  # the zone of the list's gmt_modified strings
    before = getattr(client, "calls", 0)
    listed: dict[int, datetime | None] = {}
    futures: dict[int, list[tuple[Cell, Future[PageView | None]]]] = {}
    problems: dict[int, list[Problem]] = {}
    queried: dict[int, tuple[Any, str | None]] = {}
    done_api = set(api_ok)

    def fetch(pid: int, site: str, device: str) -> PageView | None:
        if pacer is not None and not pacer.slot(site):
            return None  # deferred: its turn is after this poke's window
        return reader.fetch(pid, site, device)

    # Pages are fetched while the list is read (list calls wait for the API's QPS, page fetches for their site's
    # turn): a product's pages are queued as soon as its list entry shows the write.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:

        def queue_pages(pid: int) -> None:
            futures[pid] = [(cell, pool.submit(fetch, pid, *cell)) for cell in plan[pid]]

        for product in list_concurrently(client, modified_since=since.replace(microsecond=0)):
            pid = product.product_id
            if pid not in exps:
                continue
            listed[pid] = parse_gmt(product.gmt_modified, tz)
            if pid in plan and pid not in futures and check_listed(exps[pid], listed[pid]) is None:
                queue_pages(pid)
        result.list_calls = getattr(client, "calls", 0) - before
        for pid, exp in exps.items():
            stale = check_listed(exp, listed.get(pid))
            if stale is None:
                continue
            for _, future in futures.pop(pid, []):
                future.cancel()
            queried[pid] = query(client, pid)
            if queried[pid][0] is not None and not compare_product(exp, queried[pid][0]):
                exps[pid] = replace(exp, by_value=True)  # a write the platform did not re-stamp: values decide
                result.by_value.append(pid)
                done_api.add(pid)
                if pid in plan:
                    queue_pages(pid)
                continue
            problems[pid] = [stale]  # the write is not even in the catalog: pages can only show the old values
        to_query = [pid for pid in sorted(exps) if pid not in problems and pid not in done_api
                    and (api_only is None or pid in api_only)]
        later = to_query[api_limit:] if api_limit is not None else []
        to_query = to_query[: len(to_query) - len(later)]
        with ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="api-check") as api_pool:
            for pid, answer in zip(to_query, api_pool.map(lambda p: query(client, p), to_query), strict=True):
                queried[pid] = answer
                _learn_sku_ids(pid, answer[0], reader, result)
        pages = {pid: [(cell, f.result()) for cell, f in pairs] for pid, pairs in futures.items()}
    result.api_calls = len(queried)
    for pid in to_query:
        product, failure = queried[pid]
        found = compare_product(exps[pid], product) if product is not None else [
            Problem(pid, "api", "product", "a readable product query", failure)]
        if found:
            problems[pid] = found
        else:
            done_api.add(pid)
            result.api_ok.append(pid)
    _judge_pages(pages, exps, client, reader, store, problems, result)
    outstanding = set(later) | {pid for pid, pairs in pages.items() if any(v is None for _, v in pairs)}
    result.pages_deferred = sum(1 for pairs in pages.values() for _, v in pairs if v is None)
    result.failing = problems
    result.pending = sorted(outstanding - set(problems))
    for pid in result.pending:  # kept by the run, so the next poke reads only the pages still missing
        result.pages_ok[pid] = [cell for cell, v in pages.get(pid, []) if v is not None and v.readable]
    result.verified = sorted(pid for pid in exps if pid not in problems and pid not in outstanding)
    read = set(result.paged)
    for pid in result.verified:
        result.methods[pid] = (PAGE if pid in read else UNREADABLE if pages.get(pid)
                               else API if pid in done_api else LISTED)
    result.marketplace_rate = reader.completion_rate(seller_id)
    return result


def _learn_sku_ids(pid: int, product: Any, reader: StorefrontReader, result: PassResult) -> None:
    """The product query's SKU-id map, for keying the product's pages (kept by the reader and the run)."""
    if product is None:
        return
    known = product.sku_codes_by_id()
    codes = getattr(reader, "sku_codes", None)
    if known and codes is not None and codes.get(pid) != known:
        codes[pid] = known
        result.sku_ids_read[pid] = known


def _judge_pages(pages: Mapping[int, list[tuple[Cell, PageView | None]]], exps: Mapping[int, Expected],
                 client: MarketplaceClient,
                 reader: StorefrontReader, store: str, problems: dict[int, list[Problem]], result: PassResult) -> None:
    """Compare the pages read with the expectation, attribute what fails, count what was unreadable."""
    read: dict[int, list[PageView]] = {}
    for pid, pairs in pages.items():
        views = [v for _, v in pairs if v is not None]
        result.page_fetches += len(views)
        for view in views:
            if not view.readable:
                cell = result.unreadable.setdefault(f"{view.site}/{view.device}", {})
                cell[str(view.unreadable)] = cell.get(str(view.unreadable), 0) + 1
        known = reader.sku_codes.get(pid) if getattr(reader, "sku_codes", None) is not None else None
        readable = [with_sku_codes(v, known) if known else v for v in views if v.readable]
        result.untimed_pages += sum(1 for v in readable if v.error is None and v.last_modified is None)
        if readable:
            read[pid] = readable
    keyed, maps = key_pages(read, exps, client, reader, store=store)
    result.sku_ids_read.update(maps)
    for pid, views in keyed.items():
        exp = exps[pid]
        result.paged.append(pid)
        checked = [(v.site, v.device) for v in views]
        found = attribute(pid, checked, [p for v in views for p in compare_page(exp, v)])
        if len(checked) == 1:  # one page cannot tell a slow product from its page: blame the page
            found = [replace(p, check="device", device=v.device, site=v.site) for p in found for v in views[:1]]
        blamed = {(p.site, p.field, p.sku_code) for p in found if p.check == "site"}
        found += [p for p in site_disagreements(views, exp) if (p.site, p.field, p.sku_code) not in blamed
                  and not any(q.check == "timestamp" for q in found)]
        if found:
            problems[pid] = problems.get(pid, []) + found


def key_pages(pages: Mapping[int, list[PageView]], expected: Mapping[int, Expected],
              client: MarketplaceClient,
              reader: StorefrontReader, *, store: str = ""
              ) -> tuple[dict[int, list[PageView]], dict[int, dict[str, str]]]:
    """Pages read without their product's SKU-id map, keyed by the seller's SKU codes.

    By their values when they show exactly what is expected (:func:`aeops.verify.checks.key_by_values`), else with the
    map, read now (one product query each, in parallel) and added to the reader's. A map that cannot be read leaves
    the page keyed by SKU id: its SKUs are then "not on the page". Returns the pages and the maps read.
    """
    keyed: dict[int, list[PageView]] = {}
    unmapped: list[int] = []
    for pid, views in pages.items():
        if not any(v.page_ids for v in views):
            keyed[pid] = list(views)
            continue
        by_values = [key_by_values(expected[pid], v) for v in views]
        if all(v is not None for v in by_values):
            keyed[pid] = by_values  # type: ignore[assignment]
        else:
            unmapped.append(pid)
    read = read_sku_ids(client, unmapped, store=store, into=reader)
    for pid in unmapped:
        known = read.get(pid)
        keyed[pid] = [with_sku_codes(v, known) if known else v for v in pages[pid]]
    return keyed, read


def read_sku_ids(client: MarketplaceClient, product_ids: list[int], *, store: str = "",
                 into: StorefrontReader | None = None
                 ) -> dict[int, dict[str, str]]:
    """Each product's SKU-id map (platform SKU id -> seller SKU code) from its product query, 8 at a time,
    each added to the reader's maps (``into``) as it comes. Unreadable ones are left out."""
    if not product_ids:
        return {}
    read: dict[int, dict[str, str]] = {}
    codes = getattr(into, "sku_codes", None)
    with ThreadPoolExecutor(max_workers=API_THREADS) as pool:
        for pid, (product, failure) in zip(product_ids, pool.map(lambda p: query(client, p), product_ids),
                                           strict=True):
            if product is None:
                log.warning("%s: product %s: SKU ids not readable (%s)", store, pid, failure)
                continue
            read[pid] = product.sku_codes_by_id()
            if codes is not None:
                codes[pid] = read[pid]
    return read


def inconsistent_sites(failing: Mapping[int, list[Problem]]) -> dict[str, list[int]]:
    """Language site -> products on which it disagreed on price or stock (a multi-site inconsistency)."""
    sites: dict[str, set[int]] = {}
    for pid, problems in failing.items():
        for p in problems:
            if p.check == "site" and p.site and p.price_or_stock:
                sites.setdefault(p.site, set()).add(pid)
    return {site: sorted(pids) for site, pids in sites.items()}
