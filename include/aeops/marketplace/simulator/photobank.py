"""The simulated photobank: image names and URLs in the platform's form, and the bytes behind them.

An uploaded image gets a name like the platform's, ``S`` + 32 hex digits + one letter or digit + its file
extension (``S23b9cb05c8e844648d48324f23f0c123T.jpeg``), and the URL ``{public_url}/kf/<name>``, the path shape
of ``https://ae01.alicdn.com/kf/<name>`` (docs/aliexpress-api.md §2.13). The simulator serves the bytes at
that URL (``GET /kf/...``), also in the item-page forms ``/kf/<id>/<slug>.jpg`` and ``..._640x640.jpg``: the
image is looked up by its id, whatever host, slug or size suffix follows. A product holds image *names*;
they become URLs only when the API or a page renders them, so a state file works on any port.
"""

from __future__ import annotations

import hashlib
import re
import string
import uuid
from pathlib import Path

_ALNUM = string.ascii_letters + string.digits
IMAGE_ID = re.compile(r"/kf/(S[0-9a-f]{32}[0-9A-Za-z])")
EXTENSIONS = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def _extension(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    return suffix if suffix in EXTENSIONS else ".jpg"


def new_name(file_name: str) -> str:
    """A fresh photobank name for an upload (every upload is a new photobank entry)."""
    token = uuid.uuid4()
    return f"S{token.hex}{_ALNUM[token.bytes[0] % len(_ALNUM)]}{_extension(file_name)}"


def seeded_name(seller_id: int, content: bytes, file_name: str) -> str:
    """The deterministic photobank name of a seeded image (the same file seeds the same name)."""
    digest = hashlib.sha256(f"{seller_id}:".encode() + content).digest()
    return f"S{digest[:16].hex()}{_ALNUM[digest[16] % len(_ALNUM)]}{_extension(file_name)}"


def image_id(name_or_url: str) -> str | None:
    """The photobank id (``S`` + 33 characters) in an image name or URL; None when there is none."""
    text = str(name_or_url)
    match = IMAGE_ID.search(text if text.startswith(("/", "http://", "https://")) else "/kf/" + text)
    return match.group(1) if match else None


def url_of(public_url: str, name: str) -> str:
    """The URL the API and the item pages show for an image name (URLs seeded as URLs stay as they are)."""
    if name.startswith(("http://", "https://")):
        return name
    return f"{public_url.rstrip('/')}/kf/{name}"


def content_type(name: str) -> str:
    """The content type of an image file by its extension (JPEG when unknown)."""
    return EXTENSIONS.get(Path(name).suffix.lower(), "image/jpeg")
