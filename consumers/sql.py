"""SQL helpers shared by projectors, portable across SQLite and PostgreSQL."""
from __future__ import annotations

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


def insert_ignore(tx: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert rows, skipping those whose primary key is already there."""
    rows = list(rows)
    if rows:
        tx.execute(_insert_for(tx, table).on_conflict_do_nothing(), rows)


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


class WriteBatch:
    """The rows a projector writes for a batch of events, grouped so each group is one executemany.

    Rows are grouped by statement (plain insert, insert-or-ignore, or upsert with a given update
    set and condition) and kept in event order within a group, so "the last one wins" holds within
    a group. The statements a projector uses must commute across groups (each group's effect must
    not depend on another group's having run first), which is also what order tolerance needs.
    """

    def __init__(self) -> None:
        self._groups: dict[tuple, tuple[Any, list[dict[str, Any]]]] = {}

    def insert(self, table: Table, row: Mapping[str, Any]) -> None:
        """A plain insert (the caller guarantees the key is new)."""
        self._add(("insert", table.name, tuple(row)), lambda tx: tx.execute(table.insert(), self._rows(("insert", table.name, tuple(row)))), row)

    def insert_ignore(self, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert rows unless their primary key exists."""
        for row in rows:
            key = ("ignore", table.name, tuple(row))
            self._add(key, lambda tx, key=key: tx.execute(_insert_for(tx, table).on_conflict_do_nothing(), self._rows(key)), row)

    def upsert(self, table: Table, row: Mapping[str, Any], update: Iterable[str], where=None, where_name: str = "") -> None:
        """Insert, or on a key conflict set ``update`` columns (when ``where(excluded)`` holds)."""
        update = tuple(update)
        key = ("upsert", table.name, tuple(row), update, where_name)

        def run(tx: Connection, key=key) -> None:
            statement = _insert_for(tx, table)
            keys = [column.name for column in table.primary_key.columns]
            statement = statement.on_conflict_do_update(
                index_elements=keys,
                set_={name: statement.excluded[name] for name in update},
                where=where(statement.excluded) if where is not None else None,
            )
            tx.execute(statement, self._rows(key))

        self._add(key, run, row)

    def _add(self, key: tuple, run, row: Mapping[str, Any]) -> None:
        if key not in self._groups:
            self._groups[key] = (run, [])
        self._groups[key][1].append(dict(row))

    def _rows(self, key: tuple) -> list[dict[str, Any]]:
        return self._groups[key][1]

    def flush(self, tx: Connection) -> None:
        """Execute every group, then forget them."""
        for run, _rows in self._groups.values():
            run(tx)
        self._groups.clear()
