"""A set of ids bound as one parameter, for ``column IN (...)`` over the thousands of ids of an ancestry.

An expanding ``IN`` binds one parameter per id: SQLAlchemy renders the list anew at every execution
and SQLite caps a statement's parameters (hence lookups in chunks). One JSON array, unpacked by the
database itself (SQLite's ``json_each``, PostgreSQL's ``json_array_elements_text``), keeps one
statement text for any number of ids, so a product's ancestry, found once, filters every other query
of its answer without running the recursive query again.
"""
from __future__ import annotations

from typing import Iterable

import orjson
from sqlalchemy import JSON, ColumnElement, String, bindparam, cast, func, select


def among(column: ColumnElement, ids: Iterable[str], dialect: str) -> ColumnElement[bool]:
    """``column`` is one of ``ids`` (``dialect``: the connection's, ``sqlite`` or ``postgresql``)."""
    listed = bindparam(None, orjson.dumps(sorted(set(ids))).decode(), type_=String)
    if dialect == "postgresql":
        values = select(func.json_array_elements_text(cast(listed, JSON)).column_valued("value"))
    else:
        values = select(func.json_each(listed).table_valued("value").c.value)
    return column.in_(values)
