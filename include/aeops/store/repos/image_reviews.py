"""The image detectors' results per store and image content (``image_reviews``): each content is analysed once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from aeops.store.models import ImageReview
from aeops.store.repos.base import Repository


class ImageReviews(Repository):
    """``ledger.image_reviews``: the detector cache, by store and the image's SHA-256."""

    def cached(self, store: str, sha: str, version: int) -> dict[str, Any] | None:
        """The stored result for this content (None: never analysed, or by another detector version)."""
        with self._transaction() as s:
            row = s.scalars(select(ImageReview).where(ImageReview.store == store, ImageReview.sha256 == sha)).first()
            if row is None or (row.result or {}).get("version") != version:
                return None
            return dict(row.result)

    def remember(self, store: str, sha: str, source: str, result: dict[str, Any]) -> None:
        """Remember the detectors' result for an image content (by SHA-256) of ``store``."""
        with self._transaction() as s:
            row = s.scalars(select(ImageReview).where(ImageReview.store == store, ImageReview.sha256 == sha)).first()
            if row is None:
                s.add(ImageReview(store=store, sha256=sha, source=source, result=result))
            else:
                row.result, row.source, row.checked_at = result, source, datetime.now(UTC)

    def analysed(self, store: str, sha: str, source: str, version: int,
                 analyse: Callable[[], dict[str, Any]]) -> tuple[dict[str, Any], bool]:
        """The cached result, or ``analyse()`` stored; returns (result, whether it was analysed now)."""
        result = self.cached(store, sha, version)
        if result is not None:
            return result, False
        result = analyse()
        self.remember(store, sha, source, result)
        return result, True
