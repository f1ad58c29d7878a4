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
from aeops.findings import Text
from aeops.i18n import N_, translator
from aeops.locations import LocationError, read_bytes
from aeops.marketplace.store_page import DEVICES, StorePageView
from aeops.rules.images import ImageProblem, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

MAX_HASH_DISTANCE = 6
"""pHash bits (of 64) two images may differ in and still be "the same" image (re-encoding, CDN resizing)."""
FIELD_LABELS = {"name": N_("store name"), "logo": N_("logo"), "banners": N_("banner"),
                "response_time": N_("response time")}
DEVICE_LABELS = {"desktop": N_("desktop"), "mobile": N_("mobile"), "anonymous": N_("anonymous")}
# What a device shows instead of the wanted value, and what is wanted (each a message with its values).
DIFFERENCE = N_("{field}: {where} (want {expected})")
SHOWS = N_("{device} shows {what}")
NO_IMAGE = N_("no image")
UNREADABLE_IMAGE = N_("an unreadable image ({error})")
PAGE_UNREADABLE = N_("nothing (page unreadable: {error})")
OTHER_LOGO = N_("another logo ({bits} of 64 pHash bits differ)")
UNCOMPARABLE_LOGO = N_("a logo aeops cannot compare (the approved file is unusable)")
BANNER_COUNT = N_("{shown} banner(s) instead of {wanted}")
BANNER_IS = N_("banner {n}: {what}")
OTHER_IMAGE = N_("another image")
NO_RESPONSE_TIME = N_("no response time")
HOURS = N_("{hours} h")
AT_MOST_HOURS = N_("at most {hours} h")
ROTATION_NO_LOGO = N_("no usable store_logo is configured in aeops_config: put the new logo file there")
ROTATION_SAME_LOGO = N_("store_logo in aeops_config ({file}) is still the logo used before {quarter}: set the new "
                        "logo file there")
ROTATION_NOT_COMPARED = N_("the storefront's logo could not be compared")
Shown = str | Text
"""What a page shows or what is wanted: data as it is (a name, a file), or a message (``Text``)."""
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
    """One tracked store field: what the settings want and what each device's page shows."""
    field: str
    expected: Shown
    matches: bool
    seen: dict[str, Shown] = field(default_factory=dict)  # device -> "ok", or what it shows (or why unreadable)
    checkable: bool = True  # False: no readable page carries the field ("cannot be checked here")

    def text(self) -> Text:
        """What differs, e.g. ``store name: mobile shows 'Old' (want 'New')``, as a message in no language yet."""
        where = [Text(SHOWS, {"device": Text(DEVICE_LABELS.get(d, d)), "what": s})
                 for d, s in self.seen.items() if s != "ok"]
        return Text(DIFFERENCE, {"field": Text(FIELD_LABELS[self.field]), "where": where, "expected": self.expected})

    def difference(self, lang: str | None = "en") -> str:
        """One line naming what differs, in ``lang``."""
        return self.text().render(translator(lang))


@dataclass
class Comparison:
    """Every tracked field of a store compared with its pages, with the pages that could not be read."""
    store: str
    fields: list[FieldResult]
    page_errors: dict[str, str] = field(default_factory=dict)

    @property
    def checked(self) -> list[FieldResult]:
        """The fields that could be checked on some readable page."""
        return [f for f in self.fields if f.checkable]

    @property
    def tracked(self) -> int:
        """How many fields could be checked."""
        return len(self.checked)

    @property
    def matched(self) -> int:
        """How many checked fields match on every device."""
        return sum(1 for f in self.checked if f.matches)

    @property
    def accuracy(self) -> float | None:
        """Information Accuracy: the share of checked fields that match (None: none could be checked)."""
        return None if not self.tracked else self.matched / self.tracked

    @property
    def differences(self) -> list[str]:
        """What differs, in English (for the logs and the stored check)."""
        return self.differences_in("en")

    def differences_in(self, lang: str | None) -> list[str]:
        """What differs, one line per field that could be checked, in ``lang`` (what a person reads)."""
        return [f.difference(lang) for f in self.checked if not f.matches]

    def failing_fields(self, lang: str | None) -> list[str]:
        """The names of the fields that differ, in ``lang``."""
        _ = translator(lang)
        return [_(FIELD_LABELS[f.field]) for f in self.checked if not f.matches]

    @property
    def not_checkable(self) -> list[str]:
        """Configured fields no page carries: "cannot be checked here" (English labels, e.g. ``banner``)."""
        return [FIELD_LABELS[f.field] for f in self.fields if not f.checkable]

    def not_checkable_in(self, lang: str | None) -> list[str]:
        """:attr:`not_checkable` in ``lang``."""
        _ = translator(lang)
        return [_(label) for label in self.not_checkable]

    def to_dict(self) -> dict[str, Any]:
        """The comparison as JSON (recorded with the check)."""
        return {"store": self.store, "tracked": self.tracked, "matched": self.matched, "accuracy": self.accuracy,
                "differences": self.differences, "page_errors": self.page_errors,
                "not_checkable": self.not_checkable,
                "fields": {f.field: {"matches": f.matches, "expected": _english(f.expected),
                                     "seen": {d: _english(v) for d, v in f.seen.items()}, "checkable": f.checkable}
                           for f in self.fields}}


def _english(value: Shown) -> str:
    return value.render() if isinstance(value, Text) else value


# ------------------------------------------------------------------------------------------- images
def image_phash(data: bytes) -> str:
    """The 64-bit perceptual hash (imagehash.phash) of image bytes, as hex; ValueError when unreadable or a
    decompression bomb (opened with the guard)."""

    import imagehash  # lazy: imagehash loads numpy and scipy
    from PIL import Image, UnidentifiedImageError  # lazy: Pillow is heavy, loaded only to read an image

    try:
        with open_image_guarded(data) as im:
            rgba = im.convert("RGBA")
            flat = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
            return str(imagehash.phash(flat))
    except (ImageProblem, UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"not a readable image ({type(exc).__name__})") from None


def hash_distance(a: str, b: str) -> int:
    """How many bits two perceptual hashes (hex) differ by."""
    import imagehash  # lazy: imagehash loads numpy and scipy

    return int(imagehash.hex_to_hash(a) - imagehash.hex_to_hash(b))


def approved_image(location: str) -> ApprovedImage:
    """Read an approved file (path, file:// or any storage URL); ValueError with one line when unusable."""

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

    def seen_image(url: str | None) -> tuple[str | None, Shown]:
        if not url:
            return None, Text(NO_IMAGE)
        if url not in hashes:
            try:
                hashes[url] = image_phash(fetch_image(url))
            except ValueError as exc:
                hashes[url] = f"!{exc}"
        value = hashes[url]
        return (None, Text(UNREADABLE_IMAGE, {"error": value[1:]})) if value.startswith("!") else (value, url)

    def check(name: str, expected: Shown, judge: Callable[[StorePageView], Shown]) -> None:
        res = FieldResult(name, expected, True)
        readable = [pages[d] for d in DEVICES if pages.get(d) is not None and not pages[d].error]
        if readable and all(name in v.unreadable for v in readable):
            res.matches, res.checkable = False, False
            res.seen = dict.fromkeys(DEVICES, "cannot be checked here (the store page does not show it)")
            result.fields.append(res)
            return
        for device in DEVICES:
            view = pages.get(device)
            unread = Text(PAGE_UNREADABLE, {"error": view.error if view else "-"})
            verdict = unread if view is None or view.error else judge(view)
            res.seen[device] = verdict
            res.matches = res.matches and verdict == "ok"
        result.fields.append(res)

    if store.store_name:
        want = store.store_name
        check("name", repr(want), lambda v: "ok" if " ".join((v.name or "").split()) == want else repr(v.name))
    logo = approved.get("logo")
    if isinstance(logo, ApprovedImage):
        def judge_logo(v: StorePageView) -> Shown:
            value, what = seen_image(v.logo_url)
            if value is None:
                return what
            distance = hash_distance(value, logo.phash)
            return "ok" if distance <= MAX_HASH_DISTANCE else Text(OTHER_LOGO, {"bits": distance})
        check("logo", _file_name(logo.location), judge_logo)
    elif isinstance(logo, str):  # the approved file itself is unusable
        check("logo", logo, lambda v: Text(UNCOMPARABLE_LOGO))
    banners = approved.get("banners")
    if isinstance(banners, list) and (banners or store.store_banners):
        def judge_banners(v: StorePageView) -> Shown:
            if len(v.banner_urls) != len(banners):
                return Text(BANNER_COUNT, {"shown": len(v.banner_urls), "wanted": len(banners)})
            for n, (url, want) in enumerate(zip(v.banner_urls, banners, strict=True), 1):
                value, what = seen_image(url)
                if value is None:
                    return Text(BANNER_IS, {"n": n, "what": what})
                if hash_distance(value, want.phash) > MAX_HASH_DISTANCE:
                    return Text(BANNER_IS, {"n": n, "what": Text(OTHER_IMAGE)})
            return "ok"
        check("banners", ", ".join(_file_name(b.location) for b in banners), judge_banners)
    if store.response_time_hours is not None:
        target = store.response_time_hours

        def judge_time(v: StorePageView) -> Shown:
            if v.response_time_hours is None:
                return Text(NO_RESPONSE_TIME)
            return "ok" if v.response_time_hours <= target else Text(HOURS, {"hours": f"{v.response_time_hours:g}"})
        check("response_time", Text(AT_MOST_HOURS, {"hours": f"{target:g}"}), judge_time)
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
    """Whether the store's logo is due for its quarterly change, with its last change."""
    due: bool
    quarter: str
    last_change: date | None
    previous_sha256: str | None  # the logo in force before this quarter (None: no history)


def rotation_verified(status: RotationStatus, approved: ApprovedImage | None, logo_field: FieldResult | None,
                      lang: str | None = "en") -> list[str]:
    """What still stands between the storefront and a verified rotation (empty: verified), in ``lang``."""
    _ = translator(lang)
    problems: list[str] = []
    if approved is None:
        return [_(ROTATION_NO_LOGO)]
    if status.previous_sha256 and approved.sha256 == status.previous_sha256:
        problems.append(_(ROTATION_SAME_LOGO).format(file=_file_name(approved.location), quarter=status.quarter))
    if logo_field is None or not logo_field.matches:
        problems.append(logo_field.difference(lang) if logo_field else _(ROTATION_NOT_COMPARED))
    return problems
