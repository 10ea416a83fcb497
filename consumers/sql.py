"""SQL helpers shared by projectors, portable across SQLite and PostgreSQL."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert_for(tx: Connection, table: Table):
    dialect = tx.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


@lru_cache(maxsize=512)
def _insert_ignore_statement(dialect: str, table: Table):
    return (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)).on_conflict_do_nothing()


def insert_ignore(tx: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert rows, skipping those whose primary key is already there; the number inserted (-1 if unknown)."""
    rows = list(rows)
    if not rows:
        return 0
    _insert_for(tx, table)  # refuses an unsupported dialect
    return tx.execute(_insert_ignore_statement(tx.dialect.name, table), rows).rowcount


def upsert(tx: Connection, table: Table, row: Mapping[str, Any], update: Iterable[str], where=None) -> None:
    """Insert ``row``, or on a primary-key conflict set the columns in ``update`` (if ``where`` holds)."""
    statement = _insert_for(tx, table).values(**row)
    keys = [column.name for column in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: statement.excluded[name] for name in update},
        where=where(statement.excluded) if where is not None else None,
    )
    tx.execute(statement)


def upsert_many(tx: Connection, table: Table, rows: list[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (all with the same columns), or on a primary-key conflict update every other column."""
    if not rows:
        return
    statement = _insert_for(tx, table)
    keys = [column.name for column in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in rows[0] if name not in keys})
    tx.execute(statement, list(rows))
