"""Files read on a person's or an export's word stay inside the configured folders: the urgent ``price_file``, the
daily sync's ``export`` Param and every local ``main_image`` (docs/validation.md, docs/urgent.md)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from PIL import Image

from aeops import locations
from aeops.catalog import push
from aeops.config import AeopsConfig, StoreConfig
from aeops.locations import LocationError, confine
from aeops.rules.images import ImageProblem, check_images, fetch_image_bytes
from aeops.urgent.change_sets import plan_price_override
from aeops.urgent.pricing import PriceError, read_price_file
from aeops.urgent.request import RequestError, parse_request


def _jpeg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (800, 800), "white").save(path, "JPEG")
    return path


def test_a_path_inside_the_folder_is_taken_relative_or_absolute_or_as_a_file_url(tmp_path: Path) -> None:
    (tmp_path / "prices").mkdir()
    target = tmp_path / "prices" / "p.csv"
    target.write_text("x", encoding="utf-8")
    roots = {"price_files": str(tmp_path / "prices")}
    assert confine("p.csv", roots, "price_file") == str(target)
    assert confine(str(target), roots, "price_file") == str(target)
    assert confine(target.as_uri(), roots, "price_file") == str(target)


@pytest.mark.parametrize("given", ["/etc/passwd", "../secret.csv", "prices/../../secret.csv", "file:///etc/passwd",
                                   "s3://bucket/prices.csv"])
def test_anything_outside_is_refused_in_one_line_naming_the_setting(tmp_path: Path, given: str) -> None:
    (tmp_path / "prices").mkdir()
    with pytest.raises(LocationError) as refused:
        confine(given, {"price_files": str(tmp_path / "prices"), "exports": ""}, "price_file")
    message = str(refused.value)
    assert message.startswith(f"price_file {given!r} is outside") and "stores[].price_files" in message
    assert "\n" not in message


def test_a_symlink_pointing_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "prices").mkdir()
    (tmp_path / "outside.csv").write_text("sku_code,price\nA,1\n", encoding="utf-8")
    (tmp_path / "prices" / "link.csv").symlink_to(tmp_path / "outside.csv")
    with pytest.raises(LocationError, match="is outside"):
        confine("link.csv", {"price_files": str(tmp_path / "prices")}, "price_file")


def test_an_object_store_root_takes_only_urls_under_its_prefix() -> None:
    roots = {"exports": "s3://erp/exports/"}
    assert confine("s3://erp/exports/catalog.csv", roots, "export") == "s3://erp/exports/catalog.csv"
    for bad in ("s3://erp/exports/../secrets.csv", "s3://erp/other.csv", "s3://erp/exports-x/a.csv"):
        with pytest.raises(LocationError, match="stores\\[\\].exports"):
            confine(bad, roots, "export")


def test_no_folder_configured_is_said_so() -> None:
    with pytest.raises(LocationError, match="no folder for it is configured"):
        confine("/tmp/p.csv", {"price_files": "", "exports": ""}, "price_file")


def test_price_file_etc_passwd_is_refused_before_anything_is_read(tmp_path: Path, monkeypatch) -> None:
    request = parse_request({"store": "demo", "mode": "price_override", "reason": "Black Friday repricing",
                             "price_file": "/etc/passwd"}, ["demo"])
    store = StoreConfig(name="demo", exports=str(tmp_path / "exports"), price_files=str(tmp_path / "prices"))
    opened: list[object] = []
    monkeypatch.setattr("aeops.urgent.change_sets.read_price_file", lambda path: opened.append(path))
    with pytest.raises(RequestError) as refused:
        plan_price_override(SimpleNamespace(store=store), client=None, request=request)
    message = str(refused.value)
    assert "price_file '/etc/passwd' is outside" in message
    assert "stores[].price_files or stores[].exports" in message and "root:" not in message
    assert opened == []


def test_price_file_errors_name_the_line_and_column_never_a_cells_value(tmp_path: Path) -> None:
    cases = {"sku_code,price\nA-1,sk-live-TOPSECRET\n": "line 2: price is not a number",
             "sku_code,price\nA-1,-5\n": "line 2: price is not a positive number",
             "sku_code,price,discount_price\nA-1,5,sk-live-TOPSECRET\n": "line 2: discount_price is not a number",
             "sku_code,price,product_id\nA-1,5,sk-live-TOPSECRET\n": "line 2: product_id is not a number",
             "sku_code,price\nsk-live-TOPSECRET,5\nsk-live-TOPSECRET,6\n": "line 3: its sku_code appears",
             "AWS_SECRET=sk-live-TOPSECRET\n": "needs the columns sku_code and price"}
    for number, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"p{number}.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(PriceError) as caught:
            read_price_file(path)
        assert expected in str(caught.value) and "TOPSECRET" not in str(caught.value), str(caught.value)


def test_a_main_image_escaping_the_images_folder_is_a_finding_not_a_read(tmp_path: Path) -> None:
    images_dir = tmp_path / "images"
    _jpeg(images_dir / "ok.jpg")
    _jpeg(tmp_path / "x.jpg")  # exists, but outside images_dir
    (images_dir / "link.jpg").symlink_to(tmp_path / "x.jpg")
    frame = pd.DataFrame({"row": [2, 3, 4, 5, 6], "product_id": ["1005001"] * 5, "sku_code": list("ABCDE"),
                          "category": ["home"] * 5,
                          "main_image": ["ok.jpg", "../x.jpg", str(tmp_path / "x.jpg"), "link.jpg", "/etc/passwd"]})
    findings = check_images(frame, str(images_dir), AeopsConfig(), [])
    by_row = {f.row: f for f in findings}
    assert 2 not in by_row
    for row in (3, 4, 5, 6):
        assert by_row[row].code == "IMG-UNREADABLE" and "outside the store's images folder" in by_row[row].message
    assert "root:" not in " ".join(f.message for f in findings)


def test_a_main_image_escaping_the_images_folder_is_never_uploaded(tmp_path: Path) -> None:
    images_dir = tmp_path / "images"
    images_dir.mkdir()
    _jpeg(tmp_path / "x.jpg")
    uploads: list[str] = []
    client = SimpleNamespace(upload_image=lambda name, *a, **k: uploads.append(name))
    with pytest.raises(ImageProblem):
        push._upload(client, "../x.jpg", str(images_dir))
    with pytest.raises(ImageProblem):
        fetch_image_bytes(str(tmp_path / "x.jpg"), images_dir=str(images_dir))
    assert uploads == []
    assert fetch_image_bytes("x.jpg", images_dir=str(tmp_path))[:2] == b"\xff\xd8"  # inside: read


def test_the_resolver_still_reads_plain_locations(tmp_path: Path) -> None:
    assert locations.resolve(str(tmp_path)) == tmp_path


def test_the_rate_limiter_s_redis_password_is_masked_everywhere() -> None:
    from aeops.marketplace.ratelimit import make_rate_limiter
    from aeops.secrets import redact

    make_rate_limiter("redis://:s3cret-redis-pass@127.0.0.1:6379/1", qps=5)
    assert "s3cret-redis-pass" not in redact("broker redis://:s3cret-redis-pass@redis:6379/1 refused")
    with pytest.raises(ValueError) as refused:
        make_rate_limiter("memcache://:other-pass-123@host/1", qps=5)
    assert "other-pass-123" not in str(refused.value)
