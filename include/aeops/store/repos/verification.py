"""Verification's records: ``verify_results`` and ``site_strikes``.

``verify_results`` keeps one row per product, check, device, site, field and SKU: ``passed`` is False while the
problem is seen and becomes True when a later pass shows the product right (it was slow, not wrong); ``attempt``
2 means the problem was seen after the re-push. A strike is one language site that disagreed in a run (three
restrict the store's traffic). The changes' own statuses after verification (``verified``, ``verify_failed``) are
:mod:`aeops.store.repos.changes`'.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol

from sqlalchemy import func, select

from aeops.store.models import SiteStrike, VerifyResult, utcnow
from aeops.store.repos.base import Repository, chunks


class ProblemLike(Protocol):
    """One problem a verification pass saw (:class:`aeops.verify.checks.Problem` is one)."""

    product_id: int
    check: str
    device: str | None
    site: str | None
    field: str | None
    sku_code: str | None
    expected: str | None
    seen: str | None


def _key(row_or_problem: VerifyResult | ProblemLike) -> tuple:
    return (row_or_problem.product_id, row_or_problem.check, row_or_problem.device, row_or_problem.site,
            row_or_problem.field, row_or_problem.sku_code)


class Verification(Repository):
    """``ledger.verification``: what verification saw per run, and the store's site strikes."""

    def save_pass(self, sync_run_id: int, store: str, failing: Mapping[int, list[ProblemLike]],
                  passed: Iterable[int], attempt_of: Mapping[int, int], at: datetime | None = None) -> None:
        """Record one pass: failing products' problems (upserted), earlier problems not seen again -> passed."""
        at = at or utcnow()
        passed_ids = set(passed)
        touched = set(failing) | passed_ids
        if not touched:
            return
        with self._transaction() as s:
            existing: dict[tuple, VerifyResult] = {}
            for chunk in chunks(sorted(touched)):
                for row in s.scalars(select(VerifyResult).where(VerifyResult.sync_run_id == sync_run_id,
                                                                VerifyResult.product_id.in_(chunk))):
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

    def results(self, sync_run_id: int, *, only_failed: bool = False) -> list[VerifyResult]:
        """Verification's problems recorded for a run (``passed`` once a later pass showed the product right)."""
        with self._transaction() as s:
            query = select(VerifyResult).where(VerifyResult.sync_run_id == sync_run_id)
            if only_failed:
                query = query.where(VerifyResult.passed.is_(False))
            return list(s.scalars(query.order_by(VerifyResult.product_id, VerifyResult.check, VerifyResult.id)))

    def page_failures(self, sync_run_id: int) -> set[int]:
        """Products of the run with a failed check on a page (a device or a site named) in an earlier pass."""
        with self._transaction() as s:
            return set(s.scalars(select(VerifyResult.product_id).where(
                VerifyResult.sync_run_id == sync_run_id, VerifyResult.passed.is_(False),
                VerifyResult.device.is_not(None) | VerifyResult.site.is_not(None))))

    # ------------------------------------------------------------------------------------------ strikes
    def record_strikes(self, store: str, sync_run_id: int, sites: Mapping[str, list[int]]) -> list[SiteStrike]:
        """One strike per language site that disagreed in this run (idempotent per run and site)."""
        added: list[SiteStrike] = []
        with self._transaction() as s:
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

    def strike_count(self, store: str) -> int:
        """How many site strikes ``store`` has on record."""
        with self._transaction() as s:
            return int(s.scalar(select(func.count()).select_from(SiteStrike).where(SiteStrike.store == store)) or 0)

    def strikes(self, store: str, last: int = 5) -> tuple[int, list[SiteStrike]]:
        """How many strikes the store has, and its ``last`` newest, newest first."""
        with self._transaction() as s:
            total = s.scalar(select(func.count()).select_from(SiteStrike).where(SiteStrike.store == store)) or 0
            newest = list(s.scalars(select(SiteStrike).where(SiteStrike.store == store)
                                    .order_by(SiteStrike.id.desc()).limit(last)))
        return int(total), newest
