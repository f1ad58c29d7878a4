"""The aeops database: the one handle (`ledger.Ledger`) and its repositories (`repos`: all SQL), typed models, sessions
and the Alembic-managed schema."""

from aeops.store.db import (
    current_revision,
    ensure_schema,
    get_engine,
    head_revision,
    redact_url,
    session_scope,
    upgrade,
)
from aeops.store.models import Base

__all__ = [
    "Base",
    "current_revision",
    "ensure_schema",
    "get_engine",
    "head_revision",
    "redact_url",
    "session_scope",
    "upgrade",
]
