"""Category qualifications (certificates attached to products): what a category needs, what a product carries,
and what the platform does when a required certificate expires or a new one is attached.

Public API facts (docs/aliexpress-api.md §2.12): ``aliexpress.category.qualifications.list`` answers a
category's ``qualification_module_list`` entries (``key``, ``type`` ``image``|``text``, ``label``, ``tips``,
required or not); products carry ``aeop_qualification_struct_list`` entries ``{key, type, value}`` (an image
value is a photobank URL, jpg/jpeg/png only); removing a product's qualifications takes it off sale.

Assumed here (docs/simulator.md): the keys (``item_EU_CE_certificate`` and ``item_US_FCC_certificate`` for
electronics, ``item_US_CPC_certificate`` for toys), the numeric category ids, that a seeded product's
certificates are "on file" until an expiry says otherwise, how the platform learns of an expiry (the test
or operator posts it to ``/_sim/qualifications/<seller id>``: the platform's own reading of the valid-until
date), and that a valid new image restores the product ``qualification_s`` seconds later (the guide: within
2 hours). A product taken off sale this way is ``offline`` with ``ws_offline_reason`` ``qualification_expired``
and a detail in ``offline_reason_detail`` (both field names assumed).
"""

from __future__ import annotations

from typing import Any

from aeops.marketplace.simulator.photobank import image_id

CATEGORY_IDS = {"electronics": 44, "toys": 26}
"""The simulator's category names (as exports write them) and the numeric ids the API takes."""

QUALIFICATIONS: dict[str, list[dict[str, Any]]] = {
    "electronics": [
        {"key": "item_EU_CE_certificate", "type": "image", "required": True, "cert_type": "CE",
         "label": {"en": "EU CE certificate", "zh": "欧盟CE认证证书"},
         "tips": {"en": "Upload the CE certificate (jpg, jpeg or png); it must cover the product's brand",
                  "zh": "请上传CE证书图片（jpg、jpeg或png），证书须覆盖该商品品牌"}},
        {"key": "item_US_FCC_certificate", "type": "image", "required": False, "cert_type": "FCC",
         "label": {"en": "US FCC certificate", "zh": "美国FCC认证证书"},
         "tips": {"en": "Required for products shipped to the United States", "zh": "发往美国的商品需提供"}},
    ],
    "toys": [
        {"key": "item_US_CPC_certificate", "type": "image", "required": True, "cert_type": "CPC",
         "label": {"en": "Children's Product Certificate (CPC)", "zh": "儿童产品证书（CPC）"},
         "tips": {"en": "Re-upload at least 30 days before the certificate expires",
                  "zh": "请在证书到期前至少30天重新上传"}},
    ],
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")
OFFLINE_REASON = "qualification_expired"


def category_key(category: Any) -> str | None:
    """The simulator's category name for a category id or name (None: a category needing nothing)."""
    text = " ".join(str(category or "").split()).casefold()
    if text in QUALIFICATIONS:
        return text
    for name, number in CATEGORY_IDS.items():
        if text == str(number):
            return name
    return None


def module_list(category: Any, locale: str = "en_US") -> list[dict[str, Any]]:
    """``qualification_module_list`` of a category in ``locale`` (``zh_CN`` gives Chinese labels)."""
    lang = "zh" if str(locale).lower().startswith("zh") else "en"
    return [{"key": q["key"], "type": q["type"], "label": q["label"][lang], "tips": q["tips"][lang],
             "required": q["required"]} for q in QUALIFICATIONS.get(category_key(category) or "", [])]


def keys_of(category: Any) -> dict[str, dict[str, Any]]:
    """The qualifications a category requires, by key."""
    return {q["key"]: q for q in QUALIFICATIONS.get(category_key(category) or "", [])}


def key_for_type(category: Any, cert_type: str) -> str | None:
    """The qualification key of a certificate type (CE, FCC, CPC) in a category."""
    for q in QUALIFICATIONS.get(category_key(category) or "", []):
        if q["cert_type"] == cert_type.strip().upper():
            return q["key"]
    return None


def entries_problem(product: dict[str, Any], entries: Any, photo: Any, seller_id: int) -> str | None:
    """Why ``aeop_qualification_struct_list`` cannot be set on ``product`` (None: fine).

    ``photo(url)`` answers (seller id, name, bytes) of a photobank image or None.
    """
    if not isinstance(entries, list):
        return "aeop_qualification_struct_list must be a JSON array"
    known = keys_of(product.get("category"))
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("key") or entry.get("type") not in ("image", "text"):
            return "each qualification needs key, type (image|text) and value"
        spec = known.get(str(entry["key"]))
        if spec is None:
            return f"qualification key {entry['key']} does not belong to the product's category"
        if entry["type"] != spec["type"]:
            return f"qualification {entry['key']} takes type {spec['type']}"
        value = str(entry.get("value") or "")
        if spec["type"] == "image":
            if not value.lower().split("?")[0].endswith(IMAGE_EXTENSIONS):
                return f"qualification {entry['key']}: only jpg, jpeg and png images are allowed"
            found = photo(value)
            if found is None or int(found[0]) != int(seller_id):
                return f"qualification {entry['key']}: the image is not in the seller's photobank"
    return None


def apply_entries(product: dict[str, Any], entries: list[dict[str, Any]], *, replace: bool, expired: set[str],
                  image_id: Any, at_ms: int, restore_s: float) -> None:
    """Set the product's qualifications (by key, or the whole list with ``replace``) and what follows.

    A product taken off sale for an expired qualification is restored ``restore_s`` after every required key
    carries a valid image again (not one of the ``expired`` image ids); removing a required key takes the
    product off sale.
    """
    current = {q["key"]: q for q in product.get("qualifications") or []}
    if replace:
        current = {}
    for entry in entries:
        current[str(entry["key"])] = {"key": str(entry["key"]), "type": entry["type"], "value": str(entry["value"])}
    product["qualifications"] = list(current.values())
    required = [k for k, spec in keys_of(product.get("category")).items() if spec["required"]]
    missing = [k for k in required if k not in current]
    stale = [k for k in required if k in current and image_id(current[k]["value"]) in expired]
    if replace and missing:
        take_offline(product, f"required qualification {', '.join(missing)} removed")
        return
    if product.get("status") == "offline" and product.get("offline_reason") == OFFLINE_REASON:
        if stale or (missing and not product.get("qualifications_on_file", True)):
            product["offline_reason_detail"] = f"qualification {', '.join(stale or missing)} is still expired"
            product.pop("qualification_restore", None)
        else:
            product["qualification_restore"] = {"due_ms": at_ms + int(restore_s * 1000)}


def take_offline(product: dict[str, Any], detail: str) -> None:
    """Take a product offline for a missing or expired qualification (``detail`` says which)."""
    product["status"] = "offline"
    product["offline_reason"] = OFFLINE_REASON
    product["offline_reason_detail"] = detail
    product.pop("qualification_restore", None)


def expire(product: dict[str, Any], key: str) -> str | None:
    """The required ``key`` of ``product`` expired: off sale; returns the expired image value (if any)."""
    entry = next((q for q in product.get("qualifications") or [] if q["key"] == key), None)
    product["qualifications_on_file"] = False  # the certificate the category was admitted with is no longer valid
    take_offline(product, f"qualification {key} expired")
    return entry["value"] if entry else None


def restore_due(product: dict[str, Any], at_ms: int) -> bool:
    """Whether an offline product's qualification restore is due at ``at_ms``."""
    restore = product.get("qualification_restore") or {}
    return product.get("status") == "offline" and bool(restore) and int(restore.get("due_ms", 0)) <= at_ms


def settle(product: dict[str, Any], at_ms: int) -> bool:
    """Put a restored product back on sale when its delay has passed. True when the product changed."""
    if not restore_due(product, at_ms):
        return False
    product["status"] = "onSelling"
    for key in ("offline_reason", "offline_reason_detail", "qualification_restore"):
        product.pop(key, None)
    return True


def expire_category(state: Any, seller_id: int, category: Any, cert: str, at_ms: int,
                    brand: str | None = None) -> list[int]:
    """The seller's certificate ``cert`` (a key, or a type such as CPC) of ``category`` expired: every product of
    that category (of ``brand`` when given: a certificate covers one brand) goes off sale and its current image
    for the key counts as expired. Returns the product ids.

    ``state`` is the :class:`~aeops.marketplace.simulator.state.SimState` (its ``write()`` transaction).
    """
    name = category_key(category)
    key = cert if cert in keys_of(name) else key_for_type(name, cert)
    if name is None or key is None:
        raise ValueError(f"category {category!r} has no qualification {cert!r}")
    hit: list[int] = []
    with state.write() as tx:
        ids = [int(pid) for (pid,) in tx.conn.execute("SELECT product_id FROM products WHERE seller_id = ?",
                                                       (int(seller_id),))]
        expired_values = []
        for pid, product in tx.products(ids).items():
            if category_key(product.get("category")) != name:
                continue
            if brand and " ".join(str(product.get("brand") or "").split()).casefold() != \
                    " ".join(brand.split()).casefold():
                continue
            value = expire(product, key)
            if value:
                expired_values.append(value)
            product["gmt_modified_ms"] = max(at_ms, int(product.get("gmt_modified_ms", 0)) + 1)
            hit.append(pid)
        seller = tx.sellers()[str(seller_id)]
        known = set(seller.get("expired_qualification_images") or [])
        known |= {i for i in (image_id(v) for v in expired_values) if i}
        seller["expired_qualification_images"] = sorted(known)
    return sorted(hit)
