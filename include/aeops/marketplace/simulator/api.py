"""The ``/sync`` business methods the simulator answers, one handler per API name (``SYNC_METHODS``)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from aeops.marketplace.simulator import photobank, qualifications, reviewer
from aeops.marketplace.simulator.errors import SimError
from aeops.marketplace.simulator.products import FREIGHT_SETTINGS, now_ms, record_write, sku_identity
from aeops.marketplace.simulator.shop_pages import default_store_num
from aeops.marketplace.simulator.state import SimState, Tx

if TYPE_CHECKING:
    from aeops.marketplace.simulator.protocol import Simulator

MAX_PHOTO_BYTES = 3 * 1024 * 1024
MAX_MONEY = Decimal("999999")
MIN_PRICE = Decimal("0.01")


def _gmt(ms: int, tz: str) -> str:
    """A ``gmt_*`` string: the platform's local time (``platform_tz``, Beijing by default), no zone given."""
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S")


def _parse_gmt(text: str, tz: str) -> int:
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=ZoneInfo(tz))
    except ValueError:
        raise SimError("InvalidParameter", f"time {text!r} is not yyyy-MM-dd HH:mm:ss") from None
    return int(parsed.timestamp() * 1000)


def _images(sim: Simulator, product: dict[str, Any]) -> str:
    """``image_u_r_ls``: the product's main image URLs, ``;``-separated (never local file names)."""
    return ";".join(photobank.url_of(sim.public_url, name) for name in product.get("main_images") or [])


def _wrap(items: list[Any], name: str, simplify: bool) -> Any:
    return items if simplify else {name: items}


# ---------------------------------------------------------------------- /sync methods
def _json_param(params: dict[str, str], name: str) -> Any:
    if not params.get(name):
        raise SimError("MissingParameter", f"Missing required parameter {name}")
    try:
        return json.loads(params[name], parse_float=Decimal)
    except ValueError:
        raise SimError("InvalidParameter", f"{name} is not valid JSON") from None


def _own_product(source: SimState | Tx, seller: dict[str, Any], product_id: Any) -> dict[str, Any] | None:
    """The seller's product ``product_id`` from the state or a write transaction, else None."""
    product = source.product(product_id)
    if product is None or int(product["seller_id"]) != int(seller["seller_id"]):
        return None
    return product


def _product_list(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    query = _json_param(params, "aeop_a_e_product_list_query")
    status = query.get("product_status_type")
    if status not in {"onSelling", "offline", "auditing", "editingRequired"}:
        raise SimError("InvalidParameter", "product_status_type must be onSelling, offline, auditing or "
                       "editingRequired")
    page, size = int(query.get("current_page") or 1), int(query.get("page_size") or 20)
    if not 1 <= size < 100:
        raise SimError("InvalidParameter", "page_size must be less than 100")
    tz = sim.faults.platform_tz
    start = _parse_gmt(query["gmt_modified_start"], tz) if query.get("gmt_modified_start") else None
    end = _parse_gmt(query["gmt_modified_end"], tz) if query.get("gmt_modified_end") else None
    try:
        only = int(query["product_id"]) if query.get("product_id") else None
    except (TypeError, ValueError):
        raise SimError("InvalidParameter", "product_id must be an integer") from None
    count, items = sim.state.list_products(int(seller["seller_id"]), status, modified_from=start, modified_to=end,
                                           product_id=only, offset=(page - 1) * size, limit=size if page >= 1 else 0)
    total_page = (count + size - 1) // size
    simplify = params.get("simplify") == "true"
    dtos = [{"product_id": p["product_id"], "subject": p["subject"],
             "product_min_price": min((s["discount_price"] or s["price"] for s in p["skus"]), key=Decimal,
                                      default=None),
             "product_max_price": max((s["price"] for s in p["skus"]), key=Decimal, default=None),
             "currency_code": "USD", "freight_template_id": p["freight_template_id"],
             "image_u_r_ls": _images(sim, p), "gmt_create": _gmt(p["gmt_create_ms"], tz),
             "gmt_modified": _gmt(p["gmt_modified_ms"], tz), "ws_display": "expire_offline"
             if p["status"] == "offline" else ""} for p in items]
    return {"result": {"success": True, "current_page": page, "total_page": total_page,
                       "product_count": count,
                       "aeop_a_e_product_display_d_t_o_list": _wrap(dtos, "item_display_dto", simplify)}}


def _product_info(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    product = _own_product(sim.state, seller, params.get("product_id", "0"))
    if product is None:
        return {"result": {"success": False, "error_code": "F00-00-10007-010",
                           "error_message": "product not found"}}
    skus = [{"id": s["sku_id"], "sku_code": s["sku_code"], "sku_price": s["price"],
             "sku_discount_price": s["discount_price"], "ipm_sku_stock": s["stock"], "sku_stock": s["stock"] > 0,
             "currency_code": "USD"} for s in product["skus"]]
    tz = sim.faults.platform_tz
    result = {
        "success": True, "product_id": product["product_id"], "subject": product["subject"],
        "product_status_type": product["status"], "freight_template_id": product["freight_template_id"],
        "category_id": product.get("category"), "brand": product.get("brand"),
        "image_u_r_ls": _images(sim, product),
        "gmt_create": _gmt(product["gmt_create_ms"], tz), "gmt_modified": _gmt(product["gmt_modified_ms"], tz),
        "aeop_ae_product_s_k_us": _wrap(skus, "global_aeop_ae_product_sku", params.get("simplify") == "true")}
    assumed = sim.profile.assumed
    if assumed and product.get("audit_failure_reason") and product["status"] == "editingRequired":
        result["audit_failure_reason"] = product["audit_failure_reason"]  # assumed field name (see reviewer.py)
    quals = [dict(q) for q in product.get("qualifications") or []]
    result["aeop_qualification_struct_list"] = _wrap(quals, "aeop_qualification_struct",
                                                     params.get("simplify") == "true")
    if product["status"] == "offline" and product.get("offline_reason"):
        result["ws_offline_reason"] = product["offline_reason"]  # assumed values (see qualifications.py)
        if assumed:
            result["offline_reason_detail"] = product.get("offline_reason_detail") or ""  # an assumed field
    return {"result": result}


def _qualifications_list(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    """``aliexpress.category.qualifications.list``: what a category needs (keys and numeric ids assumed)."""
    if not params.get("category_id"):
        raise SimError("MissingParameter", "Missing required parameter category_id")
    modules = qualifications.module_list(params["category_id"], params.get("locale") or "en_US")
    return {"result": {"success": True, "qualification_module_list": _wrap(
        modules, "qualification_module", params.get("simplify") == "true")}}


def _entry_ids(entries: list[Any]) -> list[int]:
    """The well-formed product ids of a batch (to load them in one query)."""
    ids = []
    for entry in entries:
        try:
            ids.append(int(entry.get("product_id")))
        except (AttributeError, TypeError, ValueError):
            continue
    return [i for i in ids if 0 <= i < 2**63]


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _check_price_item(product: dict[str, Any], items: list[dict[str, Any]]) -> tuple[str, str] | None:
    codes = [i.get("sku_code") for i in items]
    if any(not c for c in codes):
        return "F00-00-10007-006", "Field:sku_code is empty"
    if len(set(codes)) != len(codes):
        return "F00-00-10007-007", "duplicate sku_code"
    known = {s["sku_code"] for s in product["skus"]}
    for item in items:
        if item["sku_code"] not in known:
            return "F00-00-10007-008", f"sku_code {item['sku_code']} does not exist in product"
        price = _decimal(item.get("price"))
        if price is None or not MIN_PRICE <= price <= MAX_MONEY:
            return "F00-00-10007-011", f"sku {item['sku_code']}: price must be between 0.01 and 999999"
        discount = _decimal(item.get("discount_price"))
        if item.get("discount_price") not in (None, "") and (discount is None or not MIN_PRICE <= discount < price):
            return "F00-00-10007-012", f"sku {item['sku_code']}: discount_price must be at least 0.01 and below price"
    return None


def _check_stock_item(product: dict[str, Any], items: list[dict[str, Any]]) -> tuple[str, str] | None:
    if len(items) > 200:
        return "F00-00-10007-013", "at most 200 SKUs per product"
    codes = [i.get("sku_code") for i in items]
    if any(not c for c in codes):
        return "F00-00-10007-006", "Field:sku_code is empty"
    if len(set(codes)) != len(codes):
        return "F00-00-10007-007", "duplicate sku_code"
    current = {s["sku_code"]: s["stock"] for s in product["skus"]}
    for item in items:
        if item["sku_code"] not in current:
            return "F00-00-10007-008", f"sku_code {item['sku_code']} does not exist in product"
        try:
            stock = int(str(item.get("inventory")))
        except ValueError:
            return "F00-00-10007-014", f"sku {item['sku_code']}: inventory must be an integer"
        if not 0 <= stock <= 999999:
            return "F00-00-10007-014", f"sku {item['sku_code']}: inventory must be between 0 and 999999"
        current[item["sku_code"]] = stock
    if sum(current.values()) > 999999:
        return "F00-00-10007-015", "total inventory of a product must not exceed 999999"
    return None


def _batch_update(kind: str):  # noqa: ANN202 - a handler factory
    def handler(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
        entries = _json_param(params, "mutiple_product_update_list")
        if not isinstance(entries, list) or not entries:
            raise SimError("InvalidParameter", "mutiple_product_update_list must be a non-empty JSON array")
        if len(entries) > 20:
            raise SimError("InvalidParameter", "mutiple_product_update_list: at most 20 products per call")
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        at = now_ms()
        with sim.state.write() as tx:
            tx.products(_entry_ids(entries))
            seen: set[int] = set()
            for entry in entries:
                try:
                    pid = int(entry.get("product_id"))
                except (TypeError, ValueError):
                    raise SimError("InvalidParameter", "product_id is required") from None
                items = entry.get("multiple_sku_update_list") or []
                product = _own_product(tx, seller, pid)
                problem: tuple[str, str] | None
                if pid in seen:
                    problem = ("F00-00-10007-016", "product_id appears twice in one call")
                elif product is None:
                    problem = ("F00-00-10007-010", "product not found")
                elif not items:
                    problem = ("F00-00-10007-009", "multiple_sku_update_list is empty")
                else:
                    problem = (_check_price_item if kind == "price" else _check_stock_item)(product, items)
                seen.add(pid)
                if problem is None and sim._draw(sim.faults.item_fail):
                    problem = ("S00-10-10000-001", "system busy, please retry later")
                if problem is not None:
                    failed.append({"product_id": pid, "error_code": problem[0], "error_message": problem[1]})
                    continue
                by_code = {s["sku_code"]: s for s in product["skus"]}
                for item in items:
                    sku = by_code[item["sku_code"]]
                    if kind == "price":
                        sku["price"] = format(Decimal(str(item["price"])), "f")
                        discount = item.get("discount_price")
                        # documented hazard: an omitted discount_price is erased
                        sku["discount_price"] = None if discount in (None, "") else format(Decimal(str(discount)), "f")
                    else:
                        sku["stock"] = int(str(item["inventory"]))
                record_write(product, at)
                ok.append({"product_id": pid})
        simplify = params.get("simplify") == "true"
        body: dict[str, Any] = {"update_success": not failed,
                                "update_successful_list": _wrap(ok, "synchronize_product_response_dto", simplify),
                                "update_failed_list": _wrap(failed, "synchronize_product_response_dto", simplify)}
        if failed:
            body["update_error_code"] = failed[0]["error_code"]
            body["update_error_message"] = failed[0]["error_message"]
        return body

    return handler


def _range(value: Any, low: float, high: float) -> bool:
    try:
        return low <= float(value) <= high
    except (TypeError, ValueError):
        return False


def _product_edit(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    req = _json_param(params, "edit_product_request")
    if not isinstance(req, dict) or not req.get("product_id"):
        raise SimError("MissingParameter", "edit_product_request.product_id is required")
    pid = int(req["product_id"])

    def fail(code: str, msg: str) -> dict[str, Any]:
        return {"result": {"success": False, "product_id": pid, "error_code": code, "error_message": msg}}

    with sim.state.write() as tx:
        product = _own_product(tx, seller, pid)
        if product is None:
            return fail("F00-00-10007-010", "product not found")
        templates = {t["template_id"] for t in seller["freight_templates"]}
        if "freight_template_id" in req and int(req["freight_template_id"]) not in templates:
            return fail("090019", "freight template is invalid")
        if "weight" in req and not _range(req["weight"], 0.001, 500):
            return fail("F00-00-10007-020", "weight must be between 0.001 and 500 kg")
        for dim in ("package_length", "package_width", "package_height"):
            if dim in req and not _range(req[dim], 1, 700):
                return fail("F00-00-10007-021", f"{dim} must be between 1 and 700 cm")
        images = req.get("main_image_urls_list")
        if images is not None and (not isinstance(images, list) or not 1 <= len(images) <= 6):
            return fail("F00-00-10007-022", "main_image_urls_list takes 1 to 6 images")
        names: list[str] = []
        for url in images or []:
            photo = tx.photo(str(url))
            if photo is None or photo[0] != int(seller["seller_id"]):
                return fail("F00-00-10007-024", f"image {str(url)[:200]} is not in the seller's photobank; "
                            "upload it first")
            names.append(photo[1])
        for entry in req.get("multi_language_subject_list") or []:
            if len(str(entry.get("subject", ""))) > 128:
                return fail("F00-00-10007-023", "subject is limited to 128 characters")
        quals = req.get("aeop_qualification_struct_list")
        if quals is not None:
            problem = qualifications.entries_problem(product, quals, tx.photo, int(seller["seller_id"]))
            if problem:
                return fail("F00-00-10007-030", problem)  # the code is assumed
        if "freight_template_id" in req:
            product["freight_template_id"] = int(req["freight_template_id"])
        new_image = images is not None and names != list(product.get("main_images") or [])
        if images is not None:
            product["main_images"] = names
        subjects = req.get("multi_language_subject_list") or []
        english = [e for e in subjects if str(e.get("locale", "")).startswith("en")] or subjects
        if english:
            product["subject"] = str(english[0]["subject"])
        for key in ("weight", "package_length", "package_width", "package_height", "shipping_lead_time"):
            if key in req:
                product[key] = req[key]
        if "sku_info_list" in req:  # the real hazard: every existing SKU is replaced (new SKU ids too)
            product["skus"] = [{**sku_identity(pid, i + len(product["skus"])), "sku_code": s.get("sku_code"),
                                "price": format(Decimal(str(s.get("price", "0.01"))), "f"),
                                "discount_price": s.get("discount_price"), "stock": int(s.get("inventory", 0))}
                               for i, s in enumerate(req["sku_info_list"])]
        at = now_ms()
        if quals is not None:
            ext = req.get("ext_param") if isinstance(req.get("ext_param"), dict) else {}
            expired = set(seller.get("expired_qualification_images") or [])
            qualifications.apply_entries(product, quals, replace=bool(ext.get("deleteQualificationFlag")),
                                         expired=expired, image_id=photobank.image_id, at_ms=at,
                                         restore_s=sim.faults.qualification_s)
        if new_image and sim.draw(sim.faults.review_skip):  # assumed fault: no review ever starts
            pass
        elif new_image:  # a new main image goes through the platform's review
            first = tx.photo(names[0])
            reviewer.start(product, at, sim.faults.review_s, reviewer.refusal(first[2] if first else None,
                                                                          product.get("category")))
        record_write(product, at)
    return {"result": {"success": True, "product_id": pid}}


def _photo_upload(sim: Simulator, seller: dict[str, Any], params: dict[str, str],
                  files: dict[str, bytes]) -> dict[str, Any]:
    content = files.get("image_bytes")
    name = params.get("file_name", "")
    if content is None:
        raise SimError("MissingParameter", "image_bytes (multipart file) is required")
    if not name or len(name) > 256:
        return {"result": {"success": False, "error_code": "13004", "error_message": "file_name is required, <= 256"}}
    if len(content) > MAX_PHOTO_BYTES:
        return {"result": {"success": False, "error_code": "13002", "error_message": "image larger than 3 MB"}}
    width = height = None
    try:
        with reviewer.open_guarded(content) as img:
            width, height = img.size
    except Exception:  # noqa: BLE001 - not an image
        return {"result": {"success": False, "error_code": "13003", "error_message": "not a readable image"}}
    image = photobank.new_name(name)
    url = photobank.url_of(sim.public_url, image)
    with sim.state.write() as tx:
        tx.add_photo({"seller_id": seller["seller_id"], "file_name": name, "name": image,
                      "size": len(content), "group_id": params.get("group_id"), "at_ms": now_ms()}, content)
        used = tx.photobank_used(seller["seller_id"])
    return {"result": {"success": True, "status": "SUCCESS", "photobank_url": url, "width": width,
                       "height": height, "photobank_used_size": used, "photobank_total_size": 2 * 1024**3}}


def _freight_list(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    templates = [dict(t) for t in seller["freight_templates"]]
    return {"result_success": True, "aeop_freight_template_d_t_o_list":
            _wrap(templates, "aeop_freight_template_dto", params.get("simplify") == "true")}


def _freight_setting(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    """What a template offers (field names assumed; the API name is documented, its answer is not here)."""
    try:
        template_id = int(params.get("template_id", ""))
    except ValueError:
        raise SimError("MissingParameter", "template_id is required") from None
    if template_id not in {int(t["template_id"]) for t in seller["freight_templates"]}:
        return {"result_success": False, "result_error_code": "090019",
                "result_error_desc": "freight template is invalid"}
    settings = [{**s, "ship_to_countries": "ALL"} for s in FREIGHT_SETTINGS.get(template_id, [])]
    return {"result_success": True, "template_id": template_id,
            "freight_setting_list": _wrap(settings, "aeop_freight_setting", params.get("simplify") == "true")}


def _profile(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    """``aliexpress.merchant.profile.get``: the documented profile fields; the rich profile adds the standing and
    the merchant type (assumed: the real API shows neither, see docs/simulator.md)."""
    total, _page = sim.state.list_products(int(seller["seller_id"]), "onSelling", limit=1)
    profile = {"seller_id": seller["seller_id"], "country": "CN", "quotation_currency": "USD",
               "online_store_product_number": total, "auth_store_product_number": total,
               "limit_store_product_number": 3000}
    if sim.profile.assumed:
        profile.update(shop_name=seller["shop_name"], account_status=seller.get("account_status"),
                       merchant_type=seller.get("merchant_type"))
    return {"profile": profile}


def _solution_profile(sim: Simulator, seller: dict[str, Any], params: dict[str, str], _f: Any) -> dict[str, Any]:
    """``aliexpress.solution.merchant.profile.get``: its documented fields, top level in the answer (the official
    SDK's response class); ``product_posting_forbidden`` False means the merchant can post products normally."""
    store_num = default_store_num(int(seller["seller_id"]))
    return {"country_code": "CN", "product_posting_forbidden": bool(seller.get("product_posting_forbidden")),
            "merchant_login_id": f"seller{seller['seller_id']}", "shop_id": store_num,
            "shop_name": seller["shop_name"], "shop_type": "official",
            "shop_url": f"https://www.aliexpress.com/store/{store_num}"}


SYNC_METHODS = {
    "aliexpress.solution.product.list.get": _product_list,
    "aliexpress.solution.product.info.get": _product_info,
    "aliexpress.solution.batch.product.price.update": _batch_update("price"),
    "aliexpress.solution.batch.product.inventory.update": _batch_update("inventory"),
    "aliexpress.solution.product.edit": _product_edit,
    "aliexpress.photobank.redefining.uploadimageforsdk": _photo_upload,
    "aliexpress.freight.redefining.listfreighttemplate": _freight_list,
    "aliexpress.freight.redefining.getfreightsettingbytemplatequery": _freight_setting,
    "aliexpress.merchant.profile.get": _profile,
    "aliexpress.solution.merchant.profile.get": _solution_profile,
    "aliexpress.category.qualifications.list": _qualifications_list,
}


