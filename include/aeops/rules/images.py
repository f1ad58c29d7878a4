"""Main-image rules (Pillow): present, readable and fully decodable, JPEG/PNG/WebP, at most 3 MB, at least
800x800 (``ERR-207``), no real transparency, and for apparel a pure-white background.

Sources are local files (relative paths resolve against ``images_dir``) or http(s) URLs whose host is in
``config.image_url_hosts``; no other URL is fetched, and downloads are streamed with a size cap and a
timeout. Each distinct image is checked once, however many SKUs share it; :func:`check_images` then
attaches the image's findings to every row that uses it.

Speed: JPEGs are decoded with ``Image.draft()`` at 1/8 scale (the checks need no full resolution).
Truncation is still caught: the scaled decode consumes the whole entropy-coded stream and raises on a
short file, and a file that does not end with the JPEG end-of-image marker is decoded at full size
anyway. :func:`image_check_full_decode` is the full-resolution baseline for the benchmark.

Background thresholds (apparel): the outer 5% frame of a ~1/8-scale decode is sampled per edge; a pixel
is white when all channels are >= 250 (JPEG noise on a 255 background stays within a few levels, the
usual "studio grey" backdrops #F0F0F0-#F5F5F5 are 240-245); an edge is white when >= 98% of its pixels
are; the image passes when at least 3 of the 4 edges are white (a model or garment may cross one edge,
usually the bottom, while a grey backdrop colours every edge).
"""

from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from aeops.findings import Cause, Finding, Severity, Text, join, part
from aeops.i18n import N_
from aeops.secrets import get_logger

if TYPE_CHECKING:
    import httpx

    from aeops.config import AeopsConfig

log = get_logger(__name__)

__all__ = ["ImageProblem", "ImageReport", "check_images", "fetch_image_bytes", "image_client",
           "image_check_full_decode", "image_check_one", "open_image_guarded"]

ACCEPTED_FORMATS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
"""Pillow format -> name the platform accepts (MPO is a JPEG with extra frames, as phones write them)."""
OPEN_FORMATS = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")
"""Formats Pillow may even try (others give "not an image"); JPEG also opens MPO files."""
MAX_FILE_BYTES = 3 * 1024 * 1024
MIN_SIDE = 800
MAX_PIXELS = 40_000_000
"""Decompression-bomb guard: ~6300x6300; far above any sensible main image (the platform's own limit is
lower), far below what would exhaust a worker's memory (RGBA at 40 MP is 160 MB)."""
HARD_READ_CAP = 64 * 1024 * 1024
"""Local files above this are not read at all (IMG-TOO-BIG only)."""
WHITE_LEVEL = 250
WHITE_SHARE = 0.98
BORDER_FRACTION = 0.05
WHITE_EDGES_REQUIRED = 3
ANALYSIS_SIDE = 256
"""Non-JPEG images are box-reduced to about this many pixels on the short side for the background check."""
DOWNLOAD_TIMEOUT_S = 10.0

_OPEN_LOCK = threading.Lock()
"""``warnings.catch_warnings`` is not thread-safe; opening (header parsing only) is serialised under it."""

# Never loosen a stricter limit someone else set; tighten Pillow's 89 MP default for this process.
if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_PIXELS:
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True, slots=True)
class ImageReport:
    """The result of checking one image.

    ``findings`` apply to every row using the image; ``background`` (IMG-BACKGROUND) only to apparel rows.
    Findings carry ``file`` and ``field='main_image'`` but no row: :func:`check_images` adds those.
    """

    source: str
    format: str | None = None
    width: int | None = None
    height: int | None = None
    size_bytes: int | None = None
    transparent: bool = False
    min_alpha: int | None = None
    edge_white_shares: tuple[float, ...] | None = None
    findings: tuple[Finding, ...] = field(default_factory=tuple)
    background: Finding | None = None

    @property
    def codes(self) -> list[str]:
        """All codes found (background included), for logs and benchmarks."""
        return [f.code for f in self.findings] + ([self.background.code] if self.background else [])


# Each cause of an image finding: what is wrong with image {source}, and what to do about that cause.
BOMB = Cause("IMG-UNREADABLE", N_("image {source} is refused as a decompression bomb ({error})"),
             N_("export the image at a normal size"))
NOT_AN_IMAGE = Cause("IMG-UNREADABLE", N_("image {source} is not an image Pillow can identify (wrong file, or an "
                                          "unsupported format)"), N_("save it as JPEG, PNG or WebP"))
NOT_OPENED = Cause("IMG-UNREADABLE", N_("image {source} cannot be opened ({error})"),
                   N_("re-export it as JPEG, PNG or WebP"))
TOO_MANY_PIXELS = Cause("IMG-UNREADABLE", N_("image {source} is {width}x{height} pixels, more than the {limit} pixel "
                                             "decompression-bomb limit"), N_("export it at a normal size"))
TRUNCATED = Cause("IMG-UNREADABLE", N_("image {source} is truncated or corrupt ({error})"),
                  N_("re-export or re-upload the full file"))
WRONG_FORMAT = Cause("IMG-UNREADABLE", N_("image {source} is {format}, not an accepted format (JPEG, PNG, WebP)"),
                     N_("convert it to JPEG"))
NOT_ANALYSED = Cause("IMG-UNREADABLE", N_("image {source} could not be analysed ({error})"),
                     N_("re-save it as an 8-bit RGB JPEG or PNG"))
NOT_READ = Cause("IMG-UNREADABLE", N_("image {source} cannot be read ({error})"),
                 N_("check that the file can be read and is complete"))
NOT_DOWNLOADED = Cause("IMG-UNREADABLE", N_("image {source} could not be downloaded ({error})"),
                       N_("check the URL in the export and that its host answers"))
HTTP_ERROR = Cause("IMG-UNREADABLE", N_("image {source} could not be downloaded (HTTP {status})"),
                   N_("check the URL in the export and that its host answers"))
BAD_SCHEME = Cause("IMG-UNREADABLE", N_("image {source} uses {scheme}://; only http(s) URLs from image_url_hosts or "
                                        "local files are checked"), N_("use an http(s) URL or a local file"))
HOST_REFUSED = Cause("IMG-UNREADABLE", N_("image {source} is on host {host}, which is not in the allow-list "
                                          "image_url_hosts ({hosts}); not fetched"),
                     N_("add the host or use a local file"))
REDIRECT_REFUSED = Cause("IMG-UNREADABLE", N_("image {source} redirects to {host}, which is not in image_url_hosts "
                                              "({hosts}); not fetched"),
                         N_("add the host to image_url_hosts or use a local file"))
TOO_BIG = Cause("IMG-TOO-BIG", N_("image {source} is {size} MB, more than the {limit} MB the platform accepts"),
                N_("re-save it smaller (e.g. JPEG quality 85)"))
TOO_BIG_UNREAD = Cause("IMG-TOO-BIG", N_("image {source} is {size} MB, more than the {limit} MB the platform accepts"),
                       N_("re-save it smaller"))
OVER_DOWNLOAD_CAP = Cause("IMG-TOO-BIG", N_("image {source} is larger than the {cap} MB download cap "
                                            "(image_max_download_mb); not downloaded further"),
                          N_("re-save it smaller"))
OUTSIDE_ROOT = Cause("IMG-UNREADABLE", N_("image {source} is outside the store's images folder (images_dir); not "
                                          "read"), N_("put the image in the images folder and give its path there"))
NOT_FOUND = Cause("IMG-MISSING", N_("image {source} was not found"),
                  N_("check the file name and the images folder"))
NOT_A_FILE = Cause("IMG-MISSING", N_("image {source} is not a file (a folder?)"),
                   N_("check the file name and the images folder"))
URL_NOT_FOUND = Cause("IMG-MISSING", N_("image {source} was not found (HTTP {status})"),
                      N_("check the URL in the export"))
EMPTY = Cause("IMG-MISSING", N_("main image is empty"), N_("fill in a file name or URL of the product photo"))
SMALL = Cause("ERR-207", N_("image {source} is {width}x{height}, below the {side}x{side} minimum"),
              N_("upload a larger original"))
TRANSPARENT = Cause("IMG-TRANSPARENT", N_("image {source} has transparent pixels (alpha down to {alpha}), which the "
                                          "platform shows on black or rejects"),
                    N_("this can be auto-fixed: aeops flattens it onto white into a staging copy (the original stays "
                       "untouched)"))
FIXED = Cause("IMG-TRANSPARENT", N_("image {source} had transparent pixels: auto-fixed, flattened onto white "
                                    "({copy})"),
              N_("nothing to do: the copy is uploaded to the photobank only if the product's main image changes"),
              Severity.WARNING)
BACKGROUND = Cause("IMG-BACKGROUND", N_("apparel main image {source} needs a pure white background: only {edges} of 4 "
                                        "edges are white (backdrop around RGB{colour})"),
                   N_("re-shoot or cut out onto #FFFFFF"))
NO_HOSTS = part(N_("none"))


def _hosts(hosts: Iterable[str]) -> str | Text:
    listed = ", ".join(hosts)
    return listed or Text(NO_HOSTS)


def auto_fixed(finding: Finding, copy: str) -> Finding:
    """The warning that replaces an ``IMG-TRANSPARENT`` error once its image was flattened onto white (``copy``: the
    staged copy's name, or the URL it was uploaded to)."""
    shown = (finding.problem.params.get("source") if finding.problem else None) or finding.file or ""
    return FIXED.finding(file=finding.file, row=finding.row, product_id=finding.product_id,
                         sku_code=finding.sku_code, field=finding.field, source=shown, copy=copy)


class ImageProblem(Exception):
    """An image problem that ends the checks of one image: its :class:`~aeops.findings.Cause` and the values of
    its message (all but ``source``, the image's name, which the finding adds). ``kind`` says which guard of
    :func:`open_image_guarded` refused it (``bomb``, ``unknown``, ``open``, ``pixels``): the logo rules use their own
    words for those."""

    def __init__(self, cause: Cause, kind: str = "", **params: Any) -> None:
        self.cause, self.kind, self.params = cause, kind, params
        super().__init__(self.text("?"))

    @property
    def code(self) -> str:
        """The finding code of the problem."""
        return self.cause.code

    def text(self, source: str) -> str:
        """The English message for image ``source`` (for logs and errors)."""
        values = {**self.params, "source": source}
        return join(Text(self.cause.problem, values), Text(self.cause.todo, values) if self.cause.todo else None)

    def finding(self, source: str, shown: str | None = None) -> Finding:
        """The finding of image ``source`` (its file), named ``shown`` in its message (as the export writes it)."""
        return self.cause.finding(file=source, field="main_image", source=shown or source, **self.params)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def open_image_guarded(data: bytes, *, formats: Iterable[str] = OPEN_FORMATS) -> Image.Image:
    """``Image.open`` on bytes with the bomb guard; raises ``ImageProblem('IMG-UNREADABLE', ...)``.

    Pillow's DecompressionBombWarning is turned into an error, and the header size is checked against
    :data:`MAX_PIXELS` before anything is decoded (so the guard holds whatever the warning filters say).
    """
    with _OPEN_LOCK, warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=tuple(formats))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageProblem(BOMB, "bomb", error=str(exc)) from None
        except UnidentifiedImageError:
            raise ImageProblem(NOT_AN_IMAGE, "unknown") from None
        except Exception as exc:  # noqa: BLE001 - any decoder failure is a finding
            raise ImageProblem(NOT_OPENED, "open", error=_error(exc)) from None
    width, height = im.size
    if width * height > MAX_PIXELS:
        raise ImageProblem(TOO_MANY_PIXELS, "pixels", width=width, height=height, limit=f"{MAX_PIXELS:,}")
    return im


def _ends_with_eoi(data: bytes) -> bool:
    """True when a JPEG ends with its end-of-image marker (FF D9), ignoring trailing padding."""
    return data[-64:].rstrip(b"\x00\r\n\t ").endswith(b"\xff\xd9")


def _decode(im: Image.Image, data: bytes, *, use_draft: bool) -> Image.Image:
    """Fully decode ``im`` (at 1/8 scale for a well-terminated JPEG when ``use_draft``)."""
    if use_draft and im.format in ("JPEG", "MPO") and _ends_with_eoi(data):
        width, height = im.size
        im.draft("RGB", (max(1, width // 8), max(1, height // 8)))
    try:
        im.load()
    except Exception as exc:  # noqa: BLE001 - truncated/corrupt data of any kind
        raise ImageProblem(TRUNCATED, error=_error(exc)) from None
    return im


def _min_alpha(im: Image.Image) -> int | None:
    """The smallest alpha value, or None when the image has no alpha at all.

    Modes with an alpha band, palette images with a transparency entry and RGB/L images with a
    ``transparency`` colour key are converted to RGBA; an all-255 alpha means opaque.
    """
    if im.mode in ("RGBA", "LA"):
        return int(im.getchannel("A").getextrema()[0])
    if im.mode in ("PA", "RGBa", "La") or "transparency" in im.info:
        return int(im.convert("RGBA").getchannel("A").getextrema()[0])
    return None


def _flatten_rgb(im: Image.Image) -> Image.Image:
    """RGB view of ``im`` with any transparency composited onto white."""
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info:
        rgba = im.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba).convert("RGB")
    return im if im.mode == "RGB" else im.convert("RGB")


def _edge_white_shares(im: Image.Image) -> tuple[float, float, float, float]:
    """Share of white pixels (all channels >= WHITE_LEVEL) in the top, bottom, left, right border bands."""
    import numpy as np  # lazy: numpy is heavy, loaded only to analyse an image

    rgb = _flatten_rgb(im)
    factor = max(1, min(rgb.size) // ANALYSIS_SIDE)
    if factor > 1:
        rgb = rgb.reduce(factor)
    width, height = rgb.size
    band = max(1, round(BORDER_FRACTION * min(width, height)))
    white = np.asarray(rgb).min(axis=2) >= WHITE_LEVEL
    edges = (white[:band, :], white[-band:, :], white[:, :band], white[:, -band:])
    return tuple(float(edge.mean()) for edge in edges)  # type: ignore[return-value]


def _border_colour(im: Image.Image) -> tuple[int, int, int]:
    """Median colour of the top band (what a grey backdrop looks like), for the message."""
    import numpy as np  # lazy: numpy is heavy, loaded only to analyse an image

    rgb = _flatten_rgb(im)
    band = max(1, round(BORDER_FRACTION * min(rgb.size)))
    top = np.asarray(rgb)[:band, :, :].reshape(-1, 3)
    return tuple(int(v) for v in np.median(top, axis=0))  # type: ignore[return-value]


def inspect_image_bytes(data: bytes, source: str, *, check_background: bool = True,
                        use_draft: bool = True, shown: str | None = None) -> ImageReport:
    """Check image bytes (no I/O): size, format, resolution, decodability, transparency, background. The findings'
    file is ``source``; their messages name the image ``shown`` (as the export writes it), else ``source``."""
    findings: list[Finding] = []
    info: dict[str, Any] = {"source": source, "size_bytes": len(data)}
    where = {"file": source, "field": "main_image", "source": shown or source}
    if len(data) > MAX_FILE_BYTES:
        findings.append(TOO_BIG.finding(**where, size=f"{len(data) / 2**20:.1f}", limit=MAX_FILE_BYTES // 2**20))
    try:
        im = open_image_guarded(data)
        with im:
            fmt = im.format or "?"
            info.update(format=fmt, width=im.size[0], height=im.size[1])
            if fmt not in ACCEPTED_FORMATS:
                raise ImageProblem(WRONG_FORMAT, format=fmt)
            width, height = im.size
            if width < MIN_SIDE or height < MIN_SIDE:
                findings.append(SMALL.finding(**where, width=width, height=height, side=MIN_SIDE))
            _decode(im, data, use_draft=use_draft)
            min_alpha = _min_alpha(im)
            info["min_alpha"] = min_alpha
            if min_alpha is not None and min_alpha < 255:
                info["transparent"] = True
                findings.append(TRANSPARENT.finding(**where, alpha=min_alpha))
            background = None
            if check_background:
                shares = _edge_white_shares(im)
                info["edge_white_shares"] = shares
                white_edges = sum(share >= WHITE_SHARE for share in shares)
                if white_edges < WHITE_EDGES_REQUIRED:
                    colour = _border_colour(im)
                    background = BACKGROUND.finding(**where, edges=white_edges, colour=str(colour))
            info["background"] = background
    except ImageProblem as problem:
        findings.append(problem.finding(source, shown))
    except Exception as exc:  # noqa: BLE001 - an odd mode or codec must give a finding, not a traceback
        log.warning("image %s could not be analysed: %s: %s", source, type(exc).__name__, exc)
        findings.append(NOT_ANALYSED.finding(**where, error=_error(exc)))
    return ImageReport(findings=tuple(findings), **info)


# ---------------------------------------------------------------------------------------------- sources

def _is_url(value: str) -> bool:
    return "://" in value and not value.lower().startswith("file://")


def _host_allowed(url: str, hosts: Iterable[str]) -> bool:
    """``host`` entries match the host on any port; ``host:port`` exactly; ``*.example.com`` subdomains."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        return False
    netloc = f"{host}:{parts.port}" if parts.port else host
    for entry in hosts:
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry.startswith("*."):
            if host.endswith(entry[1:]):
                return True
        elif entry in (host, netloc):
            return True
    return False


def _local_path(value: str, images_dir: str | None) -> Path:
    path = Path(value.removeprefix("file://")).expanduser()
    if not path.is_absolute():
        path = Path(images_dir or ".") / path
    return path


def _inside_images_dir(path: Path, images_dir: str | None) -> Path:
    """``path`` resolved (``..``, symlinks) when inside ``images_dir`` (else the current folder), else
    :data:`OUTSIDE_ROOT` before anything is opened: no file elsewhere is read, probed or uploaded."""
    try:
        real = path.resolve()
        if real.is_relative_to(Path(images_dir or ".").expanduser().resolve()):
            return real
    except (OSError, RuntimeError):  # a symlink loop
        pass
    raise ImageProblem(OUTSIDE_ROOT)


def _read_local(path: Path, source: str) -> bytes:
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise ImageProblem(NOT_A_FILE)
        if size > HARD_READ_CAP:
            raise ImageProblem(TOO_BIG_UNREAD, size=f"{size / 2**20:.1f}", limit=MAX_FILE_BYTES // 2**20)
        return path.read_bytes()
    except FileNotFoundError:
        raise ImageProblem(NOT_FOUND) from None
    except OSError as exc:
        raise ImageProblem(NOT_READ, error=_error(exc)) from None


def _download(url: str, client: httpx.Client, cap_bytes: int) -> bytes:
    """GET ``url`` streamed, stopping past ``cap_bytes``; redirects are followed only to allowed hosts."""
    import httpx  # lazy: httpx only when a URL is fetched

    try:
        with client.stream("GET", url) as response:
            if response.status_code in (404, 410):
                raise ImageProblem(URL_NOT_FOUND, status=response.status_code)
            if response.status_code >= 400:
                raise ImageProblem(HTTP_ERROR, status=response.status_code)
            declared = response.headers.get("content-length", "")
            too_big = ImageProblem(OVER_DOWNLOAD_CAP, cap=f"{cap_bytes / 2**20:g}")
            if declared.isdigit() and int(declared) > cap_bytes:
                raise too_big
            chunks: list[bytes] = []
            total = 0
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > cap_bytes:
                    raise too_big
                chunks.append(chunk)
            return b"".join(chunks)
    except _HostRefused as exc:
        raise ImageProblem(REDIRECT_REFUSED, host=exc.host, hosts=_hosts(exc.hosts)) from None
    except httpx.HTTPError as exc:
        raise ImageProblem(NOT_DOWNLOADED, error=_error(exc)) from None


class _HostRefused(Exception):
    def __init__(self, host: str, hosts: list[str]) -> None:
        super().__init__(f"redirects to {host}, which is not in image_url_hosts")
        self.host, self.hosts = host, hosts


def _make_client(hosts: list[str]) -> httpx.Client:
    import httpx  # lazy: httpx only when a URL is fetched

    def refuse_other_hosts(request: httpx.Request) -> None:
        if not _host_allowed(str(request.url), hosts):
            raise _HostRefused(str(request.url.host), hosts)

    return httpx.Client(timeout=DOWNLOAD_TIMEOUT_S, follow_redirects=True, max_redirects=3,
                        event_hooks={"request": [refuse_other_hosts]})


def _check_source(value: str, *, images_dir: str | None, hosts: list[str], cap_bytes: int,
                  client_factory: Any, check_background: bool, use_draft: bool = True) -> ImageReport:
    """Resolve one main_image cell (path or URL) and check it."""
    source = value
    try:
        if _is_url(value):
            scheme = urlsplit(value).scheme.lower()
            if scheme not in ("http", "https"):
                raise ImageProblem(BAD_SCHEME, scheme=scheme)
            if not _host_allowed(value, hosts):
                raise ImageProblem(HOST_REFUSED, host=repr(urlsplit(value).hostname), hosts=_hosts(hosts))
            data = _download(value, client_factory(), cap_bytes)
        else:
            path = _local_path(value, images_dir)
            source = str(path)
            data = _read_local(_inside_images_dir(path, images_dir), source)
    except ImageProblem as problem:
        return ImageReport(source=source, findings=(problem.finding(source, value),))
    return inspect_image_bytes(data, source, check_background=check_background, use_draft=use_draft, shown=value)


def image_client(hosts: Iterable[str]) -> httpx.Client:
    """An HTTP client that follows redirects only to ``hosts`` (reuse it: each new client loads the CA store)."""
    return _make_client(list(hosts))


def fetch_image_bytes(value: str, *, images_dir: str | None = None, hosts: Iterable[str] = (),
                      cap_bytes: int = MAX_FILE_BYTES, client: httpx.Client | None = None) -> bytes:
    """The bytes of an image: a local file (relative to ``images_dir``) or an http(s) URL on one of ``hosts``
    (redirects too; ``client`` from :func:`image_client` with the same hosts); anything else raises
    :class:`ImageProblem` without opening it."""
    allowed = list(hosts)
    if not _is_url(value):
        path = _local_path(value, images_dir)
        return _read_local(_inside_images_dir(path, images_dir), str(path))
    if urlsplit(value).scheme.lower() not in ("http", "https") or not _host_allowed(value, allowed):
        raise ImageProblem(HOST_REFUSED, host=repr(urlsplit(value).hostname), hosts=_hosts(allowed))
    if client is not None:
        return _download(value, client, cap_bytes)
    with _make_client(allowed) as own:
        return _download(value, own, cap_bytes)


class _LazyClient:
    """One shared httpx client, created on first use (thread-safe enough: httpx.Client is)."""

    def __init__(self, hosts: list[str]) -> None:
        self._hosts = hosts
        self._client: httpx.Client | None = None

    def __call__(self) -> httpx.Client:
        if self._client is None:
            self._client = _make_client(self._hosts)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def image_check_one(path_or_url: str, *, images_dir: str | None = None, config: AeopsConfig | None = None,
                    check_background: bool = True) -> ImageReport:
    """Check one image (fast path: JPEGs decoded at 1/8 scale; no ``images_dir``: the file's own folder)."""
    return _run_one(path_or_url, images_dir, config, check_background, use_draft=True)


def image_check_full_decode(path_or_url: str, *, images_dir: str | None = None, config: AeopsConfig | None = None,
                            check_background: bool = True) -> ImageReport:
    """The same checks with a full-resolution decode of every image: the benchmark's baseline."""
    return _run_one(path_or_url, images_dir, config, check_background, use_draft=False)


def _run_one(value: str, images_dir: str | None, config: AeopsConfig | None, check_background: bool,
             *, use_draft: bool) -> ImageReport:
    hosts = list(config.image_url_hosts) if config else []
    cap = int((config.image_max_download_mb if config else MAX_FILE_BYTES / 2**20) * 2**20)
    client = _LazyClient(hosts)
    try:
        value = str(value).strip()
        if not value:
            return ImageReport(source="", findings=(EMPTY.finding(field="main_image"),))
        if images_dir is None and not _is_url(value):  # one file a person named: its own folder
            images_dir = str(Path(value.removeprefix("file://")).expanduser().parent)
        return _check_source(value, images_dir=images_dir, hosts=hosts, cap_bytes=cap, client_factory=client,
                             check_background=check_background, use_draft=use_draft)
    finally:
        client.close()


def _cell(value: Any) -> str:
    return "" if value is None or value != value else str(value).strip()  # value != value: NaN


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def check_images(frame: Any, images_dir: str | None, config: AeopsConfig, apparel_categories: Iterable[str],
                 *, max_workers: int = 4) -> list[Finding]:
    """Image findings for every row of ``frame`` (columns row, product_id, sku_code, category, main_image).

    Each distinct image (by resolved path or URL) is read and decoded once, in a small thread pool
    (Pillow releases the GIL while decoding); its findings are then copied onto every row using it, with
    ``row``, ``product_id``, ``sku_code`` and ``field='main_image'``. IMG-BACKGROUND goes only to rows of
    an apparel category.
    """
    if frame is None or len(frame) == 0:
        return []
    apparel = {" ".join(str(c).split()).casefold() for c in apparel_categories}
    hosts = list(config.image_url_hosts)
    cap = int(config.image_max_download_mb * 2**20)
    cells = [_cell(v) for v in frame["main_image"]]
    is_apparel = [" ".join(_cell(c).split()).casefold() in apparel for c in frame["category"]]
    key_of = {cell: "" if not cell else cell if _is_url(cell) else str(_local_path(cell, images_dir))
              for cell in set(cells)}
    keys = [key_of[cell] for cell in cells]
    needs_background: dict[str, bool] = {}
    originals: dict[str, str] = {}
    for key, cell, app in zip(keys, cells, is_apparel, strict=True):
        if key:
            needs_background[key] = needs_background.get(key, False) or app
            originals.setdefault(key, cell)

    client = _LazyClient(hosts)
    try:
        def run(key: str) -> ImageReport:
            return _check_source(originals[key], images_dir=images_dir, hosts=hosts, cap_bytes=cap,
                                 client_factory=client, check_background=needs_background[key])

        distinct = list(needs_background)
        if max_workers > 1 and len(distinct) > 1:
            with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="aeops-img") as pool:
                reports = dict(zip(distinct, pool.map(run, distinct), strict=True))
        else:
            reports = {key: run(key) for key in distinct}
    finally:
        client.close()

    findings: list[Finding] = []
    missing = EMPTY.finding(field="main_image")
    for key, app, row, pid, sku in zip(keys, is_apparel, frame["row"], frame["product_id"], frame["sku_code"],
                                       strict=True):
        if not key:
            own = [missing]
        else:
            report = reports[key]
            own = list(report.findings)
            if app and report.background is not None:
                own.append(report.background)
            if not own:
                continue
        row_fields = {"row": _int_or_none(row), "product_id": _int_or_none(pid),
                      "sku_code": _cell(sku) or None, "field": "main_image"}
        findings.extend(replace(f, **row_fields, file=f.file or None) for f in own)
    log.info("checked %d distinct image(s) for %d row(s): %d finding(s)", len(needs_background), len(keys),
             len(findings))
    return findings
