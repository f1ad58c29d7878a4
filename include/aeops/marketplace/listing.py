"""Reading a whole store through ``aliexpress.solution.product.list.get``: the one page size and concurrent pages."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from aeops.marketplace.interface import MarketplaceClient
from aeops.marketplace.models import PRODUCT_STATUSES, Product

LIST_PAGE_SIZE = 99  # the list call's page size "must be less than 100": the largest page it allows
LIST_WORKERS = 4  # list pages read at once (enough to reach 20 calls/s at 120 ms latency)


def list_concurrently(client: MarketplaceClient, *, page_size: int = LIST_PAGE_SIZE,
                      modified_since: datetime | None = None, workers: int = LIST_WORKERS) -> Iterator[Product]:
    """Every product in every status (``modified_since`` when given), like ``client.iter_products``, but once
    a status's first page has told how many pages there are, the others are read ``workers`` at a time:
    read one after another, list calls are bound by the API's latency (120 ms: 7 calls/s); overlapped, by
    the store's QPS (the client's rate limiter)."""

    def page(status: str, number: int) -> list[Product]:
        return client.list_products(status, page=number, page_size=page_size, modified_since=modified_since).products

    pool = ThreadPoolExecutor(max(1, workers))
    try:
        for status in PRODUCT_STATUSES:
            first = client.list_products(status, page=1, page_size=page_size, modified_since=modified_since)
            yield from first.products
            if first.products and first.total_page > 1:
                for products in pool.map(lambda n, st=status: page(st, n), range(2, first.total_page + 1)):
                    yield from products
    finally:  # a reader that stops early (an error) does not wait for the pages nobody will read
        pool.shutdown(wait=True, cancel_futures=True)
