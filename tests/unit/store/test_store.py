"""The aeops DB: the same models and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from aeops.store import current_revision, ensure_schema, head_revision, session_scope, upgrade
from aeops.store.db import alembic_config, redact_url, table_names
from aeops.store.models import Certificate, Change, Finding, ProductState, SyncRun

EXPECTED_TABLES = {
    "api_writes", "certificates", "changes", "exports", "findings", "logo_changes", "product_state",
    "self_checks", "site_strikes", "slack_outbox", "store_locks", "sync_runs", "token_state", "verify_results",
}
BIG_ID = 9007199254740993  # 2**53 + 1: a float would turn it into ...992


def test_upgrade_creates_every_table_and_reaches_head(db_url: str) -> None:
    upgrade(db_url)
    assert EXPECTED_TABLES <= set(table_names(db_url))
    assert current_revision(db_url) == head_revision()


def test_upgrade_is_repeatable_and_keeps_data(db_url: str) -> None:
    upgrade(db_url)
    with session_scope(db_url) as s:
        run = SyncRun(store="demo", dag_id="aliexpress_catalog_sync", run_id="r1")
        s.add(run)
        s.flush()
        s.add(Finding(sync_run_id=run.id, store="demo", code="SKU-CHARS", severity="error",
                      product_id=BIG_ID, sku_code="A&B", field="sku_code", message="remove '&'"))
    upgrade(db_url)
    ensure_schema(db_url)
    with session_scope(db_url) as s:
        finding = s.scalars(select(Finding)).one()
    assert finding.product_id == BIG_ID
    assert finding.sku_code == "A&B"


def test_64_bit_ids_and_json_fields_round_trip(db_url: str) -> None:
    upgrade(db_url)
    with session_scope(db_url) as s:
        s.add(ProductState(store="demo", product_id=BIG_ID, fields={"skus": {"A-1": {"price": "9.99"}}}))
        run = SyncRun(store="demo", dag_id="d", run_id="r")
        s.add(run)
        s.flush()
        s.add(Change(sync_run_id=run.id, store="demo", product_id=BIG_ID, kind="price", payload={"x": 1}))
        s.add(Certificate(store="demo", brand="Acme", cert_type="CE", file="Acme_CE_20270101.pdf",
                          sha256="0" * 64, valid_until=date(2027, 1, 1)))
    with session_scope(db_url) as s:
        state = s.get(ProductState, ("demo", BIG_ID))
        change = s.scalars(select(Change)).one()
    assert state is not None and state.fields["skus"]["A-1"]["price"] == "9.99"
    assert change.product_id == BIG_ID and isinstance(change.product_id, int)


def test_unique_change_per_run_product_kind(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    upgrade(db_url)
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            run = SyncRun(store="demo", dag_id="d", run_id="r")
            s.add(run)
            s.flush()
            for _ in range(2):
                s.add(Change(sync_run_id=run.id, store="demo", product_id=1, kind="price"))
                s.flush()


def test_migrations_match_the_models(db_url: str) -> None:
    """A model change without a migration would make production drift from the code."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from aeops.store.db import get_engine
    from aeops.store.models import Base

    upgrade(db_url)
    with get_engine(db_url).connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert diff == []
    assert alembic_config(db_url).get_main_option("script_location").endswith("migrations")


def test_redact_url_hides_passwords() -> None:
    assert "s3cret" not in redact_url("postgresql://aeops:s3cret@db/aeops")
    assert redact_url("postgresql://aeops:s3cret@db/aeops").startswith("postgresql://aeops:***@")
