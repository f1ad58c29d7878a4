"""What aeops saw of a store's own page: its store-settings checks (``settings_checks``: Information Accuracy =
matched / tracked fields), its logo changes (``logo_changes``) and the LOGO-STALE reminders sent
(``logo_reminders``, once per store, quarter and kind)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from aeops.store.models import LogoChange, LogoReminder, SettingsCheck
from aeops.store.repos.base import Repository


class StorefrontRecords(Repository):
    """``ledger.storefront``: settings checks, logo changes and logo reminders, per store."""

    # ------------------------------------------------------------------------------------ settings checks
    def record_check(self, store: str, run_id: str | None, *, tracked: int, matched: int, accuracy: float | None,
                     detail: dict[str, Any]) -> None:
        """Record one store-settings check (Information Accuracy) and its detail."""
        with self._transaction() as s:
            s.add(SettingsCheck(store=store, run_id=run_id, tracked=tracked, matched=matched, accuracy=accuracy,
                                detail=detail))

    def recent_checks(self, store: str, limit: int = 50) -> list[SettingsCheck]:
        """The store's newest checks that tracked any field, newest first."""
        with self._transaction() as s:
            return list(s.scalars(select(SettingsCheck).where(SettingsCheck.store == store, SettingsCheck.tracked > 0)
                                  .order_by(SettingsCheck.id.desc()).limit(limit)))

    # ---------------------------------------------------------------------------------------- logo changes
    def logo_changes(self, store: str) -> list[LogoChange]:
        """Every recorded logo change of the store (any source), newest first."""
        with self._transaction() as s:
            return list(s.scalars(select(LogoChange).where(LogoChange.store == store)
                                  .order_by(LogoChange.changed_at.desc(), LogoChange.id.desc())))

    def last_logo_change(self, store: str) -> LogoChange | None:
        """The newest recorded logo change of the store (any source)."""
        with self._transaction() as s:
            return s.scalars(select(LogoChange).where(LogoChange.store == store)
                             .order_by(LogoChange.changed_at.desc(), LogoChange.id.desc())).first()

    def logo_hashes(self, store: str) -> set[str]:
        """The content hashes of the store's recorded logos."""
        with self._transaction() as s:
            return {h for h in s.scalars(select(LogoChange.sha256).where(LogoChange.store == store)) if h}

    def record_logo_change(self, store: str, changed_at: datetime, sha256: str | None, file: str | None,
                           source: str = "aeops", *, once_per_content: bool = False) -> None:
        """Record a logo change (with ``once_per_content``: not when a change of the same content is recorded)."""
        with self._transaction() as s:
            if once_per_content and s.scalars(select(LogoChange.id).where(
                    LogoChange.store == store, LogoChange.sha256 == sha256)).first() is not None:
                return
            s.add(LogoChange(store=store, changed_at=changed_at, sha256=sha256, file=file, source=source))

    # ------------------------------------------------------------------------------------------- reminders
    def reminders_sent(self, store: str, quarter: str) -> set[str]:
        """The kinds of logo reminder already sent for the store in ``quarter`` (e.g. ``2026Q4``)."""
        with self._transaction() as s:
            return set(s.scalars(select(LogoReminder.kind).where(LogoReminder.store == store,
                                                                 LogoReminder.quarter == quarter)))

    def record_reminder(self, store: str, quarter: str, kind: str, as_of: date) -> None:
        """A reminder of ``kind`` was sent for the store and quarter (once each)."""
        with self._transaction() as s:
            if not s.scalars(select(LogoReminder.id).where(LogoReminder.store == store,
                                                           LogoReminder.quarter == quarter,
                                                           LogoReminder.kind == kind)).first():
                s.add(LogoReminder(store=store, quarter=quarter, kind=kind, sent_on=as_of))
