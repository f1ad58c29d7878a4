"""Post-update verification of one store's run: poll until every pushed product is seen, re-push once, report.

One *pass* (:func:`aeops.verify.passes.run_pass`) checks the run's products that are not verified yet: the list
timestamp and the API's product query for every product, storefront pages for a sample that grows with risk
(:func:`aeops.verify.sampling.budget_plan`) within the politeness budget: at most ``storefront_page_budget``
pages a run, read at ``storefront_pages_per_second`` per language site over every store of the deployment (one
shared limiter; a store's own rate may be lower: :mod:`aeops.verify.politeness`), only
during a poke's reading window (``VerifySettings.read_window``; what does not fit is read by the next poke).
A page the storefront would not show (an anti-bot page, a login or geo redirect) is counted as unreadable per site
and device and the product is judged by the API query. Products whose new main image is in the platform's review
are followed by :mod:`aeops.verify.review_followup` and left out of the checks until the review ends.

:func:`poke` is one sensor poke: a pass, then the clock decides. All products seen -> done. At
``repush_share`` of the deadline, the products still failing are re-pushed once (their changes back to
``planned`` and through :func:`aeops.catalog.push.push_batch`). At the deadline the products still failing
become ``verify_failed`` with their problems in ``verify_results``; language sites that still disagree on
price or stock become strikes (:mod:`aeops.verify.strikes`). Products with a check still outstanding (a page
or a product query left for the next poke) keep the sensor poking. Progress lives in the run's
``artifacts["verify"]`` and the change statuses, so every poke can run in a new process (reschedule mode)
and the final result is computed once.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.catalog.batching import batches
from aeops.catalog.context import RunContext, client_for, context
from aeops.catalog.push import push_batch
from aeops.marketplace.hooks import AliExpressHook
from aeops.marketplace.interface import MarketplaceClient
from aeops.notify.send import language_of, send
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus
from aeops.verify import review_followup, strikes
from aeops.verify.checks import Expected, Problem, expected_from_changes
from aeops.verify.page_reader import DEVICES, StorefrontReader, reader_for_connection
from aeops.verify.passes import PassResult, inconsistent_sites, run_pass
from aeops.verify.politeness import SitePacer, shared_limiter
from aeops.verify.sampling import SamplingRule, budget_plan, seed_for

log = get_logger(__name__)

# Risk weights: who gets storefront pages first (docs/verification.md, "Sampling within the budget")
RISK_FAILED, RISK_PRICE, RISK_IMAGE = 3, 2, 1


@dataclass(frozen=True)
class VerifySettings:
    """How verification polls, samples and reads; :meth:`from_config` reads ``aeops_config`` and the store's keys.

    The defaults are the polite production ones: 1 page a second per language site, 300 pages a run. Built by hand
    (tests, benchmarks) the pages are paced per poke only; :meth:`from_config` adds the deployment's shared rate."""

    deadline: timedelta = timedelta(minutes=30)
    repush_share: float = 0.5  # re-push the products still failing at this share of the deadline
    rule: SamplingRule = field(default_factory=SamplingRule)
    devices: tuple[str, ...] = DEVICES
    workers: int = 16  # concurrent page fetches (each waits for its site's turn)
    review_deadline: timedelta = timedelta(hours=2)  # alert when a new main image is still in review this long
    review_trigger: timedelta = timedelta(hours=2)  # alert when no review started this long after a new main image
    pages_per_second: float = 1.0  # the store's own storefront pages a second per language site (within a poke)
    shared_pages_per_second: float | None = None  # every store together, per site (None: not shared)
    rate_limit_backend: str = ""  # where the shared rate lives (empty: $AEOPS_RATE_LIMIT, else memory)
    page_budget: int = 300  # storefront pages a run
    read_window: timedelta = timedelta(seconds=30)  # a poke reads pages this long at most, the rest next poke
    api_checks_per_poke: int = 1000  # product queries a poke (~55 s at 18 QPS), the rest next poke
    api_check_budget: int | None = None  # product queries a run (None: every product); urgent: sized from its deadline

    @classmethod
    def from_config(cls, config: Any, store: Any = None) -> VerifySettings:
        """The verification settings from the aeops settings and the store's."""
        return cls(
            deadline=timedelta(minutes=float(getattr(config, "verify_deadline_minutes", 30.0))),
            review_deadline=timedelta(minutes=float(getattr(config, "review_deadline_minutes", 120.0))),
            review_trigger=timedelta(minutes=float(getattr(config, "review_trigger_minutes", 120.0))),
            rule=SamplingRule(page_all_threshold=int(getattr(config, "verify_page_all_threshold", 200)),
                              sample_size=int(getattr(config, "verify_sample_size", 200)),
                              risky_cross_size=int(getattr(config, "verify_risky_cross_size", 1000))),
            pages_per_second=float(getattr(store, "storefront_pages_per_second", 1.0)),
            shared_pages_per_second=float(getattr(config, "storefront_pages_per_second", 1.0)),
            rate_limit_backend=str(getattr(config, "rate_limit_backend", "") or ""),
            page_budget=int(getattr(store, "storefront_page_budget", 300)),
        )

    @property
    def effective_pages_per_second(self) -> float:
        """The fastest a store reads pages of one site: its own rate, or the shared one when that is lower."""
        return min(self.pages_per_second, self.shared_pages_per_second or self.pages_per_second)

    def pacer(self) -> SitePacer:
        """The pacer of one poke: the store's own rate, and the deployment's shared limiter when set."""
        shared = (shared_limiter(self.rate_limit_backend, self.shared_pages_per_second)
                  if self.shared_pages_per_second else None)
        return SitePacer(self.pages_per_second, self.read_window.total_seconds(), shared=shared)


@dataclass
class PokeResult:
    """One poke of the verification sensor: done or not, its counts and a one-line message."""
    done: bool
    counts: dict[str, Any] = field(default_factory=dict)
    message: str = ""


def _now() -> datetime:
    return datetime.now(UTC)


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


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
    client: MarketplaceClient
    reader: StorefrontReader
    images_dir: str | None = None
    config: Any = None
    _services: dict[str, Any] = field(default_factory=dict, repr=False)  # freight template -> its services


def poke_target(t: Target, *, now: Callable[[], datetime] = _now) -> PokeResult:
    """One poke: follow the reviews, a pass over the products not verified yet, then re-push / finalise as the
    clock says."""
    run = t.ledger.runs.get(t.sync_run_id)
    state: dict[str, Any] = dict((run.artifacts or {}).get("verify") or {})
    if state.get("final"):
        return PokeResult(True, dict(state.get("result") or {}), "verification already finished")
    if not t.ledger.changes.any_verifiable(t.sync_run_id):
        return PokeResult(True, {}, "nothing was pushed: nothing to verify")
    at = now()
    if not state:
        state = {"started_at": at.isoformat(), "repush_at": (at + t.settings.deadline * t.settings.repush_share)
                 .isoformat(), "deadline_at": (at + t.settings.deadline).isoformat(), "repushed": [],
                 "repush_done": False, "passes": 0, "list_calls": 0, "page_fetches": 0, "api_calls": 0,
                 "pages_deferred": 0, "page_budget": t.settings.page_budget,
                 "pages_per_second": t.settings.effective_pages_per_second}
    reviews = review_followup.follow(t.ledger, t.client, t.store, t.sync_run_id, t.run_id,
                            deadline=t.settings.review_deadline, at=at, alert=_alerter(t), lang=_language(t),
                            trigger=t.settings.review_trigger)
    if reviews.passed or "onSelling" in reviews.unreviewed.values():  # they join the checks now: the whole time
        state["deadline_at"] = max(_parse(state["deadline_at"]), at + t.settings.deadline).isoformat()
    state["in_review"], state["review_overdue"] = sorted(reviews.waiting), sorted(reviews.overdue)
    state["review_refused"] = sorted(set(state.get("review_refused") or []) | set(reviews.refused))
    state["review_missing"] = sorted(set(state.get("review_missing") or []) | set(reviews.unreviewed))
    changes = t.ledger.changes.verifiable(t.sync_run_id)
    reviewing = {c.product_id for c in changes if c.status == ChangeStatus.IN_REVIEW}
    all_products = sorted({c.product_id for c in changes} - reviewing)
    pending_changes = [c for c in changes if c.status == ChangeStatus.CONFIRMED and c.product_id not in reviewing]
    fields = _state_fields(t, {c.product_id for c in pending_changes})
    expected = expected_from_changes(pending_changes, fields)
    refused = set(state["review_refused"])  # their refusal is the edit's failure: not a failure of every change
    expected = {pid: replace(exp, review_refused=True) if pid in refused else exp for pid, exp in expected.items()}
    page_failed = t.ledger.verification.page_failures(t.sync_run_id) & set(expected)
    left = max(0, t.settings.page_budget - int(state.get("page_fetches", 0)))
    plan = budget_plan(expected, risk_of(t, changes, all_products, reviewing), t.settings.rule,
                       seed_for(t.store, t.run_id), t.sites, t.settings.devices, left, escalated=page_failed)
    done_cells = {int(p): {(c[0], c[1]) for c in cells} for p, cells in (state.get("pages_ok") or {}).items()}
    plan = {pid: todo for pid, cells in plan.items()  # pages an earlier poke read right are not read again
            if (todo := [c for c in cells if c not in done_cells.get(pid, ())])}
    api_only = _api_sample(t, state, all_products, plan)
    _prepare_reading(t, expected, fields)
    pacer = t.settings.pacer()
    result = run_pass(expected, plan, t.client, t.reader, workers=t.settings.workers,
                      seller_id=getattr(t.client, "seller_id", None), store=t.store,
                      api_ok={int(p) for p in state.get("api_ok") or []}, api_limit=t.settings.api_checks_per_poke,
                      pacer=pacer, api_only=api_only)
    _hold_unread_failures(t, result, page_failed - set(result.paged))
    if result.sku_ids_read:  # read once (a product written blind, a first run): later runs' pages are keyed with them
        t.ledger.products.record_sku_ids(t.store, result.sku_ids_read)
    repushed = set(state["repushed"])
    t.ledger.verification.save_pass(t.sync_run_id, t.store, result.failing, result.verified,
                                    {pid: 2 if pid in repushed else 1 for pid in expected}, at)
    t.ledger.changes.set_status([cid for pid in result.verified for cid in expected[pid].change_ids],
                                ChangeStatus.VERIFIED)
    _account(state, result, plan, t.settings)
    state["untimed_pages"] = state.get("untimed_pages", 0) + result.untimed_pages
    log.info("%s: verification pass %d: %d verified, %d still failing, %d outstanding, %d in review (%d list calls, "
             "%d product queries, %d pages read, %d deferred, %d unreadable)", t.store, state["passes"],
             len(result.verified), len(result.failing), len(result.pending), len(reviews.waiting), result.list_calls,
             result.api_calls, result.page_fetches, result.pages_deferred,
             sum(sum(c.values()) for c in result.unreadable.values()))
    done, message = False, ""
    waiting = reviews.pending  # in review and not overdue yet: keep poking for them
    if not result.failing and not waiting and not result.pending:
        done, message = True, "every pushed product is seen" + (
            f"; {len(reviews.overdue)} still in review past the deadline" if reviews.overdue else "")
    elif result.failing and at >= _parse(state["repush_at"]) and not state["repush_done"]:
        failing = sorted(result.failing)
        _repush(t, [cid for pid in failing for cid in expected[pid].change_ids])
        state["repushed"], state["repush_done"] = failing, True
        message = f"re-pushed {len(failing)} product(s) that were still not seen"
        log.warning("%s: %s: %s", t.store, message, ", ".join(map(str, failing[:20])))
    elif at >= _parse(state["deadline_at"]) and not waiting and not result.pending:
        done, message = True, f"deadline reached with {len(result.failing)} product(s) not seen"
    elif waiting:
        message = f"{len(waiting)} product(s) still in the marketplace review"
    elif result.pending:
        message = f"{len(result.pending)} product(s) with pages or product queries left for the next poke"
    if done:
        state["result"] = _finalise(t, state, result, expected)
        state["final"] = True
    t.ledger.runs.update(t.sync_run_id, artifacts={"verify": state})
    return PokeResult(done, dict(state.get("result") or {}), message)



def _language(t: Target) -> str:
    """The language of the store's Slack messages."""

    return language_of(t.store, t.config)


def _alerter(t: Target) -> Callable[[Any], None]:
    def alert(message: Any) -> None:
        send(message, store=t.store, config=t.config, db_url=t.ledger.url)

    return alert


def risk_of(t: Target, changes: list[Any], products: list[int], reviewing: set[int]) -> dict[int, int]:
    """Product -> risk weight for the page sample: failed a push or a verification before (a strike's products
    among them) > this run moves its price > this run changes its main image. A *blind* price write (a first run
    restating prices it never read) is no sign of a price move."""
    risk: dict[int, int] = {}
    for c in changes:
        payload = c.payload or {}
        if c.kind == "price" and not payload.get("blind"):
            risk[c.product_id] = max(risk.get(c.product_id, 0), RISK_PRICE)
        elif c.kind == "edit" and (payload.get("fields") or {}).get("main_image"):
            risk[c.product_id] = max(risk.get(c.product_id, 0), RISK_IMAGE)
    for pid in t.ledger.changes.previously_failed(t.store, t.sync_run_id, products):
        risk[pid] = RISK_FAILED
    return {pid: w for pid, w in risk.items() if pid not in reviewing}


def _hold_unread_failures(t: Target, result: PassResult, unread: set[int]) -> None:
    """Products that failed a page in an earlier pass and got no readable page now (the budget is spent, or the
    page was unreadable) stay failing with their recorded problems: the API alone does not clear a page failure."""
    held = sorted(pid for pid in unread if pid in result.verified or pid in result.pending)
    if not held:
        return
    rows = [r for r in t.ledger.verification.results(t.sync_run_id, only_failed=True) if r.product_id in set(held)]
    for row in rows:
        result.failing.setdefault(row.product_id, []).append(
            Problem(row.product_id, row.check, row.field, row.expected, row.seen, row.device, row.site, row.sku_code))
    kept = {row.product_id for row in rows}
    result.verified = [pid for pid in result.verified if pid not in kept]
    result.pending = [pid for pid in result.pending if pid not in kept]
    for pid in kept:
        result.methods.pop(pid, None)


def _api_sample(t: Target, state: dict[str, Any], products: list[int], plan: Mapping[int, Any]) -> set[int] | None:
    """The products that get the product query when the run has a budget for them (an urgent run: its deadline
    bounds them), chosen once a run and kept in the verify state: those whose pages are read first (the query gives
    their SKU-id map), then a seeded sample of the rest. None: every product (no budget, or within it)."""
    budget = t.settings.api_check_budget
    if budget is None or len(products) <= budget:
        return None
    if state.get("api_sample") is None:
        paged = [pid for pid in products if pid in plan][:budget]
        rest = sorted(set(products) - set(paged))
        chosen = paged + random.Random(seed_for(t.store, t.run_id)).sample(rest, min(len(rest), budget - len(paged)))
        state["api_sample"] = sorted(chosen)
        log.info("%s: %d changed products, product queries capped at %d (the run's deadline): the rest are "
                 "verified by their list timestamp and pages", t.store, len(products), budget)
    return set(state["api_sample"])


def _account(state: dict[str, Any], result: PassResult, plan: Mapping[int, Any], settings: VerifySettings) -> None:
    """What this pass read, sampled and how it verified, added to the run's verify state."""
    state["passes"] += 1
    for key, value in (("list_calls", result.list_calls), ("page_fetches", result.page_fetches),
                       ("api_calls", result.api_calls), ("pages_deferred", result.pages_deferred)):
        state[key] = int(state.get(key, 0)) + value
    state["verified_by_value"] = sorted(set(state.get("verified_by_value") or []) | set(result.by_value))
    state["api_ok"] = sorted(set(state.get("api_ok") or []) | set(result.api_ok))
    state["sampled"] = sorted(set(state.get("sampled") or []) | set(plan))
    pages_ok = dict(state.get("pages_ok") or {})
    for pid, cells in result.pages_ok.items():
        pages_ok[str(pid)] = sorted({tuple(c) for c in pages_ok.get(str(pid), [])} | set(cells))
    for pid in result.verified:
        if pages_ok.pop(str(pid), None) and result.methods.get(pid) == "api":
            result.methods[pid] = "page"  # its pages were read by earlier pokes
    state["pages_ok"] = pages_ok
    by = {method: set(ids) for method, ids in (state.get("verified_by") or {}).items()}
    for pid, method in result.methods.items():
        by.setdefault(method, set()).add(pid)
    state["verified_by"] = {method: sorted(ids) for method, ids in sorted(by.items())}
    unreadable = state.setdefault("unreadable", {})
    for cell, causes in result.unreadable.items():
        for cause, n in causes.items():
            unreadable.setdefault(cell, {})[cause] = unreadable.get(cell, {}).get(cause, 0) + n
    state["page_budget"], state["pages_per_second"] = settings.page_budget, settings.effective_pages_per_second
    if result.marketplace_rate is not None:
        state["marketplace_completion_rate"] = result.marketplace_rate


def _prepare_reading(t: Target, expected: dict[int, Expected], fields: Mapping[int, Mapping[str, Any]]) -> None:
    """What the checks need beyond the changes: each expected template's services (the page's shipping block
    is compared with them) and the SKU-id maps aeops stored (pages are keyed by the platform's SKU ids; the pass's
    product query gives the map of a product aeops has none of)."""
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
        return
    for pid in expected:
        known = dict((fields.get(pid) or {}).get("sku_ids") or {})
        if known and pid not in codes:
            codes[pid] = known


def _state_fields(t: Target, product_ids: set[int]) -> dict[int, dict[str, Any]]:
    if not product_ids:
        return {}
    return t.ledger.products.fields_of(t.store, product_ids)


def _repush(t: Target, change_ids: list[int]) -> None:
    """Push these confirmed changes once more (back to ``planned``, then the usual recorded push)."""
    kinds = {c.id: c.kind for c in t.ledger.changes.load(change_ids)}
    t.ledger.changes.set_status(change_ids, ChangeStatus.PLANNED)
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
    t.ledger.changes.set_status(failed_ids, ChangeStatus.VERIFY_FAILED)
    sites = inconsistent_sites(last.failing)
    strikes_total = t.ledger.verification.strike_count(t.store)
    if sites:
        added = t.ledger.verification.record_strikes(t.store, t.sync_run_id, sites)
        strikes_total = t.ledger.verification.strike_count(t.store)
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
    statuses = ledger.changes.counts(sync_run_id)
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
    counts.update(storefront_counts(state))
    if state.get("review_missing"):  # no review seen within the trigger time (the ids: the verify state)
        counts["review_missing"] = len(state["review_missing"])
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


def storefront_counts(state: Mapping[str, Any]) -> dict[str, Any]:
    """What verification read and sampled, and how each product was verified (run counts and the report):
    ``verify_product_queries``, ``verify_pages_sampled_products``, ``verify_pages_deferred``,
    ``storefront_page_budget``, ``storefront_pages_per_second``, ``verified_by_page`` / ``_api`` /
    ``_unreadable`` (products), ``storefront_unreadable`` ("site/device" -> cause -> pages) and
    ``storefront_unreadable_pages`` (their sum)."""
    by = state.get("verified_by") or {}
    unreadable = {cell: dict(causes) for cell, causes in sorted((state.get("unreadable") or {}).items())}
    counts: dict[str, Any] = {
        "verify_product_queries": int(state.get("api_calls", 0)),
        "verify_pages_sampled_products": len(state.get("sampled") or []),
        "verify_pages_deferred": int(state.get("pages_deferred", 0)),
        "storefront_page_budget": state.get("page_budget"),
        "storefront_pages_per_second": state.get("pages_per_second"),
        "verified_by_page": len(by.get("page") or []), "verified_by_api": len(by.get("api") or []),
        "verified_by_unreadable": len(by.get("unreadable") or []), "verified_by_list": len(by.get("list") or []),
        "storefront_unreadable_pages": sum(n for causes in unreadable.values() for n in causes.values()),
    }
    if unreadable:
        counts["storefront_unreadable"] = unreadable
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
def target_for(ctx: RunContext, sync_run_id: int, client: MarketplaceClient | None = None,
               reader: StorefrontReader | None = None) -> Target:
    """A :class:`Target` for a store's run context."""
    run = ctx.ledger.runs.get(sync_run_id)
    if client is None:
        client = client_for(ctx)
    if reader is None:
        products = ctx.ledger.changes.verifiable_products(sync_run_id)
        sku_codes = {pid: f["sku_ids"] for pid, f in ctx.ledger.products.fields_of(ctx.store.name, products).items()
                     if f.get("sku_ids")}
        reader = reader_for_store(ctx.store, sku_codes)
    settings = VerifySettings.from_config(ctx.config, ctx.store)
    deadline = (run.artifacts or {}).get("deadline") if run.kind == "urgent" else None
    if deadline:  # an urgent run's product queries fit a share of its deadline at the store's QPS
        settings = replace(settings, api_check_budget=urgent_query_budget(float(deadline["deadline_minutes"]),
                                                                          float(ctx.store.qps)))
    return Target(ledger=ctx.ledger, store=ctx.store.name, sync_run_id=sync_run_id, run_id=run.run_id,
                  sites=list(ctx.store.language_sites) or ["en"],
                  settings=settings,
                  client=client, reader=reader, images_dir=ctx.store.images_dir or None, config=ctx.config)


URGENT_QUERY_SHARE = 0.15
"""Of an urgent run's deadline, the share its verification's product queries may take at the store's QPS (15
minutes at 18 QPS: 2,430 queries, about 135 s); the rest of its products are verified by list timestamp and
pages (docs/urgent.md, docs/verification.md)."""
URGENT_QUERY_MIN = 200


def urgent_query_budget(deadline_minutes: float, qps: float) -> int:
    """Product queries an urgent run's verification may make (at least :data:`URGENT_QUERY_MIN`)."""
    return max(URGENT_QUERY_MIN, int(deadline_minutes * 60 * max(qps, 1.0) * URGENT_QUERY_SHARE))


def reader_for_store(store, sku_codes: Mapping[int, Mapping[str, str]] | None = None) -> StorefrontReader:
    """The storefront reader for a store's marketplace connection (simulator or the real storefront), with the
    SKU-id maps of the products it will read (platform SKU id -> seller SKU code, from the product queries)."""

    hook = AliExpressHook(store.conn_id)
    base_url = hook.client_kwargs()["base_url"]
    extra = hook.get_connection(store.conn_id).extra_dejson or {}
    return reader_for_connection(base_url, extra, sku_codes=sku_codes)


def poke(store: str, dag_id: str, run_id: str, *, dry_run: bool = False, client: MarketplaceClient | None = None,
         reader: StorefrontReader | None = None, config=None) -> PokeResult:
    """The verify sensor's poke for one store of a DAG run (True when verification has finished)."""
    if dry_run:
        return PokeResult(True, {}, "dry run: nothing was pushed")
    ctx = context(store, config)
    run = ctx.ledger.runs.find(store, run_id, dag_id)
    if run is None:
        return PokeResult(True, {}, "no sync run for this store (it stopped before the export)")
    sync_run_id = run.id
    if not ctx.ledger.changes.any_verifiable(sync_run_id):
        return PokeResult(True, {}, "nothing was pushed: nothing to verify")
    target = target_for(ctx, sync_run_id, client, reader)
    try:
        return poke_target(target)
    finally:
        if reader is None:
            target.reader.close()


def verify_run(ctx: RunContext, sync_run_id: int, client: MarketplaceClient | None = None, *,
               reader: StorefrontReader | None = None, sleep: Callable[[float], None] = time.sleep,
               first_wait: float = 5.0, max_wait: float = 120.0) -> dict[str, Any]:
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
