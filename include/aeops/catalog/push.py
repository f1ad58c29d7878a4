"""Push one batch of planned changes (at most 20 products, one kind), recorded before and after.

Kinds: ``price`` and ``inventory`` (batch calls), ``edit`` (title, freight template, main image) and
``qualification`` (a certificate image set on the product's qualification entry, for
``aliexpress_certificate_replace``); edits and qualifications go one product per call.

Order of work, so that a crash or retry never loses or doubles a write:

1. calls a dead process left ``sending`` are closed as ``interrupted``; changes left ``sending`` (a crash
   mid-call) or ``unknown`` (an answer that was lost or named neither list) are re-read from the marketplace
   first: already applied -> ``confirmed``, else back to ``planned``;
2. the rest is marked ``sending`` and the call logged in ``api_writes`` (committed) before it is sent;
3. the answer moves each product to ``confirmed`` (and its confirmed state forward), ``failed`` (with the
   platform's code) or ``unknown``, in one transaction with the call's record; unknown ones are re-read, and
   only those proven not applied are sent again (at most ``MAX_ATTEMPTS`` times in one task).

A clean batch costs four aeops DB transactions: the look at what is open, the record before sending, the
record of the answer, the final counts.
"""

from __future__ import annotations

import urllib.parse
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from aeops.catalog.diff import apply_change
from aeops.catalog.main_image_match import same_image_url
from aeops.catalog.model import from_marketplace
from aeops.marketplace import ApiError, SkuPrice, SkuStock
from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.models import Qualification
from aeops.rules.images import fetch_image_bytes
from aeops.secrets import get_logger
from aeops.store.ledger import Ledger
from aeops.store.models import Change
from aeops.store.repos.store_locks import LockToken
from aeops.store.status import UNCERTAIN, ChangeStatus

log = get_logger(__name__)

MAX_ATTEMPTS = 3
API_OF_KIND = {
    "price": "aliexpress.solution.batch.product.price.update",
    "inventory": "aliexpress.solution.batch.product.inventory.update",
    "edit": "aliexpress.solution.product.edit",
    "qualification": "aliexpress.solution.product.edit",  # aeop_qualification_struct_list (a certificate image)
}


def push_batch(ledger: Ledger, client: MarketplaceClient, sync_run_id: int, kind: str, change_ids: list[int], *,
               images_dir: str | None = None, fence: LockToken | None = None) -> dict[str, int]:
    """Send what is still open of these changes; returns counts by final status of this batch.

    ``fence``: the store lock's token the push holds; every call's record before sending checks it in the same
    transaction, and a lock lost meanwhile stops the batch with
    :class:`~aeops.store.repos.store_locks.LockLost` before anything more is sent."""
    store, artifacts, todo = _prepare(ledger, client, sync_run_id, change_ids)
    image_urls = dict(artifacts.get("image_urls", {}))
    staged = dict(artifacts.get("staged_images", {}))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        if not todo:
            break
        batch_key = f"{kind}-{todo[0].product_id}-{len(todo)}-a{attempt}"
        write_id = ledger.changes.begin_write(sync_run_id, store, API_OF_KIND[kind], batch_key, [c.id for c in todo],
                                              fence=fence)
        try:
            outcomes, answered = _send(client, kind, todo, image_urls, images_dir, ledger, sync_run_id, staged)
        except Exception as exc:
            # Nothing is known about what the platform applied: re-read before any retry (next task try).
            ledger.changes.record_error(write_id, [c.id for c in todo], f"{type(exc).__name__}: {exc}")
            raise
        uncertain = _record_answer(ledger, write_id, answered, todo, outcomes)
        refused = {pid for pid, outcome in outcomes.items() if getattr(outcome, "status", "") == "failed"}
        _settle_blind_failures(ledger, client, [c for c in todo if c.product_id in refused
                                                and (c.payload or {}).get("blind")])
        todo = _resolve_uncertain(ledger, client, uncertain) if uncertain else []
    loaded = ledger.changes.load(change_ids)
    if kind == "edit":
        note_reviews_started(ledger, client, sync_run_id, [c.product_id for c in loaded
                                                            if c.status == ChangeStatus.IN_REVIEW])
    statuses = [c.status for c in loaded]
    return {status: statuses.count(status) for status in set(statuses)}


def note_reviews_started(ledger: Ledger, client: MarketplaceClient, sync_run_id: int, product_ids: list[int]) -> None:
    """Right after a main-image edit, read each product's status (the documented product query): ``auditing``
    records that its review started (milestone ``review-started:<product>``, once), which
    :mod:`aeops.verify.review_followup` needs to tell a passed review from none at all. A read that fails is left to
    the follow-up's next read."""
    for pid in product_ids:
        try:
            status = str(client.get_product(pid).status or "")
        except ApiError as exc:
            log.warning("product %s: status not readable after its image edit (%s)", pid, exc.code)
            continue
        if status == "auditing":
            ledger.runs.add_milestone(sync_run_id, f"review-started:{pid}", {"at": datetime.now(UTC).isoformat()})


def _prepare(ledger: Ledger, client: MarketplaceClient, sync_run_id: int,
             change_ids: list[int]) -> tuple[str, dict[str, Any], list[Change]]:
    """The run's store and artifacts (images uploaded or staged), and the changes still to send (uncertain ones
    re-read first)."""
    start = ledger.changes.prepare_push(sync_run_id, change_ids)
    for write_id, api in start.interrupted:  # calls a dead process left sending: their products are re-read next
        log.warning("write %s (%s) was interrupted; re-reading its products before any retry", write_id, api)
    uncertain = [c for c in start.changes if c.status in UNCERTAIN]
    todo = [c for c in start.changes if c.status == ChangeStatus.PLANNED]
    if uncertain:
        todo = sorted(todo + _resolve_uncertain(ledger, client, uncertain), key=lambda c: c.product_id)
    return start.store, start.artifacts, todo


def _send(client: MarketplaceClient, kind: str, changes: list[Change], image_urls: dict[str, str],
          images_dir: str | None, ledger: Ledger, sync_run_id: int, staged: dict[str, str]
          ) -> tuple[dict[int, Any], bool]:
    if kind == "price":
        updates = {c.product_id: [SkuPrice(i["sku_code"], Decimal(i["price"]),
                                           Decimal(i["discount_price"]) if i.get("discount_price") else None)
                                  for i in c.payload["skus"]] for c in changes}
        result = client.update_prices_batch(updates)
        return result.outcomes, result.answered
    if kind == "inventory":
        report = client.update_inventory({c.product_id: [SkuStock(i["sku_code"], int(i["inventory"]))
                                                         for i in c.payload["skus"]] for c in changes})
        return report.outcomes, all(b.answered for b in report.batches)
    outcomes: dict[int, Any] = {}
    answered = True
    if kind == "qualification":  # one product per edit call; the certificate image is already in the photobank
        for change in changes:
            entry = change.payload["qualification"]
            outcome = client.set_qualifications(change.product_id, [
                Qualification(entry["key"], entry["type"], entry["value"])])
            outcomes[change.product_id] = outcome
            answered = answered and outcome.status != "unknown"
        return outcomes, answered
    for change in changes:  # product edits go one product per call
        fields = _edit_fields(client, change, image_urls, images_dir, ledger, sync_run_id, staged)
        outcome = client.edit_product(change.product_id, fields)
        outcomes[change.product_id] = outcome
        answered = answered and outcome.status != "unknown"
    return outcomes, answered


def _edit_fields(client: MarketplaceClient, change: Change, image_urls: dict[str, str], images_dir: str | None,
                 ledger: Ledger, sync_run_id: int, staged: dict[str, str]) -> dict[str, Any]:
    """Our canonical fields as the product.edit API names them. A new main image goes to the photobank first
    (once per source and run), and the URL is recorded in the change before the edit is sent: on success it
    becomes the product's record of the image aeops pushed."""
    fields = change.payload["fields"]
    api: dict[str, Any] = {}
    if "title" in fields:
        api["multi_language_subject_list"] = [{"locale": "en_US", "subject": fields["title"]}]
    if "freight_template_id" in fields:
        api["freight_template_id"] = int(fields["freight_template_id"])
    if "main_image" in fields:
        source = fields["main_image"]
        url = fields.get("main_image_pushed_url") or image_urls.get(source)
        if not url:  # another chunk of the run may have uploaded it since this one read the run
            url = ((ledger.runs.get(sync_run_id).artifacts or {}).get("image_urls") or {}).get(source)
        if not url:
            copy = staged.get(source)  # an auto-fixed copy in the run's staging folder (our own file)
            url = _upload(client, copy or source, str(Path(copy).parent) if copy else images_dir)
            # this one entry added in SQL: a whole map written back would drop what parallel chunks added
            ledger.runs.add_artifact_entries(sync_run_id, "image_urls", {source: url})
        image_urls[source] = url
        if fields.get("main_image_pushed_url") != url:
            ledger.changes.record_pushed_image(change.id, url)
        api["main_image_urls_list"] = [url]
    return api


def _upload(client: MarketplaceClient, source: str, images_dir: str | None) -> str:
    """Upload a source image (a local file, or a URL's bytes fetched from an allowed host) to the photobank:
    the platform takes photobank images only."""

    name = Path(urllib.parse.urlsplit(source).path).name if "://" in source else Path(source).name
    content = fetch_image_bytes(source, images_dir=images_dir, hosts=_source_hosts(source))
    content_type = {".png": "image/png", ".webp": "image/webp"}.get(Path(name).suffix.lower(), "image/jpeg")
    return client.upload_image(name or "main.jpg", content, content_type=content_type).photobank_url


def _source_hosts(source: str) -> list[str]:
    """An http(s) source passed validation's allow-list (image_url_hosts) to be in the change set: its host."""
    host = urllib.parse.urlsplit(source).hostname if "://" in source else None
    return [host] if host else []


def _record_answer(ledger: Ledger, write_id: int, answered: bool, sent: list[Change],
                   outcomes: dict[int, Any]) -> list[Change]:
    """The call's record and every product's outcome, in one transaction; returns the uncertain changes."""
    changes = ledger.changes.record_answer(write_id, answered, [c.id for c in sent], outcomes, apply_change)
    for change in changes:
        if change.status == ChangeStatus.FAILED:
            log.warning("product %s %s failed: %s %s", change.product_id, change.kind, change.error_code,
                        change.error_message)
    return [c for c in changes if c.status == ChangeStatus.UNKNOWN]


def _settle_blind_failures(ledger: Ledger, client: MarketplaceClient, sent: list[Change]) -> None:
    """A blind write (values never read: a store's first run) the platform refused may have asked for what the
    product already shows: each such product is read once, and confirmed when it does (never reported failed
    while right: the change is dropped and what was read recorded); else it stays failed with the platform's code,
    and the next run retries it."""
    if not sent:
        return
    failed = [c for c in ledger.changes.load([c.id for c in sent]) if c.status == ChangeStatus.FAILED]
    for change in failed:
        try:
            product = client.get_product(change.product_id)
        except Exception as exc:  # noqa: BLE001 - left failed with the platform's code; the next run re-reads it
            log.warning("product %s: refused blind %s not re-read (%s)", change.product_id, change.kind,
                        type(exc).__name__)
            continue
        state = from_marketplace(product)
        if _applied(change.kind, change.payload, state, product):  # nothing needed writing after all: no change
            ledger.changes.drop_unneeded(change.id, change.store, state)
            log.info("product %s: blind %s refused, but the product already shows it: nothing to change",
                     change.product_id, change.kind)


def _resolve_uncertain(ledger: Ledger, client: MarketplaceClient, uncertain: list[Change]) -> list[Change]:
    """Re-read every product whose write may or may not have happened and settle its status; returns the
    changes proven not applied (back to ``planned``, to be sent again)."""
    again: list[Change] = []
    for change in uncertain:
        product = client.get_product(change.product_id)
        applied = _applied(change.kind, change.payload, from_marketplace(product), product)
        row = ledger.changes.settle_reread(change.id, applied, apply_change)
        if not applied:
            again.append(row)
        log.info("product %s %s: answer was uncertain; re-read shows it %s", change.product_id, change.kind,
                 "applied" if applied else "NOT applied (will be sent again)")
    return again


def _applied(kind: str, payload: dict[str, Any], state: dict[str, Any], product) -> bool:
    """The product as read (``state``: :func:`~aeops.catalog.model.from_marketplace`) shows what the change sent."""
    skus = state["skus"]
    if kind == "price":
        return all(_shows_price(skus.get(i["sku_code"]) or {}, i) for i in payload["skus"])
    if kind == "inventory":
        return all((skus.get(i["sku_code"]) or {}).get("stock") == int(i["inventory"]) for i in payload["skus"])
    if kind == "qualification":  # the product carries the certificate image this change sent
        entry = payload["qualification"]
        current = product.qualification(entry["key"]) if product is not None else None
        return current is not None and same_image_url(current.value, entry["value"])
    fields = payload["fields"]
    checks = []
    if "title" in fields:
        checks.append(state.get("title") == fields["title"])
    if "freight_template_id" in fields:
        checks.append(state.get("freight_template_id") == str(fields["freight_template_id"]))
    if "main_image" in fields:  # the platform shows the photobank image this change pushed
        checks.append(same_image_url(state.get("main_image_url"), fields.get("main_image_pushed_url")))
    return all(checks)


def _shows_price(shown: dict[str, Any], item: dict[str, Any]) -> bool:
    return shown.get("price") == item["price"] and shown.get("discount_price") == item.get("discount_price")
