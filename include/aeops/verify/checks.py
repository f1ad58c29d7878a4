"""The verification checks as pure functions: what was pushed, what a page shows, who is to blame.

- :func:`expected_from_changes` turns a product's confirmed changes into what every page must show;
- :func:`check_listed` is the cheap timestamp check from the product list (``gmt_modified``);
- :func:`compare_page` compares one page with the expectation (timestamp where the page shows one, price,
  discount, stock, and the shipping block against what the freight template offers); an unreadable page (an
  anti-bot page, a redirect) is not compared;
- :func:`compare_product` compares the API's product query with the expectation (price, discount, stock,
  freight template, and that the review did not take it off sale);
- :func:`key_by_values` keys a page read without its product's SKU-id map by the seller's codes when its SKU
  values are exactly the ones expected and no stale value could pass for an expected one (``Expected.keyless``);
- :func:`site_disagreements` compares the language sites with each other (price and stock);
- :func:`attribute` turns failing pages into problems attributed to a language site (every device of it
  fails while other sites pass), a device (every site fails on it while other devices pass), or a single
  page; when no page shows the update, the problem is the product's (``timestamp``: not propagated).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from aeops.catalog.main_image_match import same_image_url
from aeops.catalog.model import money
from aeops.verify.page_reader import PageView, Shipping

TITLE_SITE = "en"  # the language site that shows the product's title as the seller sent it (en_US)
CLOCK_TOLERANCE = timedelta(seconds=2)  # our clock vs the platform's, plus gmt_modified's whole seconds
MAX_ROWS_PER_PROBLEM = 10

SkuValues = tuple[str | None, str | None, int | None]
"""What one SKU shows: (price, discount price, stock)."""


@dataclass
class Expected:
    """What the storefront must show for one product after this run's pushes."""

    product_id: int
    pushed_at: datetime
    prices: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)  # sku -> (price, discount)
    stocks: dict[str, int] = field(default_factory=dict)
    freight_template_id: str | None = None
    title: str | None = None  # this run's new title (the English site shows it as sent)
    main_image_url: str | None = None  # this run's new main image (its photobank URL)
    change_ids: list[int] = field(default_factory=list)
    kinds: set[str] = field(default_factory=set)
    shipping: Shipping | None = None  # what the template offers: (service code, free?); None = not known
    template_pushed: bool = False  # this run changed the template (else it is the one aeops knew)
    by_value: bool = False  # the platform already had the values (no newer last-modified): compare values only
    sku_values: dict[str, SkuValues] | None = None  # every SKU of the product after the run (None: not known)
    keyless: bool = False  # pages may be keyed by their values, without the SKU-id map (see key_by_values)
    review_refused: bool = False  # the review refused this run's new main image: already failed and alerted

    @property
    def not_before(self) -> datetime:
        """The earliest platform modification time that can be this push (clock tolerance allowed)."""
        return self.pushed_at - CLOCK_TOLERANCE


@dataclass(frozen=True)
class Problem:
    """One failed check: which product, which check, on which device/site, which field, expected vs seen."""

    product_id: int
    check: str  # timestamp | api | device | site | page
    field: str
    expected: str | None
    seen: str | None
    device: str | None = None
    site: str | None = None
    sku_code: str | None = None

    @property
    def price_or_stock(self) -> bool:
        """Whether the problem is a price or stock difference."""
        return self.field in ("price", "discount_price", "stock")



def expected_from_changes(changes: Iterable[Any], state_fields: Mapping[int, Mapping[str, Any]] | None = None
                          ) -> dict[int, Expected]:
    """Per product, from its confirmed changes (``Change`` rows): pushed values and the latest push time.

    The freight template is checked when this run changed it, else against the confirmed product state
    when aeops knows it.
    """
    result: dict[int, Expected] = {}
    before: dict[int, dict[str, dict[str, Any]]] = {}  # product -> SKU -> the values this run replaced
    for change in changes:
        pushed = change.pushed_at or change.updated_at  # aware UTC, as the aeops DB returns it
        exp = result.get(change.product_id)
        if exp is None:
            exp = result[change.product_id] = Expected(change.product_id, pushed)
        exp.pushed_at = max(exp.pushed_at, pushed)
        exp.change_ids.append(change.id)
        exp.kinds.add(change.kind)
        payload = change.payload or {}
        replaced = before.setdefault(change.product_id, {})
        for item in (getattr(change, "previous", None) or {}).get("skus", []):
            replaced.setdefault(str(item["sku_code"]), {}).update(item)
        if change.kind == "price":
            for item in payload.get("skus", []):
                exp.prices[str(item["sku_code"])] = (item.get("price"), item.get("discount_price"))
        elif change.kind == "inventory":
            for item in payload.get("skus", []):
                exp.stocks[str(item["sku_code"])] = int(item["inventory"])
        elif change.kind == "edit":
            fields = payload.get("fields") or {}
            if fields.get("freight_template_id"):
                exp.freight_template_id = str(fields["freight_template_id"])
                exp.template_pushed = True
            exp.title = fields.get("title") or exp.title
            exp.main_image_url = fields.get("main_image_pushed_url") or fields.get("main_image_url") or \
                exp.main_image_url
    for pid, exp in result.items():
        known = (state_fields or {}).get(pid) or {}
        if exp.freight_template_id is None and known.get("freight_template_id"):
            exp.freight_template_id = str(known["freight_template_id"])
        exp.sku_values = _sku_values_after(exp, known.get("skus"))
        exp.keyless = _values_tell_stale_apart(exp, before.get(pid, {}))
    return result


def _sku_values_after(exp: Expected, known: Mapping[str, Mapping[str, Any]] | None) -> dict[str, SkuValues] | None:
    """Every SKU's values once the run's writes show: the confirmed state with the pushed values on top."""
    if not known:
        return None
    values: dict[str, SkuValues] = {code: (v.get("price"), v.get("discount_price"), v.get("stock"))
                                    for code, v in known.items()}
    for code in set(exp.prices) | set(exp.stocks):
        price, discount, stock = values.get(code, (None, None, None))
        if code in exp.prices:
            price, discount = exp.prices[code]
        if code in exp.stocks:
            stock = exp.stocks[code]
        values[code] = (price, discount, stock)
    if any(price is None or stock is None for price, _, stock in values.values()):
        return None
    return values


def _values_tell_stale_apart(exp: Expected, replaced: Mapping[str, Mapping[str, Any]]) -> bool:
    """True when a page whose SKU values are exactly the expected ones must show every write, whichever SKU
    id each value sits on; then the page needs no SKU-id map (:func:`key_by_values`).

    A page lags per write: a changed SKU may still show its old price and discount (one write), its old stock
    (another), or both; the SKUs this run did not change show what aeops confirmed before. So the page's values
    equal the expected ones exactly when the changed SKUs' values, together, equal theirs. When no stale
    combination of a changed SKU equals what a changed SKU should show, that only happens when every changed SKU
    shows its writes. Values this run replaced without knowing them (a blind write) could equal anything: then
    the map is needed. Not covered: the platform putting one SKU's values on another (a swap no write made).
    """
    if exp.sku_values is None:
        return False
    changed = set(exp.prices) | set(exp.stocks)
    expected = {exp.sku_values[code] for code in changed}
    for code in changed:
        price, discount, stock = exp.sku_values[code]
        old = replaced.get(code, {})
        price_options = [(price, discount)]
        if code in exp.prices:
            if old.get("price") is None:
                return False
            price_options.append((old["price"], old.get("discount_price")))
        stock_options = [stock]
        if code in exp.stocks:
            if old.get("inventory") is None:
                return False
            stock_options.append(int(old["inventory"]))
        stale = {(p, d, q) for p, d in price_options for q in stock_options} - {(price, discount, stock)}
        if stale & expected:
            return False
    return True


def key_by_values(exp: Expected, page: PageView) -> PageView | None:
    """``page``, read without the product's SKU-id map, keyed by the seller's SKU codes through its values.

    Possible only when its SKUs show exactly the expected values (as a multiset) and ``exp.keyless`` says no
    stale value could pass for an expected one; SKUs with equal values are interchangeable for every check. None
    when the map must be read to tell which SKU shows what. A keyed page or an error page is returned as is.
    """
    if page.error or not page.page_ids:
        return page
    if not exp.keyless or exp.sku_values is None:
        return None
    shown: dict[SkuValues, list[Any]] = {}
    for view in page.skus.values():
        shown.setdefault((view.price, view.discount_price, view.stock), []).append(view)
    if Counter({k: len(v) for k, v in shown.items()}) != Counter(exp.sku_values.values()):
        return None
    skus = {code: shown[values].pop() for code, values in sorted(exp.sku_values.items())}
    return replace(page, skus=skus, page_ids={})


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def check_listed(exp: Expected, listed_modified: datetime | None) -> Problem | None:
    """The cheap check: the product list's ``gmt_modified`` is at or after the push (within tolerance)."""
    if listed_modified is not None and listed_modified >= exp.not_before:
        return None
    seen = _iso(listed_modified) if listed_modified else "not modified since the push"
    return Problem(exp.product_id, "timestamp", "gmt_modified", f">= {_iso(exp.pushed_at)}", seen)


def compare_page(exp: Expected, page: PageView) -> list[Problem]:
    """Differences between one page and the expectation (``check`` is filled in by :func:`attribute`)."""
    def problem(field_name: str, expected: Any, seen: Any, sku: str | None = None) -> Problem:
        return Problem(exp.product_id, "page", field_name, None if expected is None else str(expected),
                       None if seen is None else str(seen), page.device, page.site, sku)

    if page.unreadable:  # the storefront did not show the page (anti-bot, redirect): it says nothing of the product
        return []
    if page.error:
        return [problem("page", "a readable product page", page.error)]
    found: list[Problem] = []
    # The real page shows no last-modified time (only the simulator's does): values decide there.
    if page.last_modified is not None and not exp.by_value and page.last_modified < exp.not_before:
        found.append(problem("last_modified", f">= {_iso(exp.pushed_at)}", _iso(page.last_modified)))
    for sku, (price, discount) in sorted(exp.prices.items()):
        shown = page.skus.get(sku)
        if shown is None:
            found.append(problem("price", price, "SKU not on the page", sku))
            continue
        if shown.price != price:
            found.append(problem("price", price, shown.price, sku))
        if not shown.discount_is(discount):
            found.append(problem("discount_price", discount, shown.discount_price, sku))
    for sku, stock in sorted(exp.stocks.items()):
        shown = page.skus.get(sku)
        if shown is None:
            if sku not in exp.prices:
                found.append(problem("stock", stock, "SKU not on the page", sku))
            continue
        if shown.stock != stock:
            found.append(problem("stock", stock, shown.stock, sku))
    template = template_problem(exp, page.shipping)
    if template is not None:
        found.append(problem("freight_template_id", *template))
    # Values, not a timestamp, show an edit (real pages carry no last-modified time): the English site shows the
    # title as sent (the others show translations), every page the main image; a page without them says nothing.
    if exp.title and page.site == TITLE_SITE and page.title is not None and " ".join(page.title.split()) != \
            " ".join(exp.title.split()):
        found.append(problem("title", exp.title, page.title))
    if exp.main_image_url and page.main_image is not None and not same_image_url(page.main_image, exp.main_image_url):
        found.append(problem("main_image", exp.main_image_url, page.main_image))
    return found


def compare_product(exp: Expected, product: Any) -> list[Problem]:
    """Differences between the API's product query (``client.get_product``) and the expectation: what the catalog
    holds (``check="api"``). A product the review refused (``editingRequired``) is off sale whatever its values,
    unless this run's review follow-up already failed its main-image edit for it (``exp.review_refused``): its
    other changes are then judged by their values, and the refusal stays reported once, with the edit."""
    def problem(field_name: str, expected: Any, seen: Any, sku: str | None = None) -> Problem:
        return Problem(exp.product_id, "api", field_name, None if expected is None else str(expected),
                       None if seen is None else str(seen), sku_code=sku)

    found: list[Problem] = []
    if getattr(product, "status", None) == "editingRequired" and not exp.review_refused:
        found.append(problem("status", "onSelling", product.status))
    skus = {str(s.sku_code): s for s in product.skus if s.sku_code}
    for code, (price, discount) in sorted(exp.prices.items()):
        sku = skus.get(code)
        if sku is None:
            found.append(problem("price", price, "SKU not in the product query", code))
            continue
        if money(sku.price) != price:
            found.append(problem("price", price, money(sku.price), code))
        if money(sku.discount_price) != discount:
            found.append(problem("discount_price", discount, money(sku.discount_price), code))
    for code, stock in sorted(exp.stocks.items()):
        sku = skus.get(code)
        if sku is None:
            if code not in exp.prices:
                found.append(problem("stock", stock, "SKU not in the product query", code))
        elif sku.stock != stock:
            found.append(problem("stock", stock, sku.stock, code))
    template = None if product.freight_template_id is None else str(product.freight_template_id)
    if exp.freight_template_id is not None and exp.template_pushed and template != exp.freight_template_id:
        found.append(problem("freight_template_id", exp.freight_template_id, template))
    return found


def describe_shipping(offers: Shipping | None) -> str:
    """A product's shipping offers in words, e.g. ``CAINIAO_STANDARD free``."""
    if not offers:
        return "no shipping service"
    return ", ".join(f"{code} {'free' if free else 'charged'}" for code, free in sorted(offers))


def template_problem(exp: Expected, shown: Shipping | None) -> tuple[str, str] | None:
    """(expected, seen) when the page's shipping block does not come from the expected freight template.

    The page never names the template: it lists the logistics services the template offers the visitor's
    country, each free or charged. Every service shown must be one the expected template offers, with the same
    free/charged terms (a country the template excludes may show fewer), and at least one must be shown. A
    page without a shipping block cannot prove the template, so it fails too. When the template's services
    cannot be read, a template this run pushed fails; one aeops only knew from before is not compared.
    """
    if exp.freight_template_id is None:
        return None
    want = f"template {exp.freight_template_id}: {describe_shipping(exp.shipping)}"
    if exp.shipping is None:  # pushed by this run: unproven is a failure; merely known: nothing to compare with
        if not exp.template_pushed:
            return None
        return f"template {exp.freight_template_id}", "the template's services could not be read from the API"
    if shown is None:
        return want, "no shipping block on the page"
    if not shown or not shown <= exp.shipping:
        return want, describe_shipping(shown)
    return None


def site_disagreements(pages: Sequence[PageView], exp: Expected | None = None) -> list[Problem]:
    """Language sites of one device that disagree with the majority on a SKU's price or stock.

    Values this run pushed are left out: there the pushed value is right, not the majority, and
    :func:`compare_page` / :func:`attribute` already blame the sites that do not show it.
    """
    pushed = {(code, "price") for code in (exp.prices if exp else {})} | {
        (code, "stock") for code in (exp.stocks if exp else {})}
    found: list[Problem] = []
    by_device: dict[str, list[PageView]] = {}
    for page in pages:
        if not page.error and page.readable:
            by_device.setdefault(page.device, []).append(page)
    for device, views in by_device.items():
        if len({v.site for v in views}) < 2:
            continue
        codes = sorted({code for v in views for code in v.skus})
        for code in codes:
            for field_name in ("price", "stock"):
                if (code, field_name) in pushed:
                    continue
                values = [(v.site, getattr(v.skus.get(code), field_name, None)) for v in views]
                counts: dict[Any, int] = {}
                for _, value in values:
                    counts[value] = counts.get(value, 0) + 1
                if len(counts) < 2:
                    continue
                majority = max(counts, key=lambda val: (counts[val], val is not None))
                for site, value in values:
                    if value != majority:
                        found.append(Problem(views[0].product_id, "site", field_name, str(majority),
                                             None if value is None else str(value), device, site, code))
    return found


def attribute(product_id: int, checked: Sequence[tuple[str, str]], problems: Sequence[Problem]) -> list[Problem]:
    """Blame failing pages on a site, a device, or the product (nothing shows it), else on single pages.

    Sites first (a stale site fails on every device), then devices (a device that never updates fails on
    every remaining site). Returned problems carry ``check`` = ``site`` / ``device`` / ``timestamp``.
    """
    if not problems:
        return []
    failing = {(p.site, p.device) for p in problems}
    cells = set(checked)
    if failing >= cells:  # nothing shows the update: not propagated (yet), the product's problem
        first_cell = min(failing)
        return _pick(problems, first_cell, "timestamp", device=None, site=None)
    result: list[Problem] = []
    explained: set[tuple[str, str]] = set()
    for site in sorted({s for s, _ in cells}):
        site_cells = {c for c in cells if c[0] == site}
        if site_cells <= failing and cells - site_cells - failing:
            result += _pick(problems, min(site_cells), "site", device=None, site=site)
            explained |= site_cells
    for device in sorted({d for _, d in cells}):
        device_cells = {c for c in cells if c[1] == device} - explained
        if device_cells and device_cells <= failing and cells - explained - device_cells - failing:
            result += _pick(problems, min(device_cells), "device", device=device, site=None)
            explained |= device_cells
    for cell in sorted(failing - explained):
        result += _pick(problems, cell, "device", device=cell[1], site=cell[0])
    return result


def _pick(problems: Sequence[Problem], cell: tuple[str | None, str | None], check: str, *, device: str | None,
          site: str | None) -> list[Problem]:
    """The problems seen on ``cell`` as the attributed problem (at most ``MAX_ROWS_PER_PROBLEM``)."""
    chosen = [p for p in problems if (p.site, p.device) == cell][:MAX_ROWS_PER_PROBLEM]
    return [Problem(p.product_id, check, p.field, p.expected, p.seen, device, site, p.sku_code) for p in chosen]
