"""``aeops simulator``: a local AliExpress Open Platform over real HTTP (FastAPI + uvicorn).

Run ``aeops simulator --port 8765 --state sim.json --seed-from export.csv --faults qps=20,latency_ms=120``
(``--profile documented`` answers only what AliExpress documents, see :mod:`~.profiles`; ``--token-ttl-s``
shortens the tokens' lifetimes). The same :class:`~aeops.marketplace.client.AliExpressClient` talks to it and to
api-sg.aliexpress.com.

Demo app and sellers (from :mod:`aeops.demo`, created in a new state file)::

    app key 500001, secret "demo-app-secret-not-for-production"
    seller 2000000001 ("demo"):      access "demo-access-token-main", refresh "demo-refresh-token-main"
    seller 2000000002 ("demo-kids"): access "demo-access-token-kids", refresh "demo-refresh-token-kids"
    tokens valid 365 days (refresh 730) from state creation (the documented profile: 30 and 60 days from its
    start); product_posting_forbidden false; assumed, rich profile only: account_status "normal", merchant_type
    "enterprise"
    freight templates of every seller: 1001 Standard Shipping (default), 1002 Free Shipping, 1003 Express (DHL)

What is documented and what is assumed, behaviour by behaviour: docs/simulator.md.

Endpoints:

``POST /sync`` (also ``?method=``)
    Form (urlencoded or multipart) with ``app_key, method, timestamp, sign_method=sha256, session`` (or
    ``access_token``), ``sign`` and business params. Checks, in order: app key (``InvalidAppKey``),
    timestamp within 7200 s (``InvalidTimestamp``), signature (``IncompleteSignature``), token
    (``IllegalAccessToken``), per-seller QPS / ``throttle`` fault (``ApiCallLimit ... ban will last 1
    seconds``), ``daily_quota`` (``AppCallLimit``, sub_code ``accesscontrol.limited-by-app-access-count``),
    ``server_error`` fault (type ``SYSTEM``). Errors use the /sync shape
    ``{"error_response": {"type", "code", "msg", "request_id", "_trace_id_"}}``; success
    ``{"<method with _>_response": {..., "request_id"}}`` with ``simplify=false``-style list wrappers.
    Methods: ``aliexpress.solution.product.list.get``, ``aliexpress.solution.product.info.get``,
    ``aliexpress.solution.batch.product.price.update`` / ``.inventory.update`` (20 products, 200 SKUs a
    product, price 0.01-999999, discount < price, omitted discount erases it, stock 0-999999 and <= 999999
    a product; per-product ``update_successful_list`` / ``update_failed_list``),
    ``aliexpress.solution.product.edit`` (``sku_info_list`` replaces every SKU, like the real one; images only
    from the seller's photobank; a new main image sends the product into review: ``auditing`` for
    ``review_s``, then ``onSelling`` or ``editingRequired``, with ``audit_failure_reason`` in the rich profile),
    ``aliexpress.photobank.redefining.uploadimageforsdk`` (multipart ``image_bytes`` <= 3 MB, unsigned; answers
    ``photobank_url`` = ``{public_url}/kf/S<32 hex><char>.<ext>``), ``aliexpress.freight.redefining.
    listfreighttemplate``, ``...getfreightsettingbytemplatequery`` (a template's services),
    ``aliexpress.solution.merchant.profile.get`` (``product_posting_forbidden``, documented),
    ``aliexpress.merchant.profile.get`` (the rich profile adds ``profile.account_status``,
    ``profile.merchant_type``). ``gmt_*``
    strings are platform times (``platform_tz``, Beijing by default). Product reads carry SKU ids
    (``"14:<value id>"``) distinct from the seller's codes and image URLs, never file names.
``POST /rest/auth/token/create``, ``POST /rest/auth/token/refresh``
    /rest protocol (signature with the path prefix; no seller token needed: the ``code`` or ``refresh_token`` is
    the proof); answers the documented token fields (``expires_in``, ``refresh_expires_in``, ``expire_time``,
    ``refresh_token_valid_time``, ...) with ``code "0"``, lifetimes from the profile; a refresh renews the access
    token only. Errors in the /rest shape ``{"type", "code", "message", "request_id"}``, and an unknown
    refresh token in the legacy TOP shape (``code 15``, ``sub_code isv.refresh-token-invalid``). An expired or
    unknown access token is refused on every call with ``IllegalAccessToken`` "The specified access token is
    invalid or expired" (the platform's answer).
``POST /_sim/oauth/{seller_id}/code``
    The consent page's stand-in: a one-time authorisation code for ``/auth/token/create``.
``GET /store/{site}/item/{product_id}.html?device=desktop|mobile|anonymous``
    The storefront page per language site (en, ru, es, fr, pt) and device, in the structure of the real item
    page: ``window.runParams = { data: {...} }`` with SKUs keyed by SKU ids and property values, the shipping
    block of the product's freight template, and (rich profile: an addition the real page lacks)
    ``data.simulatorComponent.gmtModified`` (see :mod:`~.item_pages`). A view shows a write only after
    ``propagation_s``; ``stale_site`` pairs and ``never_device`` keep the seeded values.
``GET /kf/{image}``
    A photobank image's bytes (the URL forms the API and the pages hand out).
``GET /datacenter/{seller_id}/information-update-completion-rate``
    ``{"seller_id", "rate", "products", "complete", "incomplete_product_ids"}``: share of the seller's products
    with no update pending (not in review or refused by it, every (site, device) view showing the latest write).
    404 in the documented profile (the real figure is behind the seller login).
``GET /_sim/state[?views=false]``
    The whole state (apps, sellers, products with SKUs and ``gmt_modified_ms``) plus per-product views.
``GET /_sim/calls``, ``POST /_sim/calls/reset``
    API name -> requests received since start (or the last reset), for tests.
``POST /_sim/qualifications/{seller_id}/expire``
    ``{"category": "toys", "cert": "CPC"}``: the seller's certificate expired; every product of the category goes
    ``offline`` (``ws_offline_reason``) until a valid qualification image is attached by the product edit
    (``aeop_qualification_struct_list``), then ``onSelling`` after ``qualification_s``. Categories' needs:
    ``aliexpress.category.qualifications.list`` (:mod:`~.qualifications`).
``GET /_sim/health``
    ``{"ok": true, "faults": {...}, "profile": {...}}``.

Faults (``--faults``, see :class:`~aeops.marketplace.simulator.faults.Faults`): ``throttle, item_fail,
server_error, lost_response, stale_site, review_skip`` (probabilities; ``review_skip``: main-image edits never
reviewed, assumed), ``propagation_s, latency_ms, qps, daily_quota,
never_device, seed``; settings ``review_s, qualification_s, platform_tz``. ``lost_response`` applies the call,
then closes the connection mid-answer.
QPS windows, daily quotas and random draws are per simulator process; the catalog is shared.

Modules: :mod:`~aeops.marketplace.simulator.faults` (``--faults``), :mod:`~.profiles` (``--profile``: rich or
documented), :mod:`~.products` (catalog data, SKU identities, versions, views), :mod:`~.photobank` (image names
and URLs), :mod:`~.reviewer` (the reviewer), :mod:`~.qualifications`, :mod:`~.state` (the SQLite state),
:mod:`~.protocol` (checks, tokens and dispatch), :mod:`~.api` (the /sync methods), :mod:`~.item_pages` (item
pages, completion rate), :mod:`~.shop_pages` (store pages), :mod:`~.app` (the FastAPI app). The command
line (``aeops simulator``) is :mod:`aeops.commands.simulator`.
"""
