"""Logo rotation, time-travelled: reminders only when stale and once per quarter and kind; logo checks on
compliant and non-compliant files; rotations recorded by content hash; only a logo that passes the logo rules
(PNG, at least 800x800, no text over it) counts for the quarter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from aeops.catalog.dates import quarter_of
from aeops.config import load_config
from aeops.store import session_scope
from aeops.store.models import LogoChange
from aeops.storefront import logo_rotation
from aeops.storefront.logo_rotation import reminder_due
from tests.fake_slack import FakeSlack


def png(path: Path, size: tuple[int, int] = (1000, 1000), fmt: str = "PNG", color: str = "navy") -> Path:
    Image.new("RGB", size, color).save(path, fmt)
    return path


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    logo = tmp_path / "logo"
    logo.mkdir()
    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    monkeypatch.setenv("AEOPS_DATABASE_URL", url)
    config = load_config({"database_url": url, "stores": [{"name": "demo", "language": "en", "logo": logo.as_uri()}]})
    return logo, url, config, FakeSlack()


def run(store, as_of: str, **kwargs: Any) -> dict[str, Any]:
    _, _, config, slack = store
    return logo_rotation.run("demo", date.fromisoformat(as_of), config=config, client=slack, **kwargs)


def test_reminder_fires_only_when_stale_and_once_per_kind() -> None:
    q = quarter_of(date(2027, 1, 1))
    assert reminder_due(date(2027, 1, 1), q, stale=False, sent=set()) is None
    assert reminder_due(date(2027, 1, 1), q, stale=True, sent=set()) == "start"
    assert reminder_due(date(2027, 1, 30), q, stale=True, sent={"start"}) is None
    assert reminder_due(date(2027, 2, 14), q, stale=True, sent={"start"}) == "follow-up"  # day 45
    assert reminder_due(date(2027, 2, 20), q, stale=True, sent={"start", "follow-up"}) is None
    assert reminder_due(date(2027, 2, 20), q, stale=True, sent=set()) == "follow-up"  # deployed mid-quarter


def test_empty_history_reminds_with_spec_deadline_and_human_checklist(store) -> None:
    result = run(store, "2026-11-26")
    assert result["stale"] and result["reminder"] == "follow-up" and result["sent"]
    text = store[3].posts[0]["blocks"][0]["text"]["text"]
    assert "LOGO-STALE: rotate the store logo by 2026-12-31 (mid-quarter follow-up)" in text
    assert "no logo change on record" in text
    assert "PNG, at least 800x800 px, no text covering the logo" in text
    assert ("☐ No text covers the logo: a logo the text detector reads text on (LOGO-TEXT) counts only once a person "
            "confirms in its review task (Airflow, aliexpress_store_settings) that no text covers it.") in text
    assert not run(store, "2026-11-27")["sent"]


def test_compliant_new_logo_is_a_rotation_and_stops_reminders_for_the_quarter(store) -> None:
    logo, url, _, slack = store
    run(store, "2027-01-01")
    png(logo / "new_logo.png")
    result = run(store, "2027-01-10")
    assert result["recorded"] == ["new_logo.png"] and not result["stale"]
    assert slack.titles()[-1].startswith("Store logo rotated for 2027Q1")
    assert "`new_logo.png` passes (1000x1000 PNG)" in slack.posts[-1]["blocks"][0]["text"]["text"]
    assert not run(store, "2027-02-15")["sent"]  # not stale: no follow-up
    result = run(store, "2027-04-01")  # next quarter: the same file is not a new rotation
    assert result["stale"] and result["reminder"] == "start" and result["recorded"] == []
    with session_scope(url) as s:
        [change] = s.scalars(select(LogoChange)).all()
    assert change.changed_at.replace(tzinfo=UTC) == datetime(2027, 1, 9, 16, 0, tzinfo=UTC)  # 10 Jan, Shanghai


@pytest.mark.parametrize(("maker", "code", "reason"), [
    (lambda d: png(d / "small.png", (799, 800)), "LOGO-SIZE", "799x800"),
    (lambda d: png(d / "logo.jpg", fmt="JPEG"), "LOGO-FORMAT", "not PNG"),
    (lambda d: (d / "logo.png").write_text("not an image"), "LOGO-FORMAT", "logo.png"),
])
def test_non_compliant_logo_is_reported_with_reasons_and_not_recorded(store, maker, code, reason) -> None:
    logo, url, _, slack = store
    maker(logo)
    result = run(store, "2027-01-01")
    assert result["recorded"] == [] and result["stale"] and len(result["failing"]) == 1
    text = slack.posts[-1]["blocks"][0]["text"]["text"]
    assert f"fails: `{code}`" in text and reason in text
    assert str(logo) not in text  # the file name, not the server path
    assert not run(store, "2027-01-05")["sent"]  # a failing file alone: once a quarter
    with session_scope(url) as s:
        assert s.scalars(select(LogoChange)).all() == []


def test_marketplace_store_settings_win_when_available(store) -> None:
    result = run(store, "2027-01-05", marketplace=lambda _store: datetime(2027, 1, 2, 3, 0, tzinfo=UTC))
    assert not result["stale"] and result["last_change"] == "2027-01-02" and not result["sent"]


def test_missing_logo_folder_is_one_line_error(store, tmp_path: Path) -> None:
    _, url, _, slack = store
    config = load_config({"database_url": url, "stores": [{"name": "demo", "logo": str(tmp_path / "nope")}]})
    with pytest.raises(logo_rotation.LogoRotationError, match="does not exist or is not a folder"):
        logo_rotation.run("demo", date(2027, 1, 1), config=config, client=slack)


def test_the_rule_counts_only_a_compliant_logo() -> None:
    from aeops.findings import Finding, Severity
    from aeops.storefront.logo_rotation import rotation_problems

    text = Finding("LOGO-TEXT", Severity.WARNING, "text over the logo: 'SALE'", file="logo.png")
    size = Finding("LOGO-SIZE", Severity.ERROR, "logo.png is 799x800", file="logo.png")
    assert rotation_problems([]) == []
    assert rotation_problems([text]) == [text]  # a warning, yet it does not count
    assert rotation_problems([text], text_cleared=True) == []  # a person confirmed no text covers it
    assert rotation_problems([size, text], text_cleared=True) == [size]


def test_a_logo_with_text_over_it_does_not_count_until_a_person_clears_it(store) -> None:
    from aeops.store.ledger import Ledger
    from tests.unit.rules.detector_images import logo as logo_image

    folder, url, config, slack = store
    logo_image(text="SALE 50%").save(folder / "new_logo.png", "PNG")
    result = run(store, "2027-01-10")
    assert result["recorded"] == [] and result["stale"] and result["failing"] == ["new_logo.png"]
    text = slack.posts[-1]["blocks"][0]["text"]["text"]
    assert "`new_logo.png` fails: `LOGO-TEXT`" in text
    ledger = Ledger(url)
    [review] = ledger.person_tasks.open_tasks("demo")  # asked by aliexpress_store_settings
    assert review.kind == "image_review" and review.key.startswith("logo_text:")
    assert "Check the logo new_logo.png of demo: text over it?" == review.title
    assert not run(store, "2027-01-11")["recorded"]  # still not counted, the task stays open
    ledger.person_tasks.close(review.id, None, "ana", "person")  # "no text covers it"
    result = run(store, "2027-01-12")
    assert result["recorded"] == ["new_logo.png"] and not result["stale"]
    assert "a person confirmed no text covers it" in slack.posts[-1]["blocks"][0]["text"]["text"]


def test_the_approved_logo_is_held_to_the_same_rules(store, tmp_path: Path) -> None:
    from aeops.config import load_config
    from aeops.store.ledger import Ledger
    from aeops.storefront.logo_rotation import approved_logo_problems

    _, url, _, _ = store
    jpeg = png(tmp_path / "approved.jpg", fmt="JPEG")
    config = load_config({"database_url": url, "stores": [{"name": "demo", "store_logo": str(jpeg)}]})
    [problem] = approved_logo_problems(Ledger(url), config.store("demo"), "run-1")
    assert problem.code == "LOGO-FORMAT" and "approved.jpg is JPEG, not PNG" in problem.message
    good = png(tmp_path / "approved.png")
    config = load_config({"database_url": url, "stores": [{"name": "demo", "store_logo": str(good)}]})
    assert approved_logo_problems(Ledger(url), config.store("demo"), "run-1") == []
