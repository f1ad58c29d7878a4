"""``MarketplaceClient``: the real client and every stand-in the tests pass to a step offer each call the steps
make, with parameters the steps can pass (by position or by name) and defaults where the Protocol has them."""

from __future__ import annotations

import inspect
from collections.abc import Callable

import httpx
import pytest

from aeops.marketplace import AliExpressClient
from aeops.marketplace.interface import MarketplaceClient
from aeops.verify.fake import FakeMarketplace
from tests.unit.sync.test_preflight import Seller
from tests.unit.verify.test_scale import PagedClient

METHODS = sorted(name for name, value in vars(MarketplaceClient).items()
                 if callable(value) and not name.startswith("_"))
ATTRIBUTES = sorted(MarketplaceClient.__annotations__)
P = inspect.Parameter
POSITIONAL = (P.POSITIONAL_ONLY, P.POSITIONAL_OR_KEYWORD)


def offline_client() -> AliExpressClient:
    return AliExpressClient("http://marketplace.invalid", "app", "interface-test-secret", "interface-test-token",
                            transport=httpx.MockTransport(lambda request: httpx.Response(500)))


STAND_INS: dict[str, Callable[[], object]] = {
    "AliExpressClient": offline_client,
    "FakeMarketplace": FakeMarketplace,  # the unit tests' and bench/verify.py's marketplace
    "Seller": Seller,  # tests/unit/sync/test_preflight.py
    "PagedClient": lambda: PagedClient(3),  # tests/unit/verify/test_scale.py
}


def incompatibilities(protocol: Callable, impl: Callable) -> list[str]:
    """How a call the Protocol allows could fail on ``impl`` (empty: every such call binds)."""
    wanted, offered = inspect.signature(protocol).parameters, inspect.signature(impl).parameters
    takes_any_keyword = any(p.kind is P.VAR_KEYWORD for p in offered.values())
    positional = [p for p in offered.values() if p.kind in POSITIONAL]
    problems = []
    for index, param in enumerate(wanted.values()):
        if param.kind in POSITIONAL:
            match = positional[index] if index < len(positional) else None
            if match is None or match.name != param.name:
                problems.append(f"{param.name}: not its positional parameter {index}")
                continue
        elif param.kind is P.KEYWORD_ONLY:
            match = offered.get(param.name)
            if match is None or match.kind not in (P.KEYWORD_ONLY, P.POSITIONAL_OR_KEYWORD):
                if match is not None or not takes_any_keyword:
                    problems.append(f"{param.name}: not accepted by name")
                continue
        else:
            continue
        if param.default is not P.empty and match.default is P.empty:
            problems.append(f"{param.name}: required, the Protocol lets callers leave it out")
    for name, param in offered.items():
        if name not in wanted and param.default is P.empty and param.kind not in (P.VAR_POSITIONAL, P.VAR_KEYWORD):
            problems.append(f"{name}: required, callers following the Protocol never pass it")
    return problems


def test_the_protocol_lists_what_steps_call() -> None:
    assert {"list_products", "iter_products", "get_product", "update_prices_batch", "update_inventory",
            "edit_product", "set_qualifications", "upload_image", "list_freight_templates", "freight_settings",
            "category_qualifications", "merchant_profile", "refresh_access_token"} == set(METHODS)
    assert ATTRIBUTES == ["access_token", "refresh_token"]


@pytest.mark.parametrize("name", STAND_INS)
def test_the_client_and_its_stand_ins_are_marketplace_clients(name: str) -> None:
    client = STAND_INS[name]()
    assert isinstance(client, MarketplaceClient)
    for method in METHODS:
        assert incompatibilities(getattr(MarketplaceClient, method), getattr(type(client), method)) == [], method


def test_the_signature_check_bites() -> None:
    class Narrow:
        def list_products(self, status, *, page, page_size, modified_since=None):  # PagedClient's old signature
            ...

        def get_product(self, pid, extra):
            ...

    optional = "required, the Protocol lets callers leave it out"
    never = "required, callers following the Protocol never pass it"
    assert incompatibilities(MarketplaceClient.list_products, Narrow.list_products) == [
        f"status: {optional}", f"page: {optional}", f"page_size: {optional}", "modified_until: not accepted by name"]
    assert incompatibilities(MarketplaceClient.get_product, Narrow.get_product) == [
        "product_id: not its positional parameter 1", f"pid: {never}", f"extra: {never}"]
    assert not isinstance(Narrow(), MarketplaceClient)  # calls and token attributes missing
