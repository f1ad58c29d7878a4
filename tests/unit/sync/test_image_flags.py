"""Changed images only: the detectors run on the images a run changes and on new products' first images,
once per image content; warnings go to the run's findings and one image-review person task; a new product's
confirmed main-image change opens a "set as new-product main image" task with the photobank URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from aeops.catalog.context import RunContext
from aeops.catalog.diff import PlannedChange
from aeops.config import load_config
from aeops.store.ledger import Ledger
from aeops.store.status import ChangeStatus
from aeops.sync import image_flags
from tests.unit.rules.detector_images import apparel_with_face, apparel_without_face, product


@pytest.fixture
def ctx(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunContext:
    monkeypatch.delenv("AEOPS_DATABASE_URL", raising=False)  # this test's own DB, not the embedded one
    images = tmp_path / "images"
    images.mkdir()
    apparel_without_face().save(images / "dress_no_face.jpg", quality=90)
    apparel_with_face().save(images / "dress_model.jpg", quality=90)
    product(watermark="SHOP-DEALS.COM").save(images / "mug_watermark.png")
    product(size=900).save(images / "mug_small.png")
    cfg = load_config({"database_url": f"sqlite:///{tmp_path / 'aeops.db'}",
                       "stores": [{"name": "demo", "images_dir": str(images)}]})
    return RunContext(cfg, cfg.store("demo"), Ledger(cfg.resolved_database_url()))


def edit(pid: int, image: str) -> PlannedChange:
    return PlannedChange(pid, "edit", {"fields": {"main_image": image}}, {"fields": {"main_image": "old.jpg"}})


def desired(**images: str) -> dict[int, dict]:
    return {int(pid.lstrip("p")): {"title": "t", "freight_template_id": "1001", "main_image": image, "skus": {}}
            for pid, image in images.items()}


def test_only_changed_images_are_analysed_once_per_content_and_warnings_reach_a_person(ctx, monkeypatch) -> None:
    ledger = ctx.ledger
    run = ledger.runs.start("demo", "aliexpress_catalog_sync", "r1")
    calls: list[int] = []
    from aeops.rules import detectors

    real = detectors.analyse
    monkeypatch.setattr(image_flags, "analyse", lambda data, **kw: calls.append(len(data)) or real(data, **kw))
    want = desired(p1="dress_no_face.jpg", p2="dress_model.jpg", p3="mug_watermark.png", p4="mug_small.png")
    changes = [edit(1, "dress_no_face.jpg"), edit(2, "dress_model.jpg"), edit(3, "mug_watermark.png")]
    counts = image_flags.review_changed_images(ctx, run, "r1", want, changes,
                                                {1: "apparel", 2: "apparel", 3: "home", 4: "home"})

    assert counts == {"reviewed_images": 3, "analysed_images": 3, "image_warnings": 2}  # p4 unchanged: not looked at
    found = {(f.product_id, f.code, f.severity) for f in ledger.runs.findings(run)}
    assert found == {(1, "IMG-NO-FACE", "warning"), (3, "IMG-TEXT", "warning")}
    [task] = ctx.ledger.person_tasks.open_tasks("demo")
    assert task.kind == "image_review" and len(task.detail["items"]) == 2

    run2 = ledger.runs.start("demo", "aliexpress_catalog_sync", "r2")
    again = image_flags.review_changed_images(ctx, run2, "r2", want, [edit(7, "dress_no_face.jpg")], {7: "apparel"})
    assert again["analysed_images"] == 0 and len(calls) == 3  # same content: the cached result
    [task] = ctx.ledger.person_tasks.open_tasks("demo")
    assert len(task.detail["items"]) == 3  # product 7 added to the same open task


def test_a_dry_run_reports_image_warnings_but_opens_no_task_for_a_person(ctx) -> None:
    run = ctx.ledger.runs.start("demo", "aliexpress_catalog_sync", "dry")
    want = desired(p1="dress_no_face.jpg")
    counts = image_flags.review_changed_images(ctx, run, "dry", want, [edit(1, "dress_no_face.jpg")],
                                                {1: "apparel"}, dry_run=True)

    assert counts["image_warnings"] == 1
    assert [(f.product_id, f.code) for f in ctx.ledger.runs.findings(run)] == [(1, "IMG-NO-FACE")]  # in the report
    assert ctx.ledger.person_tasks.open_tasks("demo") == []


def test_new_products_get_strict_first_image_checks_and_a_new_main_image_task(ctx) -> None:
    ledger = ctx.ledger
    baseline = {1: ({"main_image": "a"}, None)}
    ledger.products.save_seen("demo", baseline)  # the store's first read: its products are not "new"
    ledger.products.save_seen("demo", {4: ({"main_image": "mug_small.png"}, None)})  # appears later: new
    assert image_flags.new_product_ids(ctx) == {4}

    run = ledger.runs.start("demo", "aliexpress_catalog_sync", "r1")
    want = desired(p1="mug_small.png", p4="mug_small.png")
    counts = image_flags.review_changed_images(ctx, run, "r1", want, [], {1: "home", 4: "home"})
    assert counts["reviewed_images"] == 1  # only the new product's first image
    assert {f.code for f in ledger.runs.findings(run)} == {"IMG-NEW-SIZE"}

    ledger.changes.store_plan(run, "demo", [edit(4, "mug_small.png"), edit(1, "mug_small.png")])
    ledger.changes.set_status([c.id for c in ledger.changes.of_run(run)], ChangeStatus.CONFIRMED)
    ledger.runs.update(run, artifacts={"image_urls": {"mug_small.png": "https://ae01.alicdn.com/kf/Hmug.png"}})
    assert image_flags.open_new_product_tasks(ctx, run, "r1") == 1
    [task] = [t for t in ctx.ledger.person_tasks.open_tasks("demo") if t.kind == "new_product_image"]
    assert task.key == "new_product_image:4"
    assert task.detail["photobank_url"] == "https://ae01.alicdn.com/kf/Hmug.png"
    assert "productId=4" in task.detail["links"]["编辑商品"]  # in the store's language (zh-CN by default)
    assert any("设为新品主图" in s for s in task.detail["steps"]) and task.title == "设为新品主图：商品 4"
    assert image_flags.open_new_product_tasks(ctx, run, "r1") == 0  # once
