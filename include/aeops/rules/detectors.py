"""Image content that needs a person's eyes: faces on apparel images, text and watermarks, logos with text.

Two detectors, both offline (their models ship inside their packages; nothing is downloaded at run time):

- faces: OpenCV's Haar cascade ``haarcascade_frontalface_alt2.xml`` (``cv2.data.haarcascades`` of
  ``opencv-python-headless``) on a grey copy at most :data:`FACE_SIDE` px; a face is "clear" when its box is
  at least :data:`MIN_FACE_SHARE` of the image's short side;
- text: RapidOCR (``rapidocr-onnxruntime``: PP-OCRv4 detection + recognition ONNX models inside the wheel)
  on a copy at most :data:`TEXT_SIDE` px; a hit counts from :data:`MIN_TEXT_SCORE` confidence and two
  characters.

They never block a row: they raise warnings that a person reviews (``IMG-NO-FACE``, ``IMG-TEXT``,
``LOGO-TEXT``), and for new products the strict first-image checks (``IMG-NEW-BACKGROUND``: white background
whatever the category, ``IMG-NEW-SIZE``: at least :data:`NEW_MIN_SIDE` px). :func:`analyse` is the costly
part (one image's raw results, cached by content hash by the caller); :func:`findings_for` turns raw results
into findings for a product's situation. ``cv2`` and ``onnxruntime`` are imported on first use only.
"""

from __future__ import annotations

import threading
from typing import Any

from aeops.findings import Cause, Finding, Severity
from aeops.i18n import N_
from aeops.rules import images
from aeops.rules.images import WHITE_SHARE, ImageProblem, _edge_white_shares, open_image_guarded
from aeops.secrets import get_logger

log = get_logger(__name__)

FACE_SIDE = 400
MIN_FACE_SHARE = 1 / 15
TEXT_SIDE = 640
MIN_TEXT_SCORE = 0.6
NEW_MIN_SIDE = 1000
WHITE_EDGES_REQUIRED = 3
DETECTOR_VERSION = 1
"""Stored with cached results: a change of models or thresholds re-checks every image."""

_LOCK = threading.Lock()
_ENGINES: dict[str, Any] = {}


def _face_cascade():
    with _LOCK:
        if "face" not in _ENGINES:
            import cv2  # lazy: OpenCV is heavy, loaded only by the detectors

            path = cv2.data.haarcascades + "haarcascade_frontalface_alt2.xml"
            cascade = cv2.CascadeClassifier(path)
            if cascade.empty():
                raise RuntimeError(f"OpenCV's face cascade {path} could not be loaded")
            _ENGINES["face"] = cascade
        return _ENGINES["face"]


def _ocr():
    with _LOCK:
        if "ocr" not in _ENGINES:
            from rapidocr_onnxruntime import RapidOCR  # lazy: the OCR model is heavy, loaded only by the detectors

            # detection on the long side at TEXT_SIDE (its default scales the short side up to 736), no angle
            # classifier (watermarks are upright), one thread: a worker runs several tasks at once
            _ENGINES["ocr"] = RapidOCR(det_limit_side_len=TEXT_SIDE, det_limit_type="max", use_cls=False,
                                       intra_op_num_threads=1, inter_op_num_threads=1)
        return _ENGINES["ocr"]


def _scaled(im: Any, side: int) -> Any:
    factor = side / max(im.size)
    if factor >= 1:
        return im
    return im.resize((max(1, round(im.size[0] * factor)), max(1, round(im.size[1] * factor))))


def detect_faces(im: Any) -> list[tuple[float, float, float, float]]:
    """Frontal faces as (x, y, w, h) shares of the image size."""
    import cv2  # lazy: OpenCV is heavy, loaded only by the detectors
    import numpy as np  # lazy: numpy is heavy, loaded only to analyse an image

    small = _scaled(im.convert("L"), FACE_SIDE)
    grey = cv2.equalizeHist(np.asarray(small))
    short = min(small.size)
    found = _face_cascade().detectMultiScale(grey, scaleFactor=1.1, minNeighbors=4,
                                             minSize=(max(12, short // 20), max(12, short // 20)))
    width, height = small.size
    return [(float(x) / width, float(y) / height, float(w) / width, float(h) / height)
            for (x, y, w, h) in (found if len(found) else [])]


def detect_text(im: Any) -> list[dict[str, Any]]:
    """Readable text: ``{"text", "score", "share"}`` (share = the box's area share of the image)."""
    import numpy as np  # lazy: numpy is heavy, loaded only to analyse an image

    small = _scaled(im.convert("RGB"), TEXT_SIDE)
    result, _elapsed = _ocr()(np.asarray(small))
    width, height = small.size
    hits = []
    for box, text, score in result or []:
        if float(score) < MIN_TEXT_SCORE or len(str(text).strip()) < 2:
            continue
        xs, ys = [p[0] for p in box], [p[1] for p in box]
        share = (max(xs) - min(xs)) * (max(ys) - min(ys)) / (width * height)
        hits.append({"text": str(text).strip(), "score": round(float(score), 3), "share": round(share, 4)})
    return hits


def _white_edges(im: Any) -> int:
    return sum(share >= WHITE_SHARE for share in _edge_white_shares(im))


def analyse(data: bytes, *, faces: bool = True, text: bool = True) -> dict[str, Any]:
    """The raw detector results for image bytes (what is cached per content hash)."""
    from PIL import Image  # lazy: Pillow is heavy, loaded only to read an image

    try:
        im = open_image_guarded(data)
        im.load()
    except ImageProblem as problem:
        return {"version": DETECTOR_VERSION, "error": str(problem)}
    except Exception as exc:  # noqa: BLE001 - an undecodable image: the image rules already report it
        return {"version": DETECTOR_VERSION, "error": f"{type(exc).__name__}: {exc}"}
    with im:
        rgb = im.convert("RGBA") if im.mode in ("RGBA", "LA", "P") else im.convert("RGB")
        if rgb.mode == "RGBA":
            rgb = Image.alpha_composite(Image.new("RGBA", rgb.size, (255, 255, 255, 255)), rgb).convert("RGB")
        result: dict[str, Any] = {"version": DETECTOR_VERSION, "width": im.size[0], "height": im.size[1],
                                  "white_edges": _white_edges(rgb)}
        if faces:
            found = detect_faces(rgb)
            result["faces"] = len(found)
            result["largest_face"] = round(float(max((w for _x, _y, w, _h in found), default=0.0)), 4)
        if text:
            result["text"] = detect_text(rgb)
    return result


NO_FACE = Cause("IMG-NO-FACE", N_("apparel main image {source} shows no clearly visible face"),
                N_("the platform wants the model's face visible: a person should check it"), Severity.WARNING)
TEXT_ON_IMAGE = Cause("IMG-TEXT", N_("main image {source} carries text or a watermark (reads {words})"),
                      N_("the platform refuses watermarks: a person should check it"), Severity.WARNING)
NEW_BACKGROUND = Cause("IMG-NEW-BACKGROUND", N_("new product's first image {source} is not on a pure white "
                                                "background"),
                       N_("a new product needs a white background whatever the category: replace the image"),
                       Severity.WARNING)
NEW_SIZE = Cause("IMG-NEW-SIZE", N_("new product's first image {source} is {width}x{height}, below the {side}x{side} "
                                    "a new product's first image should have"),
                 N_("use a larger first image"), Severity.WARNING)
TEXT_ON_LOGO = Cause("LOGO-TEXT", N_("logo {source} has text over it (reads {words})"),
                     N_("the platform wants no text covering the logo: a person should check it"), Severity.WARNING)


def _warning(cause: Cause, source: str, **params: Any) -> Finding:
    return cause.finding(file=source, field="main_image", source=source, **params)


def findings_for(result: dict[str, Any], source: str, *, apparel: bool, new_product: bool) -> list[Finding]:
    """Warnings for a main image from its raw results (``apparel``: needs a face; ``new_product``: strict)."""
    if result.get("error"):
        return []
    found: list[Finding] = []
    if apparel and "faces" in result:
        if not result["faces"] or result.get("largest_face", 0) < MIN_FACE_SHARE:
            found.append(_warning(NO_FACE, source))
    if result.get("text"):
        words = ", ".join(repr(h["text"]) for h in result["text"][:3])
        found.append(_warning(TEXT_ON_IMAGE, source, words=words))
    if new_product:
        if result.get("white_edges", 4) < WHITE_EDGES_REQUIRED:
            found.append(_warning(NEW_BACKGROUND, source))
        if min(result["width"], result["height"]) < NEW_MIN_SIDE:
            found.append(_warning(NEW_SIZE, source, width=result["width"], height=result["height"],
                                  side=NEW_MIN_SIDE))
    return found


def logo_text(data: bytes, source: str) -> list[Finding]:
    """``LOGO-TEXT`` when text covers the logo (a warning: a person decides)."""
    return logo_findings(analyse(data, faces=False), source)


def logo_findings(result: dict[str, Any], source: str) -> list[Finding]:
    """``LOGO-TEXT`` from a logo's raw results (see :func:`analyse`)."""
    if not result.get("text"):
        return []
    words = ", ".join(repr(h["text"]) for h in result["text"][:3])
    return [TEXT_ON_LOGO.finding(file=source, source=source, words=words)]


def read_source(value: str, images_dir: str | None, config: Any) -> bytes | None:
    """The bytes of a ``main_image`` cell (local path, or an http(s) URL on an allowed host); None when it cannot
    be had (the image rules already report why)."""

    try:
        if images._is_url(value):
            hosts = list(config.image_url_hosts)
            if not images._host_allowed(value, hosts):
                return None
            client = images._make_client(hosts)
            try:
                return images._download(value, client, int(config.image_max_download_mb * 2**20))
            finally:
                client.close()
        path = images._local_path(value, images_dir)
        return images._read_local(path, str(path))
    except images.ImageProblem:
        return None
