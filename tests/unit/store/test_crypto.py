"""Refreshed marketplace tokens are encrypted at rest: the token_state table never holds them in clear."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import text

from aeops import cli
from aeops.store import crypto, get_engine, upgrade
from aeops.store.ledger import Ledger

ACCESS = "access-token-50000001-abcdef"
REFRESH = "refresh-token-50000001-uvwxyz"
EXPIRES = datetime(2027, 1, 1, tzinfo=UTC)


def raw_rows(url: str) -> list[tuple[str, str, str]]:
    with get_engine(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text("SELECT conn_id, access_token, refresh_token FROM token_state"))]


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    value = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV_KEY, value)
    return value


def test_the_table_holds_no_token_text_and_the_ledger_reads_them_back(db_url: str, key: str) -> None:
    ledger = Ledger(db_url)
    ledger.tokens.save("aliexpress_default", ACCESS, REFRESH, EXPIRES, EXPIRES + timedelta(days=30))

    [(conn_id, access, refresh)] = raw_rows(db_url)
    assert conn_id == "aliexpress_default"
    for stored, plain in ((access, ACCESS), (refresh, REFRESH)):
        assert plain not in stored and "token" not in stored  # no token text, not even a part of it
        assert Fernet(key.encode()).decrypt(stored.encode()).decode() == plain
    state = ledger.tokens.get("aliexpress_default")
    assert (state.access_token, state.refresh_token) == (ACCESS, REFRESH)


def test_a_new_key_in_front_reads_old_tokens_and_rotation_moves_them_to_it(sqlite_url: str, key: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = Ledger(sqlite_url)
    ledger.tokens.save("aliexpress_default", ACCESS, REFRESH, EXPIRES, None)
    new = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV_KEY, f"{new},{key}")
    assert ledger.tokens.get("aliexpress_default").access_token == ACCESS  # the old key still decrypts

    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    assert cli.main(["db", "rotate-tokens"]) == 0
    monkeypatch.setenv(crypto.ENV_KEY, new)  # the old key dropped: everything is readable with the new one
    assert ledger.tokens.get("aliexpress_default").refresh_token == REFRESH
    [(_, access, _)] = raw_rows(sqlite_url)
    assert Fernet(new.encode()).decrypt(access.encode()).decode() == ACCESS


def test_dropping_a_key_too_early_says_what_happened(sqlite_url: str, key: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    Ledger(sqlite_url).tokens.save("aliexpress_default", ACCESS, REFRESH, EXPIRES, None)
    monkeypatch.setenv(crypto.ENV_KEY, Fernet.generate_key().decode())
    with pytest.raises(crypto.TokenUnreadable, match="rotate-tokens"):
        Ledger(sqlite_url).tokens.get("aliexpress_default")


def test_without_a_key_nothing_is_written_and_the_message_says_what_to_set(sqlite_url: str,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(crypto.ENV_KEY, "")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "")
    with pytest.raises(crypto.KeyMissing) as caught:
        Ledger(sqlite_url).tokens.save("aliexpress_default", ACCESS, REFRESH, EXPIRES, None)
    assert "AIRFLOW__CORE__FERNET_KEY" in str(caught.value) and "\n" not in str(caught.value)
    assert raw_rows(sqlite_url) == []


def test_airflows_fernet_key_is_used_when_aeops_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    airflow_key = Fernet.generate_key().decode()
    monkeypatch.setenv(crypto.ENV_KEY, "")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", airflow_key)
    token = crypto.encrypt(ACCESS)
    assert Fernet(airflow_key.encode()).decrypt(token.encode()).decode() == ACCESS


def test_the_migration_encrypts_rows_written_in_clear_and_downgrading_restores_them(db_url: str, key: str) -> None:
    upgrade(db_url, "0005")
    with get_engine(db_url).begin() as conn:
        conn.execute(text("INSERT INTO token_state (conn_id, access_token, refresh_token, expires_at, updated_at) "
                          "VALUES ('aliexpress_default', :a, :r, :e, :e)"), {"a": ACCESS, "r": REFRESH, "e": EXPIRES})
    upgrade(db_url, "0006")
    [(_, access, refresh)] = raw_rows(db_url)
    assert ACCESS not in access and REFRESH not in refresh
    assert Ledger(db_url).tokens.get("aliexpress_default").access_token == ACCESS

    from alembic import command

    from aeops.store.db import alembic_config

    command.downgrade(alembic_config(db_url), "0004")
    assert raw_rows(db_url) == [("aliexpress_default", ACCESS, REFRESH)]


def test_the_migration_stops_before_any_change_without_a_key(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                                             capsys) -> None:
    upgrade(sqlite_url, "0005")
    with get_engine(sqlite_url).begin() as conn:
        conn.execute(text("INSERT INTO token_state (conn_id, access_token, refresh_token, expires_at, updated_at) "
                          "VALUES ('c', :a, :r, :e, :e)"), {"a": ACCESS, "r": REFRESH, "e": EXPIRES})
    monkeypatch.setenv(crypto.ENV_KEY, "")
    monkeypatch.setenv("AIRFLOW__CORE__FERNET_KEY", "")
    monkeypatch.setenv("AEOPS_DATABASE_URL", sqlite_url)
    assert cli.main(["db", "upgrade"]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: no Fernet key configured")
    assert raw_rows(sqlite_url) == [("c", ACCESS, REFRESH)]
    from aeops.store import current_revision

    assert current_revision(sqlite_url) == "0005"  # the revision before the encrypting one
