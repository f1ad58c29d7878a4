"""The demo app, sellers and Slack token of the embedded mode (a leaf: imports nothing of aeops).

They exist only in the local simulator and the local Slack sink: nothing here is a real secret. The
simulator seeds its state with them and :mod:`aeops.embedded` writes the matching Airflow connections.
"""

from __future__ import annotations

DEMO_APP_KEY = "500001"
DEMO_APP_SECRET = "demo-app-secret-not-for-production"
DEMO_SELLERS = {
    # store name -> (connection id, seller id, access token, refresh token)
    "demo": ("aliexpress_default", 2000000001, "demo-access-token-main", "demo-refresh-token-main"),
    "demo-kids": ("aliexpress_kids", 2000000002, "demo-access-token-kids", "demo-refresh-token-kids"),
}
# A third demo seller the simulator knows and the embedded mode has a connection for, but which is not in the
# embedded aeops_config: the store `aeops store add demo-3 --conn-id aliexpress_demo3 --like demo` adds (README)
DEMO_SPARE_SELLERS = {
    "demo-3": ("aliexpress_demo3", 2000000003, "demo-access-token-3", "demo-refresh-token-3"),
}
ALL_DEMO_SELLERS = {**DEMO_SELLERS, **DEMO_SPARE_SELLERS}
DEMO_SLACK_TOKEN = "xoxb-embedded-demo-token"
DEMO_STORE_NUMS = {"demo": 910000001, "demo-kids": 910000002, "demo-3": 910000003}  # storefront /store/<number>
# the spare seller's marketplace is seeded from the sample export of the store named here
DEMO_SPARE_EXPORTS = {"demo-3": "demo"}
