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
DEMO_SLACK_TOKEN = "xoxb-embedded-demo-token"
DEMO_STORE_NUMS = {"demo": 910000001, "demo-kids": 910000002}  # the storefront's /store/<number> of each store
