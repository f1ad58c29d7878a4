"""Writers racing on one row keep each other's work: a run's artifacts and counts, the images a run uploaded, the
Slack outbox's fold counts and page versions, and the schema's first upgrade.

The threaded tests run on PostgreSQL (READ COMMITTED, real concurrency) and SQLite: each fails on a read-modify-write
in Python (the second writer writes back what it read before the first committed)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aeops.catalog.diff import PlannedChange
from aeops.catalog.push import push_batch
from aeops.store import db as db_module
from aeops.store.ledger import Ledger
from aeops.store.models import SlackOutbox
from aeops.verify.fake import FakeMarketplace

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def _together(*jobs: Callable[[], None]) -> None:
    """Run the jobs in threads started at once; re-raise the first error."""
    start = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        start.wait(timeout=30)
        try:
            job()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if errors:
        raise errors[0]


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    return Ledger(db_url)


def test_two_writers_to_one_runs_artifacts_and_counts_both_keep_theirs(ledger: Ledger) -> None:
    run = ledger.runs.start("demo", "unit", "r1")
    ledger.runs.update(run, artifacts={"kept": 1}, counts={"rows": 3})

    def writer(name: str) -> Callable[[], None]:
        def write() -> None:
            for i in range(40):
                ledger.runs.update(run, artifacts={f"{name}{i}": i}, counts={f"{name}{i}": i})
        return write

    _together(writer("a"), writer("b"))

    stored = ledger.runs.get(run)
    expected = {f"{n}{i}": i for n in "ab" for i in range(40)}
    assert stored.artifacts == {"kept": 1, **expected}
    assert stored.counts == {"rows": 3, **expected}


def test_a_key_written_again_is_replaced_as_a_whole_and_other_columns_are_set(ledger: Ledger) -> None:
    run = ledger.runs.start("demo", "unit", "r1")
    ledger.runs.update(run, artifacts={"verify": {"pass": 1, "old": True}, "held": [1]})
    ledger.runs.update(run, artifacts={"verify": {"pass": 2}, "note": None}, status="partial", message="m")
    stored = ledger.runs.get(run)
    assert stored.artifacts == {"verify": {"pass": 2}, "held": [1], "note": None}
    assert (stored.status, stored.message) == ("partial", "m")
    with pytest.raises(LookupError):
        ledger.runs.update(run + 99, status="x")


def test_parallel_uploads_of_one_run_keep_every_image_url(ledger: Ledger) -> None:
    run = ledger.runs.start("demo", "unit", "r1")
    ledger.runs.update(run, artifacts={"image_urls": {"old.jpg": "https://ae01.alicdn.com/kf/old.jpg"},
                                       "staged_images": {"x": "y"}})

    def chunk(name: str) -> Callable[[], None]:
        def upload() -> None:
            for i in range(40):
                ledger.runs.add_artifact_entries(run, "image_urls", {f"{name}-{i}.jpg": f"https://cdn/{name}{i}"})
        return upload

    _together(chunk("a"), chunk("b"))

    urls = ledger.runs.get(run).artifacts["image_urls"]
    assert len(urls) == 81 and urls["old.jpg"].endswith("old.jpg") and urls["b-39.jpg"] == "https://cdn/b39"
    assert ledger.runs.get(run).artifacts["staged_images"] == {"x": "y"}


def test_an_edit_chunk_working_from_a_stale_copy_keeps_the_other_chunks_image(ledger: Ledger, tmp_path: Path) -> None:
    """Chunk A reads the run, then chunk B uploads its image and records it, then A records its own: the run keeps
    both (A wrote its whole stale map back before: B's image was uploaded again by the next chunk that needed it)."""
    from PIL import Image

    for name in ("a.png", "b.png"):
        Image.new("RGB", (800, 800), "white").save(tmp_path / name)
    market = FakeMarketplace()
    market.seed([1, 2], {"S": ("20.00", None, 1)}, NOW - timedelta(days=1))
    run = ledger.runs.start("demo", "unit", "r1")
    ledger.changes.store_plan(run, "demo", [PlannedChange(1, "edit", {"fields": {"main_image": "a.png"}}),
                                            PlannedChange(2, "edit", {"fields": {"main_image": "b.png"}})])
    change_a, change_b = sorted(c.id for c in ledger.changes.of_run(run))
    upload = market.upload_image
    inner: list[bool] = []

    def upload_during_a(file_name: str, content: bytes, **kw):
        if file_name == "a.png" and not inner:
            inner.append(True)  # chunk B runs whole while chunk A uploads
            push_batch(ledger, market, run, "edit", [change_b], images_dir=str(tmp_path))
        return upload(file_name, content, **kw)

    market.upload_image = upload_during_a
    push_batch(ledger, market, run, "edit", [change_a], images_dir=str(tmp_path))

    assert set(ledger.runs.get(run).artifacts["image_urls"]) == {"a.png", "b.png"}


def test_alerts_folded_at_once_all_count(ledger: Ledger) -> None:
    first = ledger.outbox.add(store="demo", channel="#a", kind="alert", payload={"text": "x"}, dedupe_key="k",
                              thread_key=None, fold_window_minutes=60, now=NOW)

    def folder() -> None:
        for _ in range(25):
            ledger.outbox.add(store="demo", channel="#a", kind="alert", payload={"text": "x"}, dedupe_key="k",
                              thread_key=None, fold_window_minutes=60, now=NOW)

    _together(folder, folder)

    with ledger.transaction() as s:
        assert s.get(SlackOutbox, first).fold_count == 51


def _page(ledger: Ledger, key: str, text: str) -> int:
    return ledger.outbox.add_page(store="demo", channel="#alerts", kind="page", payload={"text": text},
                                  dedupe_key=key, thread_key=None, now=NOW)


def test_a_page_version_written_while_its_first_post_is_recorded_keeps_both(ledger: Ledger) -> None:
    """The page's first post is answered while a new version is queued: the row keeps Slack's channel id (a later
    chat.update needs it) and the new text, and is queued again to show that text."""
    for n in range(15):
        row = _page(ledger, f"page-{n}", "v1")
        assert ledger.outbox.claim_head(NOW, timedelta(minutes=2)) == row
        claimed, _parent = ledger.outbox.for_delivery(row)
        _together(lambda row=row, claimed=claimed: ledger.outbox.record_success(
                      row, "chat.postMessage", {"ts": "1.0", "channel": "C0123"}, NOW, 1, claimed=claimed.attempts),
                  lambda n=n: _page(ledger, f"page-{n}", "v2"))
        with ledger.transaction() as s:
            stored = s.get(SlackOutbox, row)
            assert stored.payload.get("_slack") == {"channel": "C0123"}, n
            assert (stored.payload["text"], stored.fold_count, stored.status, stored.slack_ts) == (
                "v2", 2, "pending", "1.0"), n
        ledger.outbox.drop(row, note="test", droppable=("pending", "sending"))


def test_a_delivery_whose_claim_was_taken_over_records_the_post_but_not_the_status(ledger: Ledger) -> None:
    row = _page(ledger, "page", "v1")
    assert ledger.outbox.claim_head(NOW, timedelta(minutes=2)) == row
    first_claim = ledger.outbox.for_delivery(row)[0].attempts
    later = NOW + timedelta(minutes=3)  # the first deliverer stalled past its lease: another one claims the row
    assert ledger.outbox.claim_head(later, timedelta(minutes=2)) == row

    assert not ledger.outbox.record_success(row, "chat.postMessage", {"ts": "1.0", "channel": "C1"}, later, 1,
                                            claimed=first_claim)

    with ledger.transaction() as s:
        stored = s.get(SlackOutbox, row)
        # still the second deliverer's; its post becomes an edit of the first one's message, never a second post
        assert (stored.status, stored.attempts, stored.slack_ts) == ("sending", 2, "1.0")
        assert stored.payload["_slack"] == {"channel": "C1"}
    assert ledger.outbox.record_success(row, "chat.update", {"ts": "1.0"}, later, 1, claimed=2)
    with ledger.transaction() as s:
        assert s.get(SlackOutbox, row).status == "sent"


def test_two_first_tasks_upgrade_a_new_postgres_database_once(postgres_url: str, monkeypatch) -> None:
    """Both read "no schema" before either upgrades (the barrier holds the first until the second has read, or
    2 s): without the advisory lock both run the migrations and one fails on a table the other made."""
    meet = threading.Barrier(2)
    read = db_module.current_revision

    def current_then_meet(url: str):
        found = read(url)
        try:
            meet.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass  # the other task waits for the lock: go on alone
        return found

    monkeypatch.setattr(db_module, "current_revision", current_then_meet)
    upgrades: list[str] = []
    upgrade = db_module.upgrade
    monkeypatch.setattr(db_module, "upgrade", lambda url, revision="head": (upgrades.append(url),
                                                                            upgrade(url, revision)))

    _together(lambda: db_module.ensure_schema(postgres_url), lambda: db_module.ensure_schema(postgres_url))

    assert len(upgrades) == 1
    assert read(postgres_url) == db_module.head_revision()
