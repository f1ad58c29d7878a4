"""Is the main image the platform shows the export's image? Decided without ever comparing a URL with a name.

Every new main image goes through the platform's review (hours, and a refusal takes the product off sale), so
aeops plans a main-image edit only when the image really differs:

- after aeops pushed an image it records, in the product state, the photobank URL it pushed
  (``main_image_pushed_url``), the source (``main_image``) and the SHA-256 of the source image's bytes
  (``main_image_sha256``); while the platform still shows that URL (``main_image_url``, compared by the
  photobank id in it), the image differs exactly when the source's bytes changed;
- without a record (a first run, a state emptied, an image changed in the seller center) the image at the
  platform's URL is fetched (only from the connection's host or the platform's image hosts, never any other
  URL) and compared with the source image by its perceptual hash (pHash, :mod:`imagehash`: the shapes) and an
  8x8 colour thumbnail (pHash alone is blind to colour: the red and the blue variant of one shirt hash
  alike): a re-encoded or resized copy of the same picture is the same image. The match is recorded like a
  push, so the next run needs no fetch.

:class:`ImageSources` reads the export's images (auto-fixed rows use their staged, flattened copy: that is
what would be uploaded); :func:`resolve_main_images` fills in the record for products whose platform image
matches.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aeops.rules.images import ImageProblem, fetch_image_bytes, image_client, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

PLATFORM_IMAGE_HOSTS = ("*.alicdn.com", "*.aliexpress-media.com")
"""Where the platform serves photobank images (``ae01.alicdn.com/kf/...``, ``ae-pic-a1.aliexpress-media.com``);
the connection's own host is allowed too (the simulator serves its photobank there)."""
PHASH_MAX_DISTANCE = 6
"""Hamming distance (of 64 bits) up to which two pHashes are the same picture: a re-encoded JPEG or a resized
copy stays within a few bits; different product photos are usually 20+ bits apart (two simple studio shots on
white can come within 6: the colour check below tells those apart)."""
COLOUR_MAX_DIFFERENCE = 4.0
"""Mean absolute difference (0-255 per channel) of two 8x8 colour thumbnails up to which the colours are the same
(re-encoding moves them by under 1; a recoloured variant by tens)."""
_IMAGE_ID = re.compile(r"/kf/([A-Za-z0-9]+?)(?=[/._]|$)")
MAX_IMAGE_BYTES = 8 * 1024 * 1024
IMAGE_WORKERS = 8  # concurrent image fetches and hashes of a first-run comparison


def sha256_hex(content: bytes) -> str:
    """The SHA-256 of ``content`` as hex."""
    return hashlib.sha256(content).hexdigest()


def image_key(url: str | None) -> str:
    """A photobank URL's identity: its ``/kf/<id>`` segment, whatever host, slug or size suffix follows
    (``https://ae01.alicdn.com/kf/S23b...T.jpeg`` and ``.../kf/S23b...T/slug.jpg_640x640.jpg`` are one image)."""
    if not url:
        return ""
    match = _IMAGE_ID.search(urlsplit(str(url)).path)
    return match.group(1) if match else str(url)


def same_image_url(a: str | None, b: str | None) -> bool:
    """Whether two image URLs name the same stored image (both set, same key)."""
    return bool(a) and bool(b) and image_key(a) == image_key(b)


@dataclass(frozen=True)
class Fingerprint:
    """What two images are compared by: the pHash and an 8x8 colour thumbnail."""

    hash: Any
    colours: Any

    def same_picture(self, other: Fingerprint) -> bool:
        """Whether ``other`` looks like the same picture (perceptual hash and mean colours close enough)."""
        colour = float(abs(self.colours - other.colours).mean())
        return bool(int(self.hash - other.hash) <= PHASH_MAX_DISTANCE and colour <= COLOUR_MAX_DIFFERENCE)


def fingerprint(content: bytes) -> Fingerprint:
    """An image's :class:`Fingerprint` (transparency flattened onto white first); opened with the
    decompression-bomb guard (``ImageProblem`` for a bomb or a non-image)."""
    import imagehash  # lazy: imagehash loads numpy and scipy
    import numpy as np  # lazy: numpy is heavy, loaded only to analyse an image
    from PIL import Image  # lazy: Pillow is heavy, loaded only to read an image

    with open_image_guarded(content) as img:
        img.draft("RGB", (256, 256))
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        rgb = Image.alpha_composite(white, rgba).convert("RGB")
        thumb = np.asarray(rgb.resize((8, 8), Image.Resampling.BOX), dtype=np.int16)
        return Fingerprint(imagehash.phash(rgb), thumb)


def allowed_hosts(base_url: str | None, extra: Iterable[str] = ()) -> list[str]:
    """The hosts platform images may be fetched from: the platform's image hosts and the connection's host."""
    hosts = list(PLATFORM_IMAGE_HOSTS) + [h for h in extra if h]
    parts = urlsplit(base_url or "")
    if parts.hostname:
        hosts.append(f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname)
    return hosts


@dataclass
class ImageSources:
    """The export's main images as aeops would upload them: bytes, SHA-256 and pHash, each read once.

    ``staged`` maps a source to its auto-fixed copy (validation flattened a transparent PNG onto white);
    ``hosts`` are the hosts an http(s) source may be downloaded from (``image_url_hosts``).
    """

    images_dir: str | None = None
    staged: Mapping[str, str] = field(default_factory=dict)
    hosts: list[str] = field(default_factory=list)
    _bytes: dict[str, bytes | None] = field(default_factory=dict, repr=False)
    _prints: dict[str, Fingerprint | None] = field(default_factory=dict, repr=False)

    def path_of(self, source: str) -> str:
        """What is uploaded for ``source``: its staged copy, else the source itself."""
        return self.staged.get(source, source)

    def content(self, source: str) -> bytes | None:
        """The bytes of an export's main image (cached; None when it cannot be read, logged)."""
        if source not in self._bytes:
            try:
                staged = self.staged.get(source)  # our own copy, in the run's staging folder
                self._bytes[source] = fetch_image_bytes(
                    staged or source, images_dir=str(Path(staged).parent) if staged else self.images_dir,
                    hosts=self.hosts, cap_bytes=MAX_IMAGE_BYTES)
            except ImageProblem as problem:
                log.warning("main image %s cannot be read: %s", source, problem.text(source))
                self._bytes[source] = None
        return self._bytes[source]

    def sha256(self, source: str) -> str | None:
        """The SHA-256 of an export's main image, or None when it cannot be read."""
        content = self.content(source)
        return None if content is None else sha256_hex(content)

    def fingerprint(self, source: str) -> Fingerprint | None:
        """The fingerprint of an export's main image (cached; None when unreadable)."""
        if source not in self._prints:
            content = self.content(source)
            try:
                self._prints[source] = None if content is None else fingerprint(content)
            except Exception as exc:  # noqa: BLE001 - an unreadable image matches nothing
                log.warning("main image %s cannot be hashed: %s", source, exc)
                self._prints[source] = None
        return self._prints[source]


def add_source_digests(desired: dict[int, dict[str, Any]], sources: ImageSources) -> None:
    """Put each desired product's ``main_image_sha256`` (of the bytes that would be uploaded) into ``desired``."""
    for fields in desired.values():
        source = fields.get("main_image")
        if source:
            fields["main_image_sha256"] = sources.sha256(source)


class PlatformImages:
    """The platform's images, fetched once per photobank id (many products share one image) through one HTTP
    client that opens only ``hosts``."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts = hosts
        self._client: Any = None
        self._prints: dict[str, Fingerprint | None] = {}
        self._lock = threading.Lock()
        self.fetches = 0

    def fingerprint(self, url: str) -> Fingerprint | None:
        """The fingerprint of an image on the platform (fetched once per image key; None when unreadable)."""
        key = image_key(url)
        if key not in self._prints:
            with self._lock:
                if self._client is None:
                    self._client = image_client(self.hosts)
                self.fetches += 1
            try:
                self._prints[key] = fingerprint(fetch_image_bytes(url, hosts=self.hosts, cap_bytes=MAX_IMAGE_BYTES,
                                                                  client=self._client))
            except ImageProblem as problem:
                log.warning("the platform's main image %s cannot be fetched: %s", url, problem.text(url))
                self._prints[key] = None
            except Exception as exc:  # noqa: BLE001 - not an image
                log.warning("the platform's main image %s cannot be hashed: %s", url, exc)
                self._prints[key] = None
        return self._prints[key]

    def close(self) -> None:
        """Close the HTTP client used for platform images, if one was opened."""
        if self._client is not None:
            self._client.close()
            self._client = None


def platform_image_matches(url: str, source: str, sources: ImageSources, platform: PlatformImages) -> bool | None:
    """Whether the image at the platform's ``url`` is the picture of ``source`` (:meth:`Fingerprint.same_picture`);
    None when either image cannot be read (nothing is decided then)."""
    want = sources.fingerprint(source)
    if want is None:
        return None
    shown = platform.fingerprint(url)
    if shown is None:
        return None
    return want.same_picture(shown)


def resolve_main_images(desired: Mapping[int, dict[str, Any]], current: Mapping[int, dict[str, Any] | None],
                        sources: ImageSources, hosts: list[str]) -> dict[str, list[int]]:
    """For products without a record of the image the platform shows, compare that image with the export's by
    pHash; a match records it in ``current`` (``main_image``, ``main_image_sha256``): no edit is planned.

    Returns ``{"matched": [...], "differs": [...], "unchecked": [...]}``. Unchecked (an image could not be
    read) is left to the caller: the daily plan sends no image edit for it this run (a needless edit costs a
    review) and reports it.
    """
    outcome: dict[str, list[int]] = {"matched": [], "differs": [], "unchecked": []}
    platform = PlatformImages(hosts)
    try:
        _resolve(desired, current, sources, platform, outcome)
    finally:
        platform.close()
    return outcome


def _resolve(desired: Mapping[int, dict[str, Any]], current: Mapping[int, dict[str, Any] | None],
             sources: ImageSources, platform: PlatformImages, outcome: dict[str, list[int]]) -> None:
    todo: list[tuple[int, dict[str, Any], str]] = []
    for pid, want in desired.items():
        have = current.get(pid)
        source = want.get("main_image")
        if not have or not source or not have.get("main_image_url"):
            continue
        if have.get("main_image_sha256") and same_image_url(have.get("main_image_url"),
                                                            have.get("main_image_pushed_url")):
            continue  # the record stands: the platform still shows the image aeops pushed
        todo.append((pid, have, source))
    if not todo:
        return
    # Every distinct image is fetched and hashed once, IMAGE_WORKERS at a time (a first run of a large store
    # reads one image per product: latency-bound over the internet).
    with ThreadPoolExecutor(max_workers=IMAGE_WORKERS) as pool:
        list(pool.map(platform.fingerprint, list({image_key(h["main_image_url"]): h["main_image_url"]
                                                  for _, h, _ in todo}.values())))
        list(pool.map(sources.fingerprint, sorted({source for *_, source in todo})))
    for pid, have, source in todo:
        want = desired[pid]
        matched = platform_image_matches(have["main_image_url"], source, sources, platform)
        if matched:
            have["main_image"], have["main_image_sha256"] = source, want.get("main_image_sha256")
            have["main_image_pushed_url"] = have["main_image_url"]
            outcome["matched"].append(pid)
        else:
            have.pop("main_image_sha256", None)
            outcome["differs" if matched is False else "unchecked"].append(pid)
