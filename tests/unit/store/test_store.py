"""The aeops DB: the same models and migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest
from sqlalchemy import select, text

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


def test_the_recorded_head_is_the_newest_migration() -> None:
    """The schema check compares with HEAD_REVISION, not the scripts: a new migration must move it, or every
    task would take a current database for one behind (and a database behind for current)."""
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_checking_a_current_schema_loads_no_alembic(db_url: str) -> None:
    """Every task process checks the schema when it first opens the aeops DB: on a current one that is one query,
    not Alembic's ~0.15 CPU-s of imports and script reading (a task process of a Celery worker or LocalExecutor)."""
    upgrade(db_url)
    code = ("import sys; from aeops.store.db import ensure_schema, Database; ensure_schema(sys.argv[1]); "
            "Database(sys.argv[1]); print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))")
    out = subprocess.run([sys.executable, "-c", code, db_url], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_current_revision_of_a_new_database_is_none_and_a_forked_version_table_is_an_error(sqlite_url: str) -> None:
    assert current_revision(sqlite_url) is None
    upgrade(sqlite_url)
    with session_scope(sqlite_url) as s:
        s.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0099')"))
    with pytest.raises(RuntimeError, match="records 2 revisions"):
        current_revision(sqlite_url)


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
