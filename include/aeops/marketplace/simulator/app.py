"""The FastAPI application that serves the simulator over real HTTP (``aeops simulator``)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Receive, Scope, Send

from aeops.marketplace.simulator import qualifications, shop_pages
from aeops.marketplace.simulator.errors import AnswerDropped, SimError
from aeops.marketplace.simulator.faults import DEVICES, SITES, Faults
from aeops.marketplace.simulator.profiles import RICH, Profile
from aeops.marketplace.simulator.protocol import Simulator, error_body
from aeops.marketplace.simulator.state import SimState


# ---------------------------------------------------------------------- the web app
def create_app(state: SimState, faults: Faults | None = None, *, public_url: str = "http://127.0.0.1",
               profile: Profile = RICH) -> Any:
    """The FastAPI application serving :class:`Simulator` (``app.state.sim`` holds it) in ``profile``
    (:mod:`~.profiles`: ``rich`` with the simulator's assumed fields, ``documented`` without)."""
    sim = Simulator(state, faults, public_url=public_url, profile=profile)
    app = FastAPI(title="aeops AliExpress Open Platform simulator", docs_url=None, redoc_url=None)
    app.state.sim = sim

    class DroppedResponse(Response):
        """Announce a body, send a fragment, end: the client sees the connection die mid-answer."""

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"', "more_body": False})

    async def read_params(request: Request) -> tuple[dict[str, str], dict[str, bytes]]:
        params = dict(request.query_params)
        files: dict[str, bytes] = {}
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                files[key] = await value.read()
            else:
                params[key] = str(value)
        return params, files

    def latency() -> None:
        if sim.faults.latency_ms:
            time.sleep(sim.faults.latency_ms / 1000)

    def answer(fn: Any, *args: Any) -> Response:
        latency()
        try:
            return JSONResponse(fn(*args))
        except SimError as err:
            return JSONResponse(error_body(err))
        except AnswerDropped:
            return DroppedResponse()

    @app.post("/sync")
    async def sync(request: Request) -> Response:
        params, files = await read_params(request)
        return await run_in_threadpool(answer, sim.handle_sync, params, files)

    @app.post("/rest/{path:path}")
    async def rest(path: str, request: Request) -> Response:
        params, _files = await read_params(request)
        return await run_in_threadpool(answer, sim.handle_rest, "/" + path, params)

    @app.get("/store/{site}/item/{product_id}.html")
    def store(site: str, product_id: int, device: str = "desktop") -> Response:
        if site not in SITES or device not in DEVICES:
            return HTMLResponse("<h1>404</h1>", status_code=404)
        answer = sim.storefront_answer(site, product_id, device)
        if answer is None:
            return HTMLResponse("<h1>Product not found</h1>", status_code=404)
        page, headers = answer
        return HTMLResponse(page, headers={"Cache-Control": "no-store", **headers})

    @app.get("/kf/{path:path}")
    def photobank_image(path: str) -> Response:
        """A photobank image's bytes at the URL the API handed out (and its item-page forms); else a store page's
        logo or banner (``/kf/<id>.png``, the same host and path shape on the real platform)."""
        found = sim.photo("/kf/" + path)
        if found is None and path.endswith(".png") and "/" not in path:
            data = shop_pages.image(state, path.removesuffix(".png"))
            found = None if data is None else ("image/png", data)
        if found is None:
            return Response(status_code=404)
        return Response(found[1], media_type=found[0], headers={"Cache-Control": "public, max-age=86400"})

    @app.get("/datacenter/{seller_id}/information-update-completion-rate")
    def completion(seller_id: int) -> Response:
        """The data center's figure; 404 in the documented profile (the real one is behind the seller login)."""
        rate = sim.completion_rate(seller_id)
        if rate is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse(rate)

    @app.post("/_sim/oauth/{seller_id}/code")
    def authorization_code(seller_id: int) -> Response:
        """The consent page's stand-in: the seller authorises the app; a one-time code for /auth/token/create."""
        try:
            return JSONResponse({"code": sim.authorization_code(seller_id)})
        except KeyError as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)

    @app.get("/_sim/state")
    def sim_state(views: bool = True) -> Response:
        state.settle_reviews(int(time.time() * 1000))
        return JSONResponse(state.snapshot_with_views(sim.faults, views=views))

    @app.get("/_sim/calls")
    def sim_calls() -> Response:
        """API name -> requests received since start or the last reset (tests count writes with it)."""
        return JSONResponse(sim.calls())

    @app.post("/_sim/calls/reset")
    def sim_calls_reset() -> Response:
        sim.reset_calls()
        return JSONResponse({"ok": True})

    @app.post("/_sim/qualifications/{seller_id}/expire")
    async def expire_qualification(seller_id: int, request: Request) -> Response:
        """The platform finds a seller's certificate expired (the stand-in for its reading of the valid-until
        date): body ``{"category": "toys", "cert": "CPC", "brand": "Playfun"}`` (brand optional); every product of
        the category (and brand) goes offline."""
        body = await request.json()
        try:
            hit = qualifications.expire_category(state, seller_id, body.get("category"), str(body.get("cert", "")),
                                                 int(time.time() * 1000), brand=body.get("brand"))
        except (ValueError, KeyError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "offline": hit})

    shop_pages.register(app, state, public_url, assumed=profile.assumed)  # /store/<number>, /_sim/store/<seller>

    @app.get("/_sim/health")
    def health() -> Response:
        return JSONResponse({"ok": True, "faults": vars(sim.faults), "profile": vars(sim.profile)})

    return app


