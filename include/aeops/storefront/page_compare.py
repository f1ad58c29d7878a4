"""Store settings as code: compare what the storefront shows on every device with ``aeops_config``.

Tracked fields (each only when configured for the store): ``name`` (``store_name``, exact after collapsing
whitespace), ``logo`` (``store_logo``: the perceptual hash of the approved file against the page's image, a
Hamming distance of at most :data:`MAX_HASH_DISTANCE` of 64 bits), ``banners`` (``store_banners``: the same
per banner, in order, and the same count) and ``response_time`` (``response_time_hours``: the shown time must
be at most the target). A field matches when every device shows it right; Information Accuracy is matched
fields / tracked fields (the platform weighs "store information accuracy" at 15% of the store rating). A field
no readable page carries (the banners and the response time are assumed page fields,
:mod:`aeops.marketplace.store_page`) "cannot be checked here": neither a match nor a difference, and left out of
the accuracy.

The logo rotation is due when no logo change was recorded since the quarter began (``logo_changes``, which
the storefront check fills once a new logo is seen there). It is verified when the page shows the approved
logo on every device and that logo differs from the one in force before the quarter.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from aeops.config import StoreConfig
from aeops.marketplace.store_page import DEVICES, StorePageView
from aeops.secrets import get_logger

log = get_logger(__name__)

MAX_HASH_DISTANCE = 6
"""pHash bits (of 64) two images may differ in and still be "the same" image (re-encoding, CDN resizing)."""
FIELD_LABELS = {"name": "store name", "logo": "logo", "banners": "banner", "response_time": "response time"}
SELLER_CENTER_URL = "https://csp.aliexpress.com/"
ImageFetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class ApprovedImage:
    """An approved logo or banner file: where it is, its content hash and perceptual hash."""

    location: str
    sha256: str
    phash: str


@dataclass
class FieldResult:
    field: str
    expected: str
    matches: bool
    seen: dict[str, str] = field(default_factory=dict)  # device -> what it shows (or why it cannot be read)
    checkable: bool = True  # False: no readable page carries the field ("cannot be checked here")

    def difference(self) -> str:
        """One line naming what differs, e.g. ``store name: mobile shows 'Old' (want 'New')``."""
        bad = {d: s for d, s in self.seen.items() if s != "ok"}
        where = "; ".join(f"{d} shows {s}" for d, s in bad.items())
        return f"{FIELD_LABELS[self.field]}: {where} (want {self.expected})"


@dataclass
class Comparison:
    store: str
    fields: list[FieldResult]
    page_errors: dict[str, str] = field(default_factory=dict)

    @property
    def checked(self) -> list[FieldResult]:
        return [f for f in self.fields if f.checkable]

    @property
    def tracked(self) -> int:
        return len(self.checked)

    @property
    def matched(self) -> int:
        return sum(1 for f in self.checked if f.matches)

    @property
    def accuracy(self) -> float | None:
        return None if not self.tracked else self.matched / self.tracked

    @property
    def differences(self) -> list[str]:
        return [f.difference() for f in self.checked if not f.matches]

    @property
    def not_checkable(self) -> list[str]:
        """Configured fields no page carries: "cannot be checked here" (labels, e.g. ``banner``)."""
        return [FIELD_LABELS[f.field] for f in self.fields if not f.checkable]

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "tracked": self.tracked, "matched": self.matched, "accuracy": self.accuracy,
                "differences": self.differences, "page_errors": self.page_errors,
                "not_checkable": self.not_checkable,
                "fields": {f.field: {"matches": f.matches, "expected": f.expected, "seen": f.seen,
                                     "checkable": f.checkable} for f in self.fields}}


# ------------------------------------------------------------------------------------------- images
def image_phash(data: bytes) -> str:
    """The 64-bit perceptual hash (imagehash.phash) of image bytes, as hex; ValueError when unreadable."""
    import io

    import imagehash
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            rgba = im.convert("RGBA")
            flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
            return str(imagehash.phash(flat))
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None


def hash_distance(a: str, b: str) -> int:
    import imagehash

    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))


def approved_image(location: str) -> ApprovedImage:
    """Read an approved file (path, file:// or any storage URL); ValueError with one line when unusable."""
    from aeops.locations import LocationError, read_bytes

    try:
        data = read_bytes(location, 20 * 1024 * 1024)
    except (LocationError, OSError) as exc:
        raise ValueError(f"approved file {location} cannot be read: {exc}") from None
    return ApprovedImage(location, hashlib.sha256(data).hexdigest(), image_phash(data))


def _file_name(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]


# ------------------------------------------------------------------------------------------- compare
def compare(store: StoreConfig, pages: dict[str, StorePageView], fetch_image: ImageFetcher,
            approved: dict[str, ApprovedImage | list[ApprovedImage]] | None = None) -> Comparison:
    """Compare the store's pages (device -> view) with its configured settings."""
    approved = approved if approved is not None else load_approved(store)
    result = Comparison(store=store.name, fields=[],
                        page_errors={d: v.error for d, v in pages.items() if v.error})
    hashes: dict[str, str] = {}

    def seen_image(url: str | None) -> tuple[str | None, str]:
        if not url:
            return None, "no image"
        if url not in hashes:
            try:
                hashes[url] = image_phash(fetch_image(url))
            except ValueError as exc:
                hashes[url] = f"!{exc}"
        value = hashes[url]
        return (None, f"an unreadable image ({value[1:]})") if value.startswith("!") else (value, url)

    def check(name: str, expected: str, judge: Callable[[StorePageView], str]) -> None:
        res = FieldResult(name, expected, True)
        readable = [pages[d] for d in DEVICES if pages.get(d) is not None and not pages[d].error]
        if readable and all(name in v.unreadable for v in readable):
            res.matches, res.checkable = False, False
            res.seen = dict.fromkeys(DEVICES, "cannot be checked here (the store page does not show it)")
            result.fields.append(res)
            return
        for device in DEVICES:
            view = pages.get(device)
            verdict = f"nothing (page unreadable: {view.error})" if view is None or view.error else judge(view)
            res.seen[device] = verdict
            res.matches = res.matches and verdict == "ok"
        result.fields.append(res)

    if store.store_name:
        want = store.store_name
        check("name", repr(want), lambda v: "ok" if " ".join((v.name or "").split()) == want else repr(v.name))
    logo = approved.get("logo")
    if isinstance(logo, ApprovedImage):
        def judge_logo(v: StorePageView) -> str:
            value, what = seen_image(v.logo_url)
            if value is None:
                return what
            distance = hash_distance(value, logo.phash)
            return "ok" if distance <= MAX_HASH_DISTANCE else f"another logo ({distance} of 64 pHash bits differ)"
        check("logo", _file_name(logo.location), judge_logo)
    elif isinstance(logo, str):  # the approved file itself is unusable
        check("logo", logo, lambda v: "a logo aeops cannot compare (the approved file is unusable)")
    banners = approved.get("banners")
    if isinstance(banners, list) and (banners or store.store_banners):
        def judge_banners(v: StorePageView) -> str:
            if len(v.banner_urls) != len(banners):
                return f"{len(v.banner_urls)} banner(s) instead of {len(banners)}"
            for n, (url, want) in enumerate(zip(v.banner_urls, banners, strict=True), 1):
                value, what = seen_image(url)
                if value is None:
                    return f"banner {n}: {what}"
                if hash_distance(value, want.phash) > MAX_HASH_DISTANCE:
                    return f"banner {n}: another image"
            return "ok"
        check("banners", ", ".join(_file_name(b.location) for b in banners), judge_banners)
    if store.response_time_hours is not None:
        target = store.response_time_hours

        def judge_time(v: StorePageView) -> str:
            if v.response_time_hours is None:
                return "no response time"
            return "ok" if v.response_time_hours <= target else f"{v.response_time_hours:g} h"
        check("response_time", f"at most {target:g} h", judge_time)
    return result


def load_approved(store: StoreConfig) -> dict[str, Any]:
    """The approved logo and banners of ``store`` (an unusable file is kept as its error text)."""
    approved: dict[str, Any] = {}
    if store.store_logo:
        try:
            approved["logo"] = approved_image(store.store_logo)
        except ValueError as exc:
            approved["logo"] = str(exc)
            log.warning("%s: %s", store.name, exc)
    if store.store_banners:
        approved["banners"] = [approved_image(b) for b in store.store_banners]
    return approved


# ------------------------------------------------------------------------------------------- logo rotation
@dataclass(frozen=True)
class RotationStatus:
    due: bool
    quarter: str
    last_change: date | None
    previous_sha256: str | None  # the logo in force before this quarter (None: no history)


def rotation_verified(status: RotationStatus, approved: ApprovedImage | None, logo_field: FieldResult | None
                      ) -> list[str]:
    """What still stands between the storefront and a verified rotation (empty: verified)."""
    problems: list[str] = []
    if approved is None:
        return ["no usable store_logo is configured in aeops_config: put the new logo file there"]
    if status.previous_sha256 and approved.sha256 == status.previous_sha256:
        problems.append(f"store_logo in aeops_config ({_file_name(approved.location)}) is still the logo used "
                        f"before {status.quarter}: set the new logo file there")
    if logo_field is None or not logo_field.matches:
        problems.append(logo_field.difference() if logo_field else "the storefront's logo could not be compared")
    return problems
