"""JSON object columns changed by the database itself, inside one ``UPDATE``: no read-modify-write in Python.

A merge written as "read the row, merge in Python, write the whole value back" loses the other writer's keys when
two transactions do it at once (both read the old value; the second write drops the first's key). Each helper
here returns the SQL expression of the new value, computed from the column's value *as the UPDATE finds it*:

- PostgreSQL evaluates the ``SET`` against the newest committed row (a concurrent ``UPDATE`` of the row waits for
  the first to commit and then re-reads it: READ COMMITTED's re-check), so both writers' keys are kept;
- SQLite has one writer at a time: the ``UPDATE`` reads the row after taking the database's write lock.

The column is a JSON object (``sqlalchemy.JSON``: ``json`` on PostgreSQL, text on SQLite); anything else in it
(SQL NULL, JSON ``null``) counts as ``{}``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import JSON, Text, case, cast, func, literal
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement


def _dialect(s: Session) -> str:
    name = s.get_bind().dialect.name
    if name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"no JSON merge for {name}: the aeops DB is SQLite or PostgreSQL")
    return name


def _path(key: str) -> str:
    """A top-level SQLite JSON path for ``key`` (a key the code chose: refused if it holds a double quote)."""
    if '"' in key:
        raise ValueError(f"JSON key {key!r}: a double quote is not allowed in a top-level key")
    return f'$."{key}"'


def _jsonb(value: Any) -> ColumnElement[Any]:
    return cast(literal(json.dumps(value), Text), JSONB)


def _object_pg(column: Any) -> ColumnElement[Any]:
    as_jsonb = cast(column, JSONB)
    return case((func.jsonb_typeof(as_jsonb) == "object", as_jsonb), else_=cast(literal("{}", Text), JSONB))


def _object_sqlite(column: Any) -> ColumnElement[Any]:
    return case((func.json_type(column) == "object", column), else_=literal("{}", Text))


def set_keys(s: Session, column: Any, values: Mapping[str, Any]) -> ColumnElement[Any]:
    """``column`` with each top-level key of ``values`` set to its value (a shallow merge: a key's old value is
    replaced, keys not named are kept)."""
    if _dialect(s) == "postgresql":
        return cast(_object_pg(column).op("||")(_jsonb(dict(values))), JSON)
    args: list[Any] = []
    for key, value in values.items():
        args += [_path(key), func.json(literal(json.dumps(value), Text))]
    return func.json_set(_object_sqlite(column), *args)


def add_entries(s: Session, column: Any, key: str, entries: Mapping[str, Any]) -> ColumnElement[Any]:
    """``column`` with the object at top-level ``key`` extended by ``entries`` (its other entries kept; a key
    that was not an object becomes one). For maps several writers add to at once (``image_urls``)."""
    if _dialect(s) == "postgresql":
        base = _object_pg(column)
        inner = base.op("->")(literal(key, Text))
        inner_obj = case((func.jsonb_typeof(inner) == "object", inner), else_=cast(literal("{}", Text), JSONB))
        merged = inner_obj.op("||")(_jsonb(dict(entries)))
        return cast(base.op("||")(func.jsonb_build_object(literal(key, Text), merged)), JSON)
    base = _object_sqlite(column)
    inner = func.json_extract(base, _path(key))
    inner_obj = case((func.json_type(base, _path(key)) == "object", inner), else_=literal("{}", Text))
    return func.json_set(base, _path(key), func.json_patch(inner_obj, func.json(literal(json.dumps(dict(entries)),
                                                                                          Text))))


def replace_keeping(s: Session, column: Any, value: Mapping[str, Any], keep: str) -> ColumnElement[Any]:
    """``value`` as the column's new object, with the column's current top-level ``keep`` entry carried over when
    it has one (a new version of a Slack page keeps the channel id its first post recorded)."""
    if _dialect(s) == "postgresql":
        base = _object_pg(column)
        kept = case((base.op("?")(literal(keep, Text)),
                     func.jsonb_build_object(literal(keep, Text), base.op("->")(literal(keep, Text)))),
                    else_=cast(literal("{}", Text), JSONB))
        return cast(_jsonb(dict(value)).op("||")(kept), JSON)
    base = _object_sqlite(column)
    new = func.json(literal(json.dumps(dict(value)), Text))
    return case((func.json_type(base, _path(keep)).is_not(None),
                 func.json_set(new, _path(keep), func.json(func.json_extract(base, _path(keep))))),
                else_=new)
