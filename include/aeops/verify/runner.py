"""Post-update verification of one store's run: poll until every pushed product is seen, re-push once, report.

One *pass* (:func:`run_pass`) checks the run's products that are not verified yet:

1. timestamp, cheap, every product: paged list reads (``gmt_modified`` since the earliest push) -> each
   product's last-modified time must be at or after its push (:data:`checks.CLOCK_TOLERANCE`);
2. pages, for the products the sampling rule picks (:mod:`aeops.verify.sampling`): every device on every
   language site (or the cross of sites x primary device and devices x primary site for high-risk
   products of a large change set) must show the pushed price, discount, stock and freight template and a
   last-modified time at or after the push; failing pages are attributed to a site, a device or the
   product (:func:`checks.attribute`);
3. the marketplace's own data-center completion figure, when the reader has one.

A product whose listed last-modified time is older than its push is read through the API: when the platform
already has the pushed values (a write that changed nothing is not re-stamped), it is verified by value (its
pages are compared by value only). Pages are read with each product's SKU-id map (from its product query) and
the shipping block is compared with what the expected freight template offers (``freight_settings``).
Products whose new main image is in the platform's review are followed by :mod:`aeops.verify.review_followup` and
left out of the checks until the review ends.

:func:`poke` is one sensor poke: a pass, then the clock decides. All products seen -> done. At
``repush_share`` of the deadline, the products still failing are re-pushed once (their changes back to
``planned`` and through :func:`aeops.catalog.push.push_batch`). At the deadline the products still failing
become ``verify_failed`` with their problems in ``verify_results``; language sites that still disagree on
price or stock become strikes (:mod:`aeops.verify.strikes`). Progress lives in the run's
``artifacts["verify"]`` and the change statuses, so every poke can run in a new process (reschedule mode)
and the final result is computed once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.catalog.batching import batches
from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.ledger import Ledger
from aeops.catalog.model import money
from aeops.catalog.push import push_batch
from aeops.catalog.status import ChangeStatus
from aeops.catalog.timestamps import PLATFORM_TZ, parse_gmt
from aeops.marketplace.listing import list_concurrently
from aeops.secrets import get_logger
from aeops.verify import records, review_followup, strikes
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
from aeops.verify.page_reader import DEVICES, PageView, StorefrontReader, with_sku_codes
from aeops.verify.sampling import FULL, SamplingRule, cells, page_plan, seed_for

log = get_logger(__name__)

SKU_ID_READ_THREADS = 8  # product queries for SKU-id maps at once (a first run has none stored)



@dataclass(frozen=True)
class VerifySettings:
    """How verification polls and samples; :meth:`from_config` reads ``aeops_config``."""

    deadline: timedelta = timedelta(minutes=30)
    repush_share: float = 0.5  # re-push the products still failing at this share of the deadline
    rule: SamplingRule = field(default_factory=SamplingRule)
    devices: tuple[str, ...] = DEVICES
    workers: int = 16  # concurrent page fetches (storefront pages are not API calls: no QPS limit)
    review_deadline: timedelta = timedelta(hours=2)  # alert when a new main image is still in review this long

    @classmethod
    def from_config(cls, config: Any) -> VerifySettings:
        return cls(
            deadline=timedelta(minutes=float(getattr(config, "verify_deadline_minutes", 30.0))),
            review_deadline=timedelta(minutes=float(getattr(config, "review_deadline_minutes", 120.0))),
            rule=SamplingRule(page_all_threshold=int(getattr(config, "verify_page_all_threshold", 200)),
                              sample_size=int(getattr(config, "verify_sample_size", 200)),
                              risky_cross_size=int(getattr(config, "verify_risky_cross_size", 1000))),
        )


@dataclass
class PassResult:
    """One pass: products now verified, products failing with their problems, request counts."""

    verified: list[int] = field(default_factory=list)
    failing: dict[int, list[Problem]] = field(default_factory=dict)
    by_value: list[int] = field(default_factory=list)  # listed as not modified, but the values are there
    sku_ids_read: dict[int, dict[str, str]] = field(default_factory=dict)  # SKU-id maps this pass had to read
    list_calls: int = 0
    page_fetches: int = 0
    untimed_pages: int = 0  # pages read that carry no last-modified time (the real ones never do): judged by values
    marketplace_rate: float | None = None


@dataclass
class PokeResult:
    done: bool
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# ----------------------------------------------------------------------------------------------- one pass
def run_pass(expected: Mapping[int, Expected], plan: Mapping[int, str], sites: list[str], client,
             reader: StorefrontReader, *, devices: tuple[str, ...] = DEVICES, workers: int = 8,
             seller_id: int | None = None, store: str = "", read_sku_ids_of: Sequence[int] = ()) -> PassResult:
    """Check ``expected`` products once: list timestamps for all, pages for those in ``plan``.

    ``read_sku_ids_of``: products whose SKU-id maps must be read (their pages cannot be keyed by values): read
    once the list is (the list decides which pages are fetched: it goes first on the seller's QPS) while the
    pages are fetched, which are keyed with them once they are in (:func:`key_pages`)."""
    result = PassResult()
    if not expected:
        return result
    exps = dict(expected)
    since = min(e.not_before for e in exps.values())
    tz = getattr(client, "platform_tz", PLATFORM_TZ)  # the zone of the list's gmt_modified strings
    before = getattr(client, "calls", 0)
    listed: dict[int, datetime | None] = {}
    checked: dict[int, list[tuple[str, str]]] = {}
    futures: dict[int, list[Future[PageView]]] = {}
    problems: dict[int, list[Problem]] = {}
    # Pages are fetched while the list is still being read (list calls wait for the API's QPS, page fetches
    # do not): a product's pages are queued as soon as its list entry shows the write.
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:

        def queue_pages(pid: int) -> None:
            checked[pid] = cells(plan[pid], sites, devices)
            futures[pid] = [pool.submit(reader.fetch, pid, site, device) for site, device in checked[pid]]

        for product in list_concurrently(client, modified_since=since.replace(microsecond=0)):
            pid = product.product_id
            if pid not in exps:
                continue
            listed[pid] = parse_gmt(product.gmt_modified, tz)
            if pid in plan and pid not in futures and check_listed(exps[pid], listed[pid]) is None:
                queue_pages(pid)
        list_calls = getattr(client, "calls", 0) - before
        for pid, exp in exps.items():
            stale = check_listed(exp, listed.get(pid))
            if stale is None:
                continue
            for future in futures.pop(pid, []):
                future.cancel()
            if values_on_platform(client, exp):  # a write the platform did not re-stamp: check the values
                exps[pid] = replace(exp, by_value=True)
                result.by_value.append(pid)
                if pid in plan:
                    queue_pages(pid)
                continue
            problems[pid] = [stale]  # the write is not even in the catalog: pages can only show the old values
        mapper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sku-ids")
        early = mapper.submit(read_sku_ids, client, [pid for pid in read_sku_ids_of if pid in futures], store=store,
                              into=reader)
        mapper.shutdown(wait=False)
        pages = {pid: [f.result() for f in fs] for pid, fs in futures.items()}
        early_read = early.result()
        result.list_calls = list_calls
    result.page_fetches = sum(len(cells_) for cells_ in checked.values())
    result.untimed_pages = sum(1 for views in pages.values() for v in views if v.error is None
                               and v.last_modified is None)
    pages = {pid: [with_sku_codes(v, early_read[pid]) for v in views] if pid in early_read else views
             for pid, views in pages.items()}
    pages, result.sku_ids_read = key_pages(pages, exps, client, reader, store=store)
    result.sku_ids_read.update(early_read)
    for pid, views in pages.items():
        exp = exps[pid]
        found = attribute(pid, checked[pid], [p for v in views for p in compare_page(exp, v)])
        if len(checked[pid]) == 1:  # one page cannot tell a slow product from its page: blame the page
            found = [replace(p, check="device", device=v.device, site=v.site) for p in found for v in views[:1]]
        blamed = {(p.site, p.field, p.sku_code) for p in found if p.check == "site"}
        found += [p for p in site_disagreements(views, exp) if (p.site, p.field, p.sku_code) not in blamed
                  and not any(q.check == "timestamp" for q in found)]
        if found:
            problems[pid] = found
    result.failing = problems
    result.verified = sorted(pid for pid in exps if pid not in problems)
    result.marketplace_rate = reader.completion_rate(seller_id)
    return result


def key_pages(pages: Mapping[int, list[PageView]], expected: Mapping[int, Expected], client,
              reader: StorefrontReader, *, store: str = ""
              ) -> tuple[dict[int, list[PageView]], dict[int, dict[str, str]]]:
    """Pages read without their product's SKU-id map, keyed by the seller's SKU codes.

    By their values when they show exactly what is expected (:func:`checks.key_by_values`), else with the map,
    read now (one product query each, in parallel) and added to the reader's. A map that cannot be read leaves
    the page keyed by SKU id: its SKUs are then "not on the page". Returns the pages and the maps read.
    """
    keyed: dict[int, list[PageView]] = {}
    unmapped: list[int] = []
    for pid, views in pages.items():
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


def read_sku_ids(client, product_ids: list[int], *, store: str = "", into: StorefrontReader | None = None
                 ) -> dict[int, dict[str, str]]:
    """Each product's SKU-id map (platform SKU id -> seller SKU code) from its product query, 8 at a time
    (latency-bound one by one; the client's rate limiter keeps the seller's QPS), each added to the reader's maps
    (``into``) as it comes, so pages fetched after it are keyed at once. Unreadable ones are left out."""
    def sku_ids(pid: int) -> dict[str, str] | None:
        try:
            return client.get_product(pid).sku_codes_by_id()
        except Exception as exc:  # noqa: BLE001 - read with page ids; the SKU checks then say "not on the page"
            log.warning("%s: product %s: SKU ids not readable (%s)", store, pid, type(exc).__name__)
            return None

    if not product_ids:
        return {}
    read: dict[int, dict[str, str]] = {}
    codes = getattr(into, "sku_codes", None)
    with ThreadPoolExecutor(max_workers=SKU_ID_READ_THREADS) as pool:
        for pid, known in zip(product_ids, pool.map(sku_ids, product_ids), strict=True):
            if known is not None:
                read[pid] = known
                if codes is not None:
                    codes[pid] = known
    return read


def values_on_platform(client, exp: Expected) -> bool:
    """The product query shows every value ``exp`` expects (prices, discounts, stock, freight template)."""
    try:
        product = client.get_product(exp.product_id)
    except Exception as exc:  # noqa: BLE001 - unreadable now: the timestamp problem stands
        log.info("product %s: not readable to check its values (%s)", exp.product_id, type(exc).__name__)
        return False
    skus = {str(s.sku_code): s for s in product.skus if s.sku_code}
    for code, (price, discount) in exp.prices.items():
        sku = skus.get(code)
        if sku is None or money(sku.price) != price or money(sku.discount_price) != discount:
            return False
    for code, stock in exp.stocks.items():
        sku = skus.get(code)
        if sku is None or sku.stock != stock:
            return False
    if exp.freight_template_id is not None and str(product.freight_template_id) != exp.freight_template_id:
        return False
    return True


def inconsistent_sites(failing: Mapping[int, list[Problem]]) -> dict[str, list[int]]:
    """Language site -> products on which it disagreed on price or stock (a multi-site inconsistency)."""
    sites: dict[str, set[int]] = {}
    for pid, problems in failing.items():
        for p in problems:
            if p.check == "site" and p.site and p.price_or_stock:
                sites.setdefault(p.site, set()).add(pid)
    return {site: sorted(pids) for site, pids in sites.items()}


# ----------------------------------------------------------------------------------------------- pokes
@dataclass
class Target:
    """Everything a poke needs about one store's run (built by :func:`target_for`)."""

    ledger: Ledger
    store: str
    sync_run_id: int
    run_id: str
    sites: list[str]
    settings: VerifySettings
    client: Any
    reader: StorefrontReader
    images_dir: str | None = None
    config: Any = None
    _services: dict[str, Any] = field(default_factory=dict, repr=False)  # freight template -> its services


def poke_target(t: Target, *, now: Callable[[], datetime] = _now) -> PokeResult:
    """One poke: follow the reviews, a pass over the products not verified yet, then re-push / finalise as the
    clock says."""
    run = t.ledger.get_run(t.sync_run_id)
    state: dict[str, Any] = dict((run.artifacts or {}).get("verify") or {})
    if state.get("final"):
        return PokeResult(True, dict(state.get("result") or {}), "verification already finished")
    if not records.verifiable_changes(t.ledger, t.sync_run_id):
        return PokeResult(True, {}, "nothing was pushed: nothing to verify")
    at = now()
    if not state:
        state = {"started_at": at.isoformat(), "repush_at": (at + t.settings.deadline * t.settings.repush_share)
                 .isoformat(), "deadline_at": (at + t.settings.deadline).isoformat(), "repushed": [],
                 "repush_done": False, "passes": 0, "list_calls": 0, "page_fetches": 0}
    reviews = review_followup.follow(t.ledger, t.client, t.store, t.sync_run_id, t.run_id,
                            deadline=t.settings.review_deadline, at=at, alert=_alerter(t), lang=_language(t))
    if reviews.passed:  # they join the checks now: give them the whole verification time
        state["deadline_at"] = max(_parse(state["deadline_at"]), at + t.settings.deadline).isoformat()
    state["in_review"], state["review_overdue"] = sorted(reviews.waiting), sorted(reviews.overdue)
    state["review_refused"] = sorted(set(state.get("review_refused") or []) | set(reviews.refused))
    changes = records.verifiable_changes(t.ledger, t.sync_run_id)
    reviewing = {c.product_id for c in changes if c.status == ChangeStatus.IN_REVIEW}
    all_products = sorted({c.product_id for c in changes} - reviewing)
    pending_changes = [c for c in changes if c.status == ChangeStatus.CONFIRMED and c.product_id not in reviewing]
    fields = _state_fields(t, {c.product_id for c in pending_changes})
    expected = expected_from_changes(pending_changes, fields)
    # a blind price write (a first run restating prices it never read) is no sign of a price change: the sample
    risky = {c.product_id for c in changes if c.kind == "price" and not (c.payload or {}).get("blind")} - reviewing
    risky |= records.previously_failed(t.ledger, t.store, t.sync_run_id, all_products)
    plan = page_plan(all_products, risky, t.settings.rule, seed_for(t.store, t.run_id))
    plan = escalate(plan, records.page_failures(t.ledger, t.sync_run_id), t.settings.rule.risky_cross_size)
    unread = _prepare_reading(t, expected, {pid: plan[pid] for pid in expected if pid in plan}, fields)
    result = run_pass(expected, plan, t.sites, t.client, t.reader, devices=t.settings.devices,
                      workers=t.settings.workers, seller_id=getattr(t.client, "seller_id", None), store=t.store,
                      read_sku_ids_of=unread)
    if result.sku_ids_read:  # read once (a product written blind, a first run): later runs' pages are keyed with them
        t.ledger.record_sku_ids(t.store, result.sku_ids_read)
    repushed = set(state["repushed"])
    records.save_pass(t.ledger, t.sync_run_id, t.store, result.failing, result.verified,
                      {pid: 2 if pid in repushed else 1 for pid in expected}, at)
    t.ledger.set_status([cid for pid in result.verified for cid in expected[pid].change_ids], ChangeStatus.VERIFIED)
    state["passes"] += 1
    state["list_calls"] += result.list_calls
    state["page_fetches"] += result.page_fetches
    state["untimed_pages"] = state.get("untimed_pages", 0) + result.untimed_pages
    state["verified_by_value"] = sorted(set(state.get("verified_by_value") or []) | set(result.by_value))
    if result.marketplace_rate is not None:
        state["marketplace_completion_rate"] = result.marketplace_rate
    log.info("%s: verification pass %d: %d verified, %d still failing, %d in review (%d list calls, %d page "
             "fetches)", t.store, state["passes"], len(result.verified), len(result.failing), len(reviews.waiting),
             result.list_calls, result.page_fetches)
    done, message = False, ""
    waiting = reviews.pending  # in review and not overdue yet: keep poking for them
    if not result.failing and not waiting:
        done, message = True, "every pushed product is seen" + (
            f"; {len(reviews.overdue)} still in review past the deadline" if reviews.overdue else "")
    elif result.failing and at >= _parse(state["repush_at"]) and not state["repush_done"]:
        failing = sorted(result.failing)
        _repush(t, [cid for pid in failing for cid in expected[pid].change_ids])
        state["repushed"], state["repush_done"] = failing, True
        message = f"re-pushed {len(failing)} product(s) that were still not seen"
        log.warning("%s: %s: %s", t.store, message, ", ".join(map(str, failing[:20])))
    elif at >= _parse(state["deadline_at"]) and not waiting:
        done, message = True, f"deadline reached with {len(result.failing)} product(s) not seen"
    elif waiting:
        message = f"{len(waiting)} product(s) still in the marketplace review"
    if done:
        state["result"] = _finalise(t, state, result, expected)
        state["final"] = True
    t.ledger.update_run(t.sync_run_id, artifacts={"verify": state})
    return PokeResult(done, dict(state.get("result") or {}), message)



def _language(t: Target) -> str:
    """The language of the store's Slack messages."""
    from aeops.notify.send import language_of

    return language_of(t.store, t.config)


def _alerter(t: Target) -> Callable[[Any], None]:
    def alert(message: Any) -> None:
        from aeops.notify.send import send

        send(message, store=t.store, config=t.config, db_url=t.ledger.url)

    return alert


def _prepare_reading(t: Target, expected: dict[int, Expected], paged: Mapping[int, str],
                     fields: Mapping[int, Mapping[str, Any]]) -> list[int]:
    """What the checks need beyond the changes: each expected template's services (the page's shipping block
    is compared with them) and, for products whose pages are read, the SKU-id map (pages are keyed by the
    platform's SKU ids; the map comes from the product query aeops stored, else one product query during the
    pass: the products returned). A product whose pages can be keyed by their values (``Expected.keyless``) is
    queried only if its pages do not show the expected values (:func:`key_pages`)."""
    services = t._services
    for exp in expected.values():
        tid = exp.freight_template_id
        if tid is None:
            continue
        if tid not in services:
            try:
                services[tid] = frozenset((s.code, s.free) for s in t.client.freight_settings(int(tid)))
            except Exception as exc:  # noqa: BLE001 - unknown services fail the template check; retried next pass
                log.warning("%s: freight template %s: services not readable (%s)", t.store, tid, type(exc).__name__)
        exp.shipping = services.get(tid)
    codes = getattr(t.reader, "sku_codes", None)
    if codes is None:
        return []
    unread = []
    for pid in paged:
        if pid in codes:
            continue
        known = dict((fields.get(pid) or {}).get("sku_ids") or {})
        if known:
            codes[pid] = known
        elif not (pid in expected and expected[pid].keyless):
            unread.append(pid)
    return unread


def escalate(plan: dict[int, str], page_failed: set[int], limit: int) -> dict[int, str]:
    """Products that failed on a page in an earlier pass of this run get the full grid from now on (at
    most ``limit`` of them, lowest ids first), so a one-page or cross check ends with site/device blame."""
    up = sorted(pid for pid in page_failed if pid in plan and plan[pid] != FULL)[:max(0, limit)]
    return {**plan, **dict.fromkeys(up, FULL)} if up else plan


def _state_fields(t: Target, product_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not product_ids:
        return {}
    return t.ledger.state_fields(t.store, product_ids)


def _repush(t: Target, change_ids: list[int]) -> None:
    """Push these confirmed changes once more (back to ``planned``, then the usual recorded push)."""
    kinds = {c.id: c.kind for c in t.ledger.changes(change_ids)}
    t.ledger.set_status(change_ids, ChangeStatus.PLANNED)
    for kind in sorted(set(kinds.values())):
        for batch in batches([cid for cid, k in kinds.items() if k == kind], kind):
            try:
                push_batch(t.ledger, t.client, t.sync_run_id, kind, batch, images_dir=t.images_dir)
            except Exception as exc:  # noqa: BLE001 - the changes stay unknown/planned and are reported
                log.error("%s: re-push of %s batch failed: %s: %s", t.store, kind, type(exc).__name__, exc)


def _finalise(t: Target, state: dict[str, Any], last: PassResult, expected: Mapping[int, Expected]
              ) -> dict[str, Any]:
    """Failing products -> verify_failed, strikes for disagreeing sites (and the alert), the run's counts."""
    failed_ids = [cid for pid in last.failing for cid in expected[pid].change_ids]
    t.ledger.set_status(failed_ids, ChangeStatus.VERIFY_FAILED)
    sites = inconsistent_sites(last.failing)
    strikes_total = records.strike_count(t.ledger, t.store)
    if sites:
        added = records.record_strikes(t.ledger, t.store, t.sync_run_id, sites)
        strikes_total = records.strike_count(t.ledger, t.store)
        if added:
            log.warning("%s: %d multi-site price inconsistency strike(s) this run (%s); %d in total",
                        t.store, len(added), ", ".join(s.site or "" for s in added), strikes_total)
            strikes.alert(t.store, strikes_total, [s.site or "" for s in added], [s.detail for s in added],
                          config=t.config, db_url=t.ledger.url, run_id=t.run_id)
    counts = counts_of_run(t.ledger, t.sync_run_id, state, strikes_total, sites)
    counts["verify_grid"] = [len(t.settings.devices), len(t.sites)]  # devices x language sites (the headline)
    return counts


def counts_of_run(ledger: Ledger, sync_run_id: int, state: Mapping[str, Any], strikes_total: int | None = None,
                  sites: Mapping[str, list[int]] | None = None) -> dict[str, Any]:
    """The run counts verification adds (also the sensor's answer)."""
    statuses = ledger.change_counts(sync_run_id)
    verified, failed = statuses.get(ChangeStatus.VERIFIED, 0), statuses.get(ChangeStatus.VERIFY_FAILED, 0)
    checked = verified + failed + statuses.get(ChangeStatus.CONFIRMED, 0)
    in_review = statuses.get(ChangeStatus.IN_REVIEW, 0)
    counts: dict[str, Any] = {
        "pushed": checked + in_review + statuses.get(ChangeStatus.FAILED, 0), "confirmed": checked + in_review,
        "verified": verified, "verify_failed": failed, "in_review": in_review,
        "review_refused": len(state.get("review_refused") or []),
        # aeops's own figure (not the marketplace's completion rate): of the updates it could check (not in
        # review), the share seen on every storefront page it checked
        "verified_share": round(verified / checked, 6) if checked else 1.0,
        "repushed_products": len(state.get("repushed") or []),
        "verify_passes": state.get("passes", 0), "verify_list_calls": state.get("list_calls", 0),
        "verify_page_fetches": state.get("page_fetches", 0),
    }
    if state.get("marketplace_completion_rate") is not None:
        counts["marketplace_completion_rate"] = state["marketplace_completion_rate"]
    not_allowed = not_allowed_checks(state)
    if not_allowed:
        counts["checks_not_allowed"] = not_allowed
    if strikes_total is not None:
        counts["site_strikes_total"] = strikes_total
    if sites:
        counts["inconsistent_sites"] = sorted(sites)
    return counts


def not_allowed_checks(state: Mapping[str, Any]) -> list[str]:
    """The checks of docs/rules.md the platform gave no means for in this verification: ``completion_rate`` (no
    data-center figure: the real one is behind the seller login) and ``page_timestamps`` (pages without a
    last-modified time, as real item pages are: they were judged by their values)."""
    if not state.get("passes"):
        return []
    return ([] if state.get("marketplace_completion_rate") is not None else ["completion_rate"]) + (
        ["page_timestamps"] if state.get("untimed_pages") else [])


# ----------------------------------------------------------------------------------------------- entry points
def target_for(ctx: RunContext, sync_run_id: int, client=None, reader: StorefrontReader | None = None) -> Target:
    """A :class:`Target` for a store's run context."""
    run = ctx.ledger.get_run(sync_run_id)
    if client is None:
        client = client_for(ctx.store)
    if reader is None:
        products = {c.product_id for c in records.verifiable_changes(ctx.ledger, sync_run_id)}
        sku_codes = {pid: f["sku_ids"] for pid, f in ctx.ledger.state_fields(ctx.store.name, products).items()
                     if f.get("sku_ids")}
        reader = reader_for_store(ctx.store, sku_codes)
    return Target(ledger=ctx.ledger, store=ctx.store.name, sync_run_id=sync_run_id, run_id=run.run_id,
                  sites=list(ctx.store.language_sites) or ["en"], settings=VerifySettings.from_config(ctx.config),
                  client=client, reader=reader, images_dir=ctx.store.images_dir or None, config=ctx.config)


def reader_for_store(store, sku_codes: Mapping[int, Mapping[str, str]] | None = None) -> StorefrontReader:
    """The storefront reader for a store's marketplace connection (simulator or the real storefront), with the
    SKU-id maps of the products it will read (platform SKU id -> seller SKU code, from the product queries)."""
    from aeops.marketplace.hooks import AliExpressHook
    from aeops.verify.page_reader import reader_for_connection

    hook = AliExpressHook(store.conn_id)
    base_url = hook.client_kwargs()["base_url"]
    extra = hook.get_connection(store.conn_id).extra_dejson or {}
    return reader_for_connection(base_url, extra, sku_codes=sku_codes)


def poke(store: str, dag_id: str, run_id: str, *, dry_run: bool = False, client=None,
         reader: StorefrontReader | None = None, config=None) -> PokeResult:
    """The verify sensor's poke for one store of a DAG run (True when verification has finished)."""
    if dry_run:
        return PokeResult(True, {}, "dry run: nothing was pushed")
    ctx = context(store, config)
    run = ctx.ledger.find_run(store, run_id, dag_id)
    if run is None:
        return PokeResult(True, {}, "no sync run for this store (it stopped before the export)")
    sync_run_id = run.id
    if not records.verifiable_changes(ctx.ledger, sync_run_id):
        return PokeResult(True, {}, "nothing was pushed: nothing to verify")
    target = target_for(ctx, sync_run_id, client, reader)
    try:
        return poke_target(target)
    finally:
        if reader is None:
            target.reader.close()


def verify_run(ctx: RunContext, sync_run_id: int, client=None, *, reader: StorefrontReader | None = None,
               sleep: Callable[[float], None] = time.sleep, first_wait: float = 5.0,
               max_wait: float = 120.0) -> dict[str, Any]:
    """Verification to the end, for ``finish``: the sensor's result, else poll here (blocking) with backoff.

    With the verify sensor in the DAG the first poke finds the final result and returns at once; without
    it (or when the sensor was cut short) this polls until done, holding the worker slot.
    """
    target = target_for(ctx, sync_run_id, client, reader)
    wait = first_wait
    try:
        while True:
            result = poke_target(target)
            if result.done:
                return result.counts
            sleep(wait)
            wait = min(max_wait, wait * 2)
    finally:
        if reader is None:
            target.reader.close()
