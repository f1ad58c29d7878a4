"""Which storage locations work is said plainly: paths and file:// do; another scheme fails in one line naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from aeops import cli, locations
from aeops.exports import newest_export


def test_plain_paths_and_file_urls_resolve_to_the_same_folder(tmp_path: Path) -> None:
    (tmp_path / "catalog.csv").write_text("sku_code\n", encoding="utf-8")
    assert locations.resolve(str(tmp_path)) == locations.resolve(tmp_path.as_uri()) == tmp_path
    assert newest_export(tmp_path.as_uri()) == (tmp_path / "catalog.csv").as_uri()


@pytest.mark.parametrize("url", ["s3://erp-bucket/exports/", "gs://erp/exports/"])
def test_an_object_store_without_its_provider_fails_in_one_line_naming_the_scheme(url: str) -> None:
    with pytest.raises(locations.LocationError) as caught:
        locations.resolve(url)
    message = str(caught.value)
    scheme = url.split("://")[0]
    assert f"the {scheme}:// scheme is not supported" in message and locations.SUPPORTED in message
    assert "\n" not in message


def test_the_cli_says_so_with_exit_code_2(capsys) -> None:
    code = cli.main(["validate", "s3://erp-bucket/exports/catalog.csv"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "s3:// scheme is not supported" in err and len(err.splitlines()) == 1
