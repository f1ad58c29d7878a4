"""Logo rules: PNG, at least 800x800, a clear message for anything unreadable."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from aeops.findings import Severity
from aeops.rules.logo import check_logo


def _logo(path: Path, size: tuple[int, int] = (800, 800), fmt: str = "PNG") -> Path:
    Image.new("RGBA", size, (20, 120, 200, 255)).convert("RGBA" if fmt == "PNG" else "RGB").save(path, format=fmt)
    return path


def test_good_logo(tmp_path: Path) -> None:
    assert check_logo(str(_logo(tmp_path / "logo.png"))) == []


@pytest.mark.parametrize("size", [(799, 800), (800, 799), (400, 400)])
def test_small_logo_is_logo_size(tmp_path: Path, size: tuple[int, int]) -> None:
    path = _logo(tmp_path / "logo.png", size)
    findings = check_logo(str(path))
    assert [f.code for f in findings] == ["LOGO-SIZE"]
    assert findings[0].message == f"logo {path} is {size[0]}x{size[1]}, below the 800x800 minimum; export it larger"
    assert findings[0].severity is Severity.ERROR


@pytest.mark.parametrize("size", [(800, 800), (801, 800), (800, 1600)])
def test_a_logo_of_800_on_both_axes_or_more_passes(tmp_path: Path, size: tuple[int, int]) -> None:
    assert check_logo(str(_logo(tmp_path / "logo.png", size))) == []


def test_jpeg_logo_is_logo_format(tmp_path: Path) -> None:
    findings = check_logo(str(_logo(tmp_path / "logo.png", fmt="JPEG")))  # misleading extension
    assert [f.code for f in findings] == ["LOGO-FORMAT"] and "JPEG, not PNG" in findings[0].message


@pytest.mark.parametrize("content", [b"", b"not an image at all", "truncated"])
def test_unreadable_logo_is_logo_format(tmp_path: Path, content: bytes | str) -> None:
    path = tmp_path / "logo.png"
    if content == "truncated":
        data = _logo(tmp_path / "full.png", (1000, 1000)).read_bytes()
        content = data[: len(data) // 2]
    path.write_bytes(content)  # type: ignore[arg-type]
    findings = check_logo(str(path))
    assert [f.code for f in findings] == ["LOGO-FORMAT"]
    assert findings[0].file == str(path)


def test_missing_logo_says_where(tmp_path: Path) -> None:
    findings = check_logo(str(tmp_path / "nope.png"))
    assert [f.code for f in findings] == ["LOGO-FORMAT"] and "does not exist" in findings[0].message


def test_a_logo_above_the_read_cap_is_refused_unread_and_one_at_the_cap_is_read(tmp_path) -> None:
    from aeops.rules.logo import LOGO_MAX_BYTES, check_logo

    for name, size in (("at-cap.png", LOGO_MAX_BYTES), ("above.png", LOGO_MAX_BYTES + 1)):
        with open(tmp_path / name, "wb") as f:  # sparse: nothing written
            f.truncate(size)
    [above] = check_logo(tmp_path / "above.png", detect_text=False)
    assert (above.code, above.message) == ("LOGO-FORMAT", f"logo {tmp_path / 'above.png'} is larger than 20 MB; "
                                                          "export a PNG of about 800x800 to 1200x1200")
    [at_cap] = check_logo(tmp_path / "at-cap.png", detect_text=False)
    assert at_cap.code == "LOGO-FORMAT" and "larger than" not in at_cap.message  # read: it is not an image
