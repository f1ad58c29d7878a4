"""Images a person should look at, found while planning, and the new-product tasks after the push.

While planning (:func:`review_changed_images`): the detectors (:mod:`aeops.rules.detectors`) run on changed
images only: the main image of every ``edit`` change that sets one, and the first image of every new product
(first seen on the marketplace within ``new_product_days``; those also get the strict first-image checks).
Results are cached per store and image content (``image_reviews``), so an image is analysed once whatever
its name. The warnings are stored with the run's findings (the report shows them) and gathered in one open
``image_review`` person task per store, which the store-settings DAG puts to a person.

After the push (:func:`open_new_product_tasks`): a new product whose main image changed gets a person task
"set as new-product main image" with the photobank URL of the uploaded image and a link to the product.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from aeops.catalog.context import RunContext
from aeops.findings import Finding
from aeops.i18n import translator
from aeops.notify.finding_texts import finding_problem
from aeops.rules.detectors import DETECTOR_VERSION, analyse, findings_for, read_source
from aeops.secrets import get_logger
from aeops.store.status import VERIFIABLE

log = get_logger(__name__)

SELLER_CENTER_PRODUCT = "https://csp.aliexpress.com/m_apps/product-manage/edit?productId={pid}"
STOREFRONT_ITEM = "https://www.aliexpress.com/item/{pid}.html"


def new_product_ids(ctx: RunContext, now: datetime | None = None) -> set[int]:
    """The ids of the store's products first seen within ``new_product_days``."""
    since = (now or datetime.now(UTC)) - timedelta(days=ctx.config.new_product_days)
    return ctx.ledger.products.new_since(ctx.store.name, since)


def review_changed_images(ctx: RunContext, sync_run_id: int, run_id: str, desired: dict[int, dict[str, Any]],
                          changes: list[Any], categories: dict[int, str | None], *, dry_run: bool = False
                          ) -> dict[str, int]:
    """Run the detectors on this run's changed images; store warnings; refresh the image-review task (not in a
    dry run: a person works only on what a real run found)."""

    new = new_product_ids(ctx) & set(desired)
    images: dict[int, str] = {c.product_id: c.payload["fields"]["main_image"] for c in changes
                              if c.kind == "edit" and c.payload.get("fields", {}).get("main_image")}
    images.update({pid: desired[pid]["main_image"] for pid in new if desired[pid].get("main_image")})
    if not images:
        return {"reviewed_images": 0, "analysed_images": 0, "image_warnings": 0}
    apparel = {" ".join(str(c).split()).casefold() for c in ctx.store.apparel_categories}
    findings: list[Finding] = []
    analysed = 0
    results: dict[str, dict[str, Any]] = {}
    for pid, source in sorted(images.items()):
        data = read_source(source, ctx.store.images_dir or None, ctx.config)
        if data is None:
            continue
        sha = hashlib.sha256(data).hexdigest()
        if sha not in results:
            results[sha], fresh = ctx.ledger.image_reviews.analysed(ctx.store.name, sha, source, DETECTOR_VERSION,
                                                                    lambda data=data: analyse(data))
            analysed += int(fresh)
        result = results[sha]
        is_apparel = " ".join(str(categories.get(pid) or "").split()).casefold() in apparel
        for f in findings_for(result, source, apparel=is_apparel, new_product=pid in new):
            findings.append(replace(f, product_id=pid, field="main_image"))
    if findings:
        ctx.ledger.runs.store_findings(sync_run_id, ctx.store.name, findings)
        if not dry_run:
            _refresh_review_task(ctx, run_id, findings)
    log.info("%s: %d changed image(s) reviewed (%d analysed, the rest known), %d warning(s) for a person",
             ctx.store.name, len(images), analysed, len(findings))
    return {"reviewed_images": len(images), "analysed_images": analysed, "image_warnings": len(findings)}


def _refresh_review_task(ctx: RunContext, run_id: str, findings: list[Finding]) -> None:
    """One open image-review task per store: new warnings are added to the list a person works through."""
    existing = next((t for t in ctx.ledger.person_tasks.open_tasks(ctx.store.name, ("image_review",))), None)
    items = list((existing.detail.get("items") if existing else None) or [])
    known = {(i["product_id"], i["code"], i["image"]) for i in items}
    for f in findings:
        key = (f.product_id, f.code, f.file)
        if key not in known:
            known.add(key)
            items.append({"product_id": f.product_id, "code": f.code, "image": f.file, "message": f.message,
                          "texts": f.texts_json()})
    lang = ctx.store.language
    _ = translator(lang)
    steps = [_("Open each image below and look at it: the detectors are not sure, a person decides."),
             _("If it is a real problem (watermark, no visible face on an apparel photo, text over the image, not on "
               "white or too small for a new product), replace the image in the ERP export; the next sync pushes "
               "it."),
             _("Mark this task Done once every image is reviewed.")]
    detail = {"steps": steps, "items": items,
              "differences": [f"{i['code']}: {finding_problem(i, lang)}" for i in items][:20],
              "links": {_("product {product}").format(product=i["product_id"]):
                        STOREFRONT_ITEM.format(pid=i["product_id"]) for i in items[:10]}}
    title = _("Review {n} main image warning(s) of {store}").format(n=len(items), store=ctx.store.name)
    ctx.ledger.person_tasks.open(ctx.store.name, "image_review", "image_review", title, detail, run_id)


def open_new_product_tasks(ctx: RunContext, sync_run_id: int, run_id: str) -> int:
    """A "set as new-product main image" task for each new product whose main image change was confirmed."""

    new = new_product_ids(ctx)
    if not new:
        return 0
    run = ctx.ledger.runs.get(sync_run_id)
    urls = dict((run.artifacts or {}).get("image_urls") or {})
    _ = translator(ctx.store.language)
    opened = 0
    for change in ctx.ledger.changes.of_run(sync_run_id):
        source = (change.payload.get("fields") or {}).get("main_image") if change.kind == "edit" else None
        if not source or change.product_id not in new or change.status not in VERIFIABLE:
            continue
        pid, url = change.product_id, urls.get(source, "")
        steps = [_("Seller center → Products → Manage products → edit product {product}.").format(product=pid),
                 _("Its first image is now {image}: tick \"set as new-product main image\" for it; save.").format(
                     image=url or source),
                 _("There is no API for this flag and no page shows it: mark this task Done when it is set.")]
        detail = {"steps": steps, "files": [url] if url else [],
                  "links": {_("edit the product"): SELLER_CENTER_PRODUCT.format(pid=pid),
                            _("product page"): STOREFRONT_ITEM.format(pid=pid)},
                  "product_id": pid, "photobank_url": url, "image": source}
        title = _("Set as new-product main image: product {product}").format(product=pid)
        _task, created = ctx.ledger.person_tasks.open(ctx.store.name, "new_product_image",
                                                      f"new_product_image:{pid}", title, detail, run_id)
        opened += int(created)
    if opened:
        log.info("%s: %d 'set as new-product main image' task(s) opened", ctx.store.name, opened)
    return opened
