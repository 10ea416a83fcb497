"""SQL helpers shared by projectors, portable across SQLite and PostgreSQL."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def _insert_for(tx: Connection, table: Table):
    dialect = tx.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


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
        # group key -> (function building the statement for a connection, rows)
        self._groups: dict[tuple, tuple[Callable[[Connection], Any], list[dict[str, Any]]]] = {}

    def insert(self, table: Table, row: Mapping[str, Any]) -> None:
        """A plain insert (the caller guarantees the key is new)."""
        self._add(("insert", table.name, tuple(row)), lambda tx: table.insert(), row)

    def insert_ignore(self, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
        """Insert rows unless their primary key exists."""
        for row in rows:
            self._add(("ignore", table.name, tuple(row)), lambda tx: _insert_for(tx, table).on_conflict_do_nothing(), row)

    def upsert(self, table: Table, row: Mapping[str, Any], update: Iterable[str],
               where: Callable[[Any], Any] | None = None, where_name: str = "") -> None:
        """Insert, or on a key conflict set the ``update`` columns (when ``where(excluded)`` holds).

        ``where_name`` names the condition: rows with different conditions go to different groups.
        """
        update = tuple(update)

        def statement(tx: Connection):
            insert = _insert_for(tx, table)
            return insert.on_conflict_do_update(
                index_elements=[column.name for column in table.primary_key.columns],
                set_={name: insert.excluded[name] for name in update},
                where=where(insert.excluded) if where is not None else None,
            )

        self._add(("upsert", table.name, tuple(row), update, where_name), statement, row)

    def _add(self, key: tuple, statement: Callable[[Connection], Any], row: Mapping[str, Any]) -> None:
        self._groups.setdefault(key, (statement, []))[1].append(dict(row))

    def flush(self, tx: Connection) -> None:
        """Execute every group (one executemany each), then forget them."""
        for statement, rows in self._groups.values():
            tx.execute(statement(tx), rows)
        self._groups.clear()
