"""The client pointed at a capture server (not the simulator) sends byte for byte what the docs describe.

Docs: docs/aliexpress-api.md §1 (system params, epoch-ms timestamp, sha256, ``session`` on /sync,
``access_token`` on /rest, path prefix only for /rest names, complex params as compact JSON signed as sent,
file params multipart and unsigned).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from aeops.marketplace import AliExpressClient, SkuPrice

SECRET = "helloworld"
CLOCK = 1517820392.0  # -> timestamp "1517820392000"


class Capture:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reply: dict[str, Any] = {}
        capture = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                capture.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                data = json.dumps(capture.reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)


@pytest.fixture
def capture() -> Iterator[Capture]:
    cap = Capture()
    cap.thread.start()
    yield cap
    cap.server.shutdown()
    cap.server.server_close()
    cap.thread.join(timeout=5)


def documented_sign(prefix: str, params: dict[str, str]) -> str:
    text = prefix + "".join(k + params[k] for k in sorted(params))
    return hmac.new(SECRET.encode(), text.encode(), hashlib.sha256).hexdigest().upper()


def client(url: str) -> AliExpressClient:
    return AliExpressClient(url, "123456", SECRET, "test", clock=lambda: CLOCK, qps=1000)


def test_sync_batch_price_update_body_is_exactly_the_documented_form(capture: Capture) -> None:
    capture.reply = {"aliexpress_solution_batch_product_price_update_response": {
        "update_success": True, "update_successful_list": [{"product_id": 9007199254740993}]}}
    with client(capture.url) as c:
        report = c.update_prices({9007199254740993: [SkuPrice("A-1", "19.90", "15.00")]})
    assert report.outcomes[9007199254740993].status == "success"
    (req,) = capture.requests
    assert req["path"] == "/sync"
    assert req["headers"]["Content-Type"] == "application/x-www-form-urlencoded;charset=utf-8"
    business = ('[{"product_id":9007199254740993,"multiple_sku_update_list":'
                '[{"sku_code":"A-1","price":"19.90","discount_price":"15.00"}]}]')
    params = {"app_key": "123456", "format": "json", "method": "aliexpress.solution.batch.product.price.update",
              "mutiple_product_update_list": business, "session": "test", "sign_method": "sha256",
              "timestamp": "1517820392000"}
    params["sign"] = documented_sign("", params)  # /sync: no API-name prefix
    assert req["body"] == urllib.parse.urlencode(sorted(params.items())).encode()


def test_rest_token_refresh_is_signed_with_the_path_prefix(capture: Capture) -> None:
    capture.reply = {"code": "0", "access_token": "new", "refresh_token": "r2", "expire_time": 1, "seller_id": "7"}
    with client(capture.url) as c:
        c.access_token = None
        info = c.refresh_access_token("r1")
    assert info.access_token == "new" and info.seller_id == 7
    (req,) = capture.requests
    assert req["path"] == "/rest/auth/token/refresh"
    params = {"app_key": "123456", "refresh_token": "r1", "sign_method": "sha256", "timestamp": "1517820392000"}
    params["sign"] = documented_sign("/auth/token/refresh", params)
    assert req["body"] == urllib.parse.urlencode(sorted(params.items())).encode()


def test_photobank_upload_is_multipart_and_the_file_is_not_signed(capture: Capture) -> None:
    capture.reply = {"aliexpress_photobank_redefining_uploadimageforsdk_response": {
        "result": {"success": True, "photobank_url": "https://ae01.example/x.jpg"}}}
    with client(capture.url) as c:
        assert c.upload_image("x.jpg", b"\xff\xd8jpeg-bytes").photobank_url == "https://ae01.example/x.jpg"
    (req,) = capture.requests
    assert req["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    body = req["body"]
    assert b'name="image_bytes"; filename="x.jpg"' in body and b"\xff\xd8jpeg-bytes" in body
    params = {"app_key": "123456", "file_name": "x.jpg", "format": "json",
              "method": "aliexpress.photobank.redefining.uploadimageforsdk", "session": "test",
              "sign_method": "sha256", "timestamp": "1517820392000"}
    expected_sign = documented_sign("", params)
    assert f'name="sign"\r\n\r\n{expected_sign}\r\n'.encode() in body
