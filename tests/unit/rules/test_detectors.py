"""The image detectors on generated images: each problem raises its warning, each clean counterpart nothing."""

from __future__ import annotations

import pytest

from aeops.rules import detectors
from tests.unit.rules.detector_images import apparel_with_face, apparel_without_face, logo, png, product


def codes(image, *, apparel: bool = False, new_product: bool = False) -> list[str]:
    result = detectors.analyse(png(image))
    return [f.code for f in detectors.findings_for(result, "img.png", apparel=apparel, new_product=new_product)]


def test_apparel_image_without_a_face_raises_a_warning_for_a_person() -> None:
    [finding] = detectors.findings_for(detectors.analyse(png(apparel_without_face())), "dress.png", apparel=True,
                                       new_product=False)
    assert finding.code == "IMG-NO-FACE" and not finding.blocking
    assert "dress.png" in finding.message


def test_apparel_image_with_a_model_face_raises_nothing() -> None:
    result = detectors.analyse(png(apparel_with_face()))
    assert result["faces"] >= 1
    assert codes(apparel_with_face(), apparel=True) == []


def test_the_face_check_applies_to_apparel_only() -> None:
    assert codes(apparel_without_face(), apparel=False) == []


def test_watermarked_image_raises_img_text_naming_what_it_reads() -> None:
    [finding] = detectors.findings_for(detectors.analyse(png(product(watermark="SHOP-DEALS.COM"))), "mug.png",
                                       apparel=False, new_product=False)
    assert finding.code == "IMG-TEXT" and not finding.blocking
    assert "SHOP-DEALS" in finding.message.upper()


def test_clean_product_image_raises_nothing() -> None:
    assert codes(product()) == []


def test_logo_with_text_over_it_raises_logo_text() -> None:
    [finding] = detectors.logo_text(png(logo(text="SALE 50%")), "logo.png")
    assert finding.code == "LOGO-TEXT" and not finding.blocking


def test_clean_logo_raises_nothing() -> None:
    assert detectors.logo_text(png(logo()), "logo.png") == []


def test_new_product_first_image_must_be_white_and_at_least_1000_px() -> None:
    grey = product(size=900)
    grey.paste((235, 235, 235), (0, 0, 900, 40))
    grey.paste((235, 235, 235), (0, 860, 900, 900))
    assert set(codes(grey, new_product=True)) == {"IMG-NEW-BACKGROUND", "IMG-NEW-SIZE"}
    assert codes(product(size=1000), new_product=True) == []
    assert codes(grey, new_product=False) == []  # not new: the strict checks do not apply


def test_an_unreadable_image_gives_no_detector_finding() -> None:
    result = detectors.analyse(b"not an image")
    assert "error" in result
    assert detectors.findings_for(result, "x", apparel=True, new_product=True) == []


@pytest.mark.parametrize("module", ["cv2", "onnxruntime", "rapidocr_onnxruntime"])
def test_heavy_detector_libraries_are_not_imported_by_the_rules_module(module: str) -> None:
    import subprocess
    import sys

    code = f"import aeops.rules.detectors, sys; print({module!r} in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
