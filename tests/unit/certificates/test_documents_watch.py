"""Brand authorisations and category admissions in the certificate registry, watched with the certificates'
escalation: the alert names what each keeps on sale (a brand authorisation every product of its brand, a category
admission every product of its categories, whatever the brand) with the file's own brand marked; the health page
lists them by days left."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from aeops.certificates import watch
from aeops.config import load_config
from aeops.reports.health import certificates as health_certificates
from aeops.rules.certs_testing import make_document_pdf
from aeops.store.ledger import Ledger
from tests.fake_slack import FakeSlack

AS_OF = date(2026, 12, 1)
ROWS = [("1005000000000001", "toys", "Acme", "Acme kite"), ("1005000000000002", "home", "Acme", "Acme mug"),
        ("1005000000000003", "toys", "Tinytoy", "Tinytoy bear"), ("1005000000000004", "home", "Globex", "Globex vase")]


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    certs, exports = tmp_path / "certs", tmp_path / "exports"
    certs.mkdir()
    exports.mkdir()
    pd.DataFrame([{"product_id": p, "sku_code": f"S{p[-1]}", "title": t, "price": "9.99", "discount_price": "",
                   "stock": "5", "freight_template_id": "1001", "category": c, "brand": b, "main_image": "a.jpg"}
                  for p, c, b, t in ROWS]).to_csv(exports / "catalog.csv", index=False)
    url = f"sqlite:///{tmp_path / 'aeops.db'}"
    monkeypatch.setenv("AEOPS_DATABASE_URL", url)
    config = load_config({"database_url": url, "stores": [{
        "name": "demo", "language": "en", "certs": certs.as_uri(), "exports": str(exports)}]})
    return certs, url, config, FakeSlack()


def run(setup, as_of: date) -> dict[str, Any]:
    _, _, config, slack = setup
    watch.scan("demo", as_of, config=config)
    return watch.alert("demo", as_of, config=config, client=slack, marketplace=False)


def test_a_brand_authorisation_ten_days_from_expiry_alerts_naming_every_product_of_its_brand(setup) -> None:
    certs, _, _, slack = setup
    until = AS_OF + timedelta(days=10)
    make_document_pdf(certs / f"Acme_BrandAuth_{until:%Y%m%d}.pdf", brand="Acme", doc_type="BrandAuth",
                      valid_until=until, authoriser="Acme Brand GmbH", seller="Demo Trading Co.")
    result = run(setup, AS_OF)
    assert result["sent"] and result["warning"] == 1 and result["products_named"] == 2
    text = slack.texts()[-1]
    assert ("*Acme brand authorisation* `Acme_BrandAuth_20261211.pdf`: *10 day(s) left* (valid until 2026-12-11)"
            " · 14-day warning") in text
    assert "covers every product of Acme · live products at risk: *2* (newest export)" in text
    assert "`1005000000000001` Acme kite" in text and "`1005000000000002` Acme mug" in text
    assert "Tinytoy" not in text and "Globex" not in text  # another brand's products need no Acme letter
    assert "Ask Acme Brand GmbH for the renewed brand authorisation" in text
    assert not run(setup, AS_OF + timedelta(days=1))["sent"]  # once per threshold, like a certificate
    assert run(setup, until - timedelta(days=7))["sent"]  # the 7-day warning


def test_an_expired_category_admission_names_every_product_of_its_category(setup) -> None:
    certs, _, _, slack = setup
    make_document_pdf(certs / "Acme_CategoryAdmission_20261120.pdf", brand="Acme", doc_type="CategoryAdmission",
                      valid_until=date(2026, 11, 20), categories="Toys")
    result = run(setup, AS_OF)
    assert result["expired"] == 1
    text = slack.texts()[-1]
    assert "*Acme category admission* `Acme_CategoryAdmission_20261120.pdf`: *expired* 11 day(s) ago" in text
    assert "needed by: Toys · live products at risk: *2* (newest export) · 1 of them by Acme" in text
    assert "`1005000000000001` Acme kite · *Acme* ✓ this file" in text
    assert "`1005000000000003` Tinytoy bear · Tinytoy" in text  # another brand's toy, delisted with them
    assert "home" not in text.split("→")[0].split("needed by")[1]
    assert "Without a valid category admission every product of Toys is delisted" in text


def test_the_health_page_lists_documents_by_days_left(setup) -> None:
    certs, url, config, _ = setup
    make_document_pdf(certs / "Acme_BrandAuth_20270301.pdf", brand="Acme", doc_type="BrandAuth",
                      valid_until=date(2027, 3, 1), authoriser="Acme Brand GmbH", seller="Demo Trading Co.")
    watch.scan("demo", AS_OF, config=config)
    [row] = health_certificates(Ledger(url), config.store("demo"))
    assert (row["brand"], row["type"], row["label"]) == ("Acme", "BrandAuth", "brand authorisation")
