"""Follow the platform's review of the products whose main image a run changed.

The seller-center guide: a main-image change must *trigger* the platform's review within 2 hours. An edit that
sent a new main image is confirmed as ``in_review`` (:meth:`aeops.store.repos.changes.Changes.record_answer`); the
push reads the product's status right after the edit (:func:`aeops.catalog.push.note_reviews_started`), and every
verification poke (the reschedule-mode sensor: no worker slot is held between pokes) reads those products' status
again, one product query each (``aliexpress.solution.product.info.get``; its documented ``product_status_type``
values are ``onSelling``, ``offline``, ``auditing`` and ``editingRequired``: docs/aliexpress-api.md §2.14):

- ``auditing``: the review started (recorded once, milestone ``review-started:<product>``); still ``auditing``
  once ``review_deadline`` has passed since the edit was sent: one Slack alert for the run's overdue products, and
  they are no longer waited for (they count as "in review");
- ``onSelling`` after the review was seen started: the review passed; the change is ``confirmed`` and the product
  is verified like any other from the next pass (the verification deadline is extended so it gets the full time);
- ``editingRequired``: the review refused the image; the change ``failed`` with code ``editingRequired`` and the
  platform's reason (``Product.audit_reason``: no public documentation names a reason field, so on a real store
  it is "the platform gave no reason", in the store's language), in the report, and one Slack alert per product;
- any other status (``onSelling`` or ``offline``) and no review seen started: the review has not been triggered
  (yet). aeops waits ``review_trigger`` from the edit; then one Slack alert for the run's products with no review,
  and each is reported (milestone ``review-missing:<product>`` with the status it showed; the report's
  "Marketplace review" table): a product back ``onSelling`` is confirmed and verified for its values, never
  counted as reviewed; one in another status is no longer waited for. (The platform documents no review time: a
  review that started and passed between two reads cannot be told from none; the read right after the edit
  makes that unlikely, and the report says "no review seen", not "no review happened".)

A product under review is neither verified nor failed: the verification leaves it out of its checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aeops.catalog.timestamps import aware
from aeops.i18n import translator
from aeops.marketplace import ApiError
from aeops.marketplace.interface import MarketplaceClient
from aeops.notify.messages import review_not_triggered, review_overdue, review_refused
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Change
from aeops.store.status import ChangeStatus

log = get_logger(__name__)

REFUSED_CODE = "editingRequired"
IN_REVIEW_STATUS = "auditing"
STARTED = "review-started:"
MISSING = "review-missing:"


@dataclass
class ReviewOutcome:
    """Products whose review ended this poke, and those still in review (``overdue``: past the deadline, or with
    no review triggered in time and not back on sale); ``unstarted``: waiting with no review seen started yet;
    ``unreviewed``: no review started within the trigger time, with the status they showed."""

    passed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    waiting: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)
    unstarted: list[int] = field(default_factory=list)
    unreviewed: dict[int, str] = field(default_factory=dict)

    @property
    def pending(self) -> list[int]:
        """Still worth waiting for: in review and not yet overdue."""
        return [pid for pid in self.waiting if pid not in self.overdue]


def follow(ledger: Ledger, client: MarketplaceClient, store: str, sync_run_id: int, run_id: str, *, deadline: timedelta,
           at: datetime, alert: Callable[[Any], None] | None = None, lang: str | None = "en",
           trigger: timedelta = timedelta(hours=2)) -> ReviewOutcome:
    """One look at every product of the run with a change in review; moves the changes on and alerts (in
    ``lang``, the store's language). ``trigger``: how long after the edit a review must have started."""

    outcome = ReviewOutcome()
    in_review = _in_review(ledger, sync_run_id)
    if not in_review:
        return outcome
    started = {int(name[len(STARTED):]) for name in ledger.runs.milestones(sync_run_id) if name.startswith(STARTED)}
    newly_overdue: list[int] = []
    newly_missing: list[int] = []
    for pid, changes in sorted(in_review.items()):
        try:
            product = client.get_product(pid)
        except ApiError as exc:
            log.warning("%s: product %s: status not readable (%s); still following its review", store, pid, exc.code)
            outcome.waiting.append(pid)
            continue
        status = str(product.status or "")
        sent = min((aware(c.pushed_at) or at) for c in changes)
        if status == IN_REVIEW_STATUS and pid not in started:
            ledger.runs.add_milestone(sync_run_id, f"{STARTED}{pid}", {"at": at.isoformat()})
            started.add(pid)
        if status not in (IN_REVIEW_STATUS, REFUSED_CODE) and pid not in started:
            if at < sent + trigger:  # not (yet) triggered: the guide allows it 2 hours
                outcome.waiting.append(pid)
                outcome.unstarted.append(pid)
                continue
            outcome.unreviewed[pid] = status
            if ledger.runs.add_milestone(sync_run_id, f"{MISSING}{pid}", {"status": status, "at": at.isoformat()}):
                newly_missing.append(pid)
            if status == "onSelling":  # on sale with its new image, never reviewed: verified for its values
                ledger.changes.set_status([c.id for c in changes], ChangeStatus.CONFIRMED)
                log.warning("%s: product %s is on sale with its new main image and no review was seen", store, pid)
            else:
                outcome.waiting.append(pid)
                outcome.overdue.append(pid)
            continue
        if status == "onSelling":
            ledger.changes.set_status([c.id for c in changes], ChangeStatus.CONFIRMED)
            outcome.passed.append(pid)
            log.info("%s: product %s passed the marketplace review", store, pid)
        elif status == REFUSED_CODE:  # the platform documents no reason field: often none is given
            reason = product.audit_reason or translator(lang)("the platform gave no reason")
            ledger.changes.fail([c.id for c in changes], REFUSED_CODE, reason)
            outcome.refused[pid] = reason
            log.warning("%s: product %s refused by the marketplace review: %s", store, pid, reason)
            if alert is not None and ledger.runs.add_milestone(sync_run_id, f"review-refused:{pid}"):
                alert(review_refused(store=store, product_id=pid, reason=reason, run_id=run_id, lang=lang))
        else:
            outcome.waiting.append(pid)
            if at >= sent + deadline:
                outcome.overdue.append(pid)
                if ledger.runs.add_milestone(sync_run_id, f"review-overdue:{pid}"):
                    newly_overdue.append(pid)
    if newly_missing:
        log.warning("%s: no review started within %s of the new main image of %d product(s): %s", store, trigger,
                    len(newly_missing), newly_missing)
        if alert is not None:
            alert(review_not_triggered(store=store, products={p: outcome.unreviewed[p] for p in newly_missing},
                                       minutes=trigger.total_seconds() / 60, run_id=run_id, lang=lang))
    if newly_overdue:
        log.warning("%s: %d product(s) still in review %s after their new main image: %s", store,
                    len(newly_overdue), deadline, newly_overdue)
        if alert is not None:
            alert(review_overdue(store=store, product_ids=newly_overdue, hours=deadline.total_seconds() / 3600,
                                 run_id=run_id, lang=lang))
    return outcome


def _in_review(ledger: Ledger, sync_run_id: int) -> dict[int, list[Change]]:
    by_product: dict[int, list[Change]] = {}
    for change in ledger.changes.in_status(sync_run_id, ChangeStatus.IN_REVIEW):
        by_product.setdefault(change.product_id, []).append(change)
    return by_product
