"""Follow the platform's review of the products whose main image a run changed.

The seller-center guide: a main-image change triggers the platform's review, done within 2 hours. An edit that
sent a new main image is confirmed as ``in_review`` (:meth:`aeops.store.repos.changes.Changes.record_answer`); every
verification poke (the reschedule-mode sensor: no worker slot is held between pokes) reads those products'
status, one product query each:

- ``onSelling``: the review passed; the change is ``confirmed`` and the product is verified like any other
  from the next pass (the verification deadline is extended so it gets the full time);
- ``editingRequired``: the review refused the image; the change ``failed`` with code ``editingRequired`` and the
  platform's reason (``Product.audit_reason``: no public documentation names a reason field, so on a real store
  it is "the platform gave no reason", in the store's language), in the report, and one Slack alert per product;
- ``auditing``: still in review; once ``review_deadline`` has passed since the edit was sent, one Slack alert
  for the run's overdue products, and they are no longer waited for (they count as "in review").

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
from aeops.notify.messages import review_overdue, review_refused
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Change
from aeops.store.status import ChangeStatus

log = get_logger(__name__)

REFUSED_CODE = "editingRequired"


@dataclass
class ReviewOutcome:
    """Products whose review ended this poke, and those still in review (``overdue``: past the deadline)."""

    passed: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    waiting: list[int] = field(default_factory=list)
    overdue: list[int] = field(default_factory=list)

    @property
    def pending(self) -> list[int]:
        """Still worth waiting for: in review and not yet overdue."""
        return [pid for pid in self.waiting if pid not in self.overdue]


def follow(ledger: Ledger, client: MarketplaceClient, store: str, sync_run_id: int, run_id: str, *, deadline: timedelta,
           at: datetime, alert: Callable[[Any], None] | None = None, lang: str | None = "en") -> ReviewOutcome:
    """One look at every product of the run with a change in review; moves the changes on and alerts (in
    ``lang``, the store's language)."""

    outcome = ReviewOutcome()
    in_review = _in_review(ledger, sync_run_id)
    if not in_review:
        return outcome
    newly_overdue: list[int] = []
    for pid, changes in sorted(in_review.items()):
        try:
            product = client.get_product(pid)
        except ApiError as exc:
            log.warning("%s: product %s: status not readable (%s); still following its review", store, pid, exc.code)
            outcome.waiting.append(pid)
            continue
        status = str(product.status or "")
        sent = min((aware(c.pushed_at) or at) for c in changes)
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
