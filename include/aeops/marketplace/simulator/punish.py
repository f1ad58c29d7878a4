"""The anti-bot ("baxia" punish) page the simulator answers with fault ``antibot`` / ``antibot_site``.

Shaped on the saved Alibaba punish page (``tests/fixtures/aliexpress/punish-baxia-taobao.html``) and the public
descriptions of AliExpress's (title "Captcha Interception", ``/_____tmd_____/punish?x5secdata=...``, "Sorry, we have
detected unusual traffic from your network", a slider): what a reader gets instead of the item page when the live
site takes it for a bot. The answer is HTTP 200 with ``bxpunish: 1``, as the saved one.
"""

from __future__ import annotations

import hashlib
import html

HEADERS = {"bxpunish": "1", "Cache-Control": "no-store"}


def punish_page(site: str, product_id: int, at_ms: int) -> str:
    """The punish page a visitor of ``site`` gets instead of item ``product_id``."""
    secdata = hashlib.sha256(f"{site}:{product_id}:{at_ms}".encode()).hexdigest()
    path = html.escape(f"/item/{int(product_id)}.html")
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>Captcha Interception</title>\n'
        '<link rel="stylesheet" href="https://g.alicdn.com/bsop-static/sufei-punish/0.0.133/build/main.css">\n'
        "</head>\n<body>\n<punish-component />\n<div id=\"baxia-dialog-content\">\n"
        "<p>Sorry, we have detected unusual traffic from your network.</p>\n<p>Please slide to verify</p>\n"
        '<div id="nocaptcha"></div>\n</div>\n<script>\nwindow._config_ = {\n'
        '    "renderTo": "#nocaptcha",\n    "action": "captcha",\n'
        f'    "HOST": "{html.escape(site)}.aliexpress.com:443",\n    "PATH": "{path}",\n'
        '    "FORMACTIOIN": "/_____tmd_____/verify/",\n    "BXSTEP": "100",\n'
        f'    "SECDATA": "{secdata}",\n'
        f'    "url": "{path}/_____tmd_____/punish?x5secdata={secdata}&x5step=1"\n'
        "};\n</script>\n<!--rgv587_flag:sm-->\n</body>\n</html>\n"
    )
