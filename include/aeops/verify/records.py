"""The verification's records in the aeops DB: change statuses, ``verify_results`` rows, ``site_strikes``.

Change statuses after verification: ``confirmed`` -> ``verified`` (seen everywhere it was checked) or
``verify_failed`` (still not seen at the deadline, after one re-push). ``verify_results`` keeps one row per
product, check, device, site, field and SKU: ``passed`` is False while the problem is seen and becomes
True when a later pass shows the product right (it was slow, not wrong); ``attempt`` 2 means the problem
was seen after the re-push.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import func, select

from aeops.catalog.ledger import Ledger
from aeops.catalog.status import VERIFIABLE, ChangeStatus
from aeops.store.models import Change, SiteStrike, VerifyResult, utcnow
from aeops.verify.checks import Problem


def verifiable_changes(ledger: Ledger, sync_run_id: int) -> list[Change]:
    """The run's changes that reached the marketplace (confirmed, or already verified / failed verification)."""
    with ledger.session() as s:
        return list(s.scalars(select(Change).where(Change.sync_run_id == sync_run_id,
                                                   Change.status.in_(VERIFIABLE)).order_by(Change.product_id)))


def previously_failed(ledger: Ledger, store: str, sync_run_id: int, product_ids: Iterable[int]) -> set[int]:
    """Products of ``product_ids`` that failed a push or a verification in an earlier run of the store."""
    ids = list(product_ids)
    found: set[int] = set()
    with ledger.session() as s:
        for i in range(0, len(ids), 500):
            found |= set(s.scalars(select(Change.product_id).where(
                Change.store == store, Change.sync_run_id != sync_run_id,
                Change.status.in_((ChangeStatus.FAILED, ChangeStatus.VERIFY_FAILED)),
                Change.product_id.in_(ids[i : i + 500]))))
    return found


def _key(row_or_problem) -> tuple:
    return (row_or_problem.product_id, row_or_problem.check, row_or_problem.device, row_or_problem.site,
            row_or_problem.field, row_or_problem.sku_code)


def save_pass(ledger: Ledger, sync_run_id: int, store: str, failing: Mapping[int, list[Problem]],
              passed: Iterable[int], attempt_of: Mapping[int, int], at: datetime | None = None) -> None:
    """Record one pass: failing products' problems (upserted), earlier problems not seen again -> passed."""
    at = at or utcnow()
    passed_ids = set(passed)
    touched = set(failing) | passed_ids
    if not touched:
        return
    with ledger.session() as s:
        existing: dict[tuple, VerifyResult] = {}
        ids = sorted(touched)
        for i in range(0, len(ids), 500):
            for row in s.scalars(select(VerifyResult).where(VerifyResult.sync_run_id == sync_run_id,
                                                            VerifyResult.product_id.in_(ids[i : i + 500]))):
                existing[_key(row)] = row
        seen_now: set[tuple] = set()
        for pid, problems in failing.items():
            for p in problems:
                key = _key(p)
                if key in seen_now:
                    continue
                seen_now.add(key)
                row = existing.get(key)
                if row is None:
                    row = VerifyResult(sync_run_id=sync_run_id, store=store, product_id=pid, check=p.check,
                                       device=p.device, site=p.site, field=p.field, sku_code=p.sku_code)
                    s.add(row)
                row.expected, row.seen, row.passed = p.expected, p.seen, False
                row.attempt, row.checked_at = attempt_of.get(pid, 1), at
        for key, row in existing.items():
            if key not in seen_now and not row.passed:
                row.passed, row.checked_at = True, at


def record_strikes(ledger: Ledger, store: str, sync_run_id: int, sites: Mapping[str, list[int]]) -> list[SiteStrike]:
    """One strike per language site that disagreed in this run (idempotent per run and site)."""
    added: list[SiteStrike] = []
    with ledger.session() as s:
        have = set(s.scalars(select(SiteStrike.site).where(SiteStrike.store == store,
                                                           SiteStrike.sync_run_id == sync_run_id)))
        for site, products in sorted(sites.items()):
            if site in have or not products:
                continue
            ids = sorted(products)
            shown = ", ".join(str(p) for p in ids[:20]) + (f" and {len(ids) - 20} more" if len(ids) > 20 else "")
            strike = SiteStrike(store=store, sync_run_id=sync_run_id, product_id=ids[0], site=site,
                                detail=f"site {site} disagreed with the other language sites on price or stock "
                                       f"of {len(ids)} product(s): {shown}")
            s.add(strike)
            added.append(strike)
    return added


def strike_count(ledger: Ledger, store: str) -> int:
    with ledger.session() as s:
        return int(s.scalar(select(func.count()).select_from(SiteStrike).where(SiteStrike.store == store)) or 0)


def page_failures(ledger: Ledger, sync_run_id: int) -> set[int]:
    """Products of the run with a failed check on a page (a device or a site named) in an earlier pass."""
    with ledger.session() as s:
        return set(s.scalars(select(VerifyResult.product_id).where(
            VerifyResult.sync_run_id == sync_run_id, VerifyResult.passed.is_(False),
            VerifyResult.device.is_not(None) | VerifyResult.site.is_not(None))))
