#!/usr/bin/env python
"""The first run's main-image comparison: what deciding "same picture?" costs when aeops has no record.

A first run (or an emptied product state) fetches the image the platform shows for every product and compares
it with the export's by perceptual hash (``aeops.catalog.main_image_match.resolve_main_images``), instead of planning
an image edit (and a review) for every product. This seeds a simulator (uvicorn in a thread, loopback) with
``--products`` products, each with its own 800x800 JPEG in the photobank, and times the comparison with one
worker (the baseline) and with ``IMAGE_WORKERS`` side by side, plus a second pass over the recorded state
(what every later run costs: no fetch at all). ``--delay-ms`` adds latency to every image fetch, as the CDN
over the internet has.

Usage: python bench/first_run_images.py [--products 300] [--delay-ms 0]
"""

from __future__ import annotations

import argparse
import io
import socket
import tempfile
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def picture(n: int) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (800, 800), "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((100 + n % 200, 150, 500 + n % 250, 650 - n % 100), fill=(n * 37 % 256, n * 91 % 256, 120))
    draw.ellipse((300, 200 + n % 300, 700, 600), outline=(20, 20, n % 256), width=12)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--delay-ms", type=float, default=0.0, help="latency added to every image fetch")
    args = parser.parse_args()

    import uvicorn

    from aeops.catalog import main_image_match
    from aeops.catalog.main_image_match import ImageSources, add_source_digests, allowed_hosts, resolve_main_images
    from aeops.catalog.model import desired_from_rows, from_marketplace
    from aeops.demo import DEMO_APP_KEY, DEMO_APP_SECRET, DEMO_SELLERS
    from aeops.marketplace import AliExpressClient
    from aeops.marketplace.simulator.app import create_app
    from aeops.marketplace.simulator.faults import Faults
    from aeops.marketplace.simulator.state import SimState

    work = Path(tempfile.mkdtemp(prefix="aeops-bench-images-"))
    rows = []
    for n in range(args.products):
        (work / f"p{n}.jpg").write_bytes(picture(n))
        rows.append({"product_id": str(1005000000000001 + n), "sku_code": f"B{n}", "title": f"Bench {n}",
                     "price": "10.00", "discount_price": "", "stock": "5", "freight_template_id": "1001",
                     "category": "home", "brand": "Bench", "main_image": f"p{n}.jpg"})
    state = SimState(work / "sim.db")
    _name, seller_id, token, _refresh = DEMO_SELLERS["demo"]
    state.seed_rows(rows, seller_id=seller_id, images_dir=work)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    app = create_app(state, Faults(), public_url=url)
    if args.delay_ms:
        @app.middleware("http")
        async def slow_images(request, call_next):  # noqa: ANN001, ANN202 - a bench-only CDN latency
            if request.url.path.startswith("/kf/"):
                import asyncio

                await asyncio.sleep(args.delay_ms / 1000)
            return await call_next(request)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.01)
    client = AliExpressClient(url, DEMO_APP_KEY, DEMO_APP_SECRET, token, seller_id=seller_id, qps=1000)
    products = [client.get_product(int(r["product_id"])) for r in rows]
    client.close()

    def one_pass(workers: int, known: dict | None = None) -> tuple[float, dict]:
        main_image_match.IMAGE_WORKERS = workers
        desired = desired_from_rows(rows)
        sources = ImageSources(str(work))
        add_source_digests(desired, sources)
        current = {p.product_id: from_marketplace(p, (known or {}).get(p.product_id)) for p in products}
        start = time.perf_counter()
        outcome = resolve_main_images(desired, current, sources, allowed_hosts(url))
        elapsed = time.perf_counter() - start
        assert len(outcome["matched"]) == (0 if known else args.products), {k: len(v) for k, v in outcome.items()}
        return elapsed, current

    class Known:
        def __init__(self, fields: dict) -> None:
            self.fields = fields

    baseline, _ = one_pass(1)
    parallel, recorded = one_pass(8)
    later, _ = one_pass(8, {pid: Known(f) for pid, f in recorded.items()})
    server.should_exit = True
    print(f"{args.products} products, one distinct 800x800 image each, +{args.delay_ms:g} ms per image fetch")
    print(f"{'pass':<44}{'seconds':>10}{'ms/product':>12}{'vs baseline':>13}")
    for name, secs in (("first run, 1 worker (baseline)", baseline), ("first run, 8 workers", parallel),
                       ("later run (record stands: no fetch)", later)):
        print(f"{name:<44}{secs:>10.2f}{secs * 1000 / args.products:>12.2f}{baseline / max(secs, 1e-9):>12.1f}x")


if __name__ == "__main__":
    main()
