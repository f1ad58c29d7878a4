"""The canonical export columns and the header aliases ERPs use for them (English and Chinese)."""

from __future__ import annotations

import re

from aeops.findings import Text, part
from aeops.i18n import N_

#: Every export is normalised to these columns (one row per SKU), plus ``row``.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "product_id", "sku_code", "title", "price", "discount_price", "stock", "freight_template_id", "category",
    "brand", "main_image", "updated_at",
)
#: Without these the export cannot be checked at all (``FILE-COLUMNS``); the others are optional and
#: come out as empty columns when absent.
REQUIRED_COLUMNS: tuple[str, ...] = ("product_id", "sku_code", "title", "price", "stock")

_ALIASES: dict[str, tuple[str, ...]] = {
    "product_id": ("product id", "productid", "product", "item id", "itemid", "商品id", "商品编号", "产品id"),
    "sku_code": ("sku", "sku code", "skucode", "sku id", "seller sku", "sku编码", "sku编号", "sku代码", "商家编码"),
    "title": ("product title", "name", "product name", "标题", "商品标题", "商品名称", "产品标题"),
    "price": ("sale price", "售价", "价格", "零售价"),
    "discount_price": ("discount", "discount price", "promo price", "折扣价", "促销价", "折扣价格"),
    "stock": ("quantity", "qty", "inventory", "库存", "库存数量", "可售库存"),
    "freight_template_id": (
        "freight template", "freight template id", "shipping template", "shipping template id",
        "运费模板id", "运费模板", "运费模版id", "运费模版",
    ),
    "category": ("category name", "类目", "分类", "商品类目"),
    "brand": ("brand name", "品牌", "品牌名称"),
    "updated_at": ("updated", "last updated", "modified at", "last modified", "更新时间", "修改时间", "最后更新时间"),
    "main_image": ("image", "main image", "main image url", "image url", "主图", "主图链接", "主图地址", "主图url"),
}


def normalise_header(name: str) -> str:
    """Lower-case, trimmed, with ``_``/``-``/runs of spaces folded to one space (``SKU_Code`` -> ``sku code``)."""
    return re.sub(r"[\s_\-]+", " ", name.replace("\ufeff", "")).strip().lower()


ALIAS_TO_COLUMN: dict[str, str] = {}
for _column, _names in _ALIASES.items():
    for _name in (_column, *_names):
        ALIAS_TO_COLUMN[normalise_header(_name)] = _column


DOUBLE_COLUMN = part(N_("columns {first} and {second} both mean {column}"))


def map_headers(headers: list[str]) -> tuple[dict[int, str], list[Text]]:
    """Map header positions to canonical columns.

    Returns ``(position -> canonical column, problems)``; a problem is a canonical column named twice.
    Unknown headers are ignored (ERP exports carry many extra columns).
    """
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}
    problems: list[Text] = []
    for position, header in enumerate(headers):
        column = ALIAS_TO_COLUMN.get(normalise_header(str(header or "")))
        if column is None:
            continue
        if column in seen:
            problems.append(Text(DOUBLE_COLUMN, {"first": repr(seen[column]), "second": repr(header),
                                                 "column": column}))
            continue
        seen[column] = str(header)
        mapping[position] = column
    return mapping, problems
