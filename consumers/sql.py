"""SQL helpers shared by projectors, portable across SQLite and PostgreSQL."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import (
    BigInteger, Boolean, Connection, DateTime, Float, Integer, String, Table, bindparam, cast, func, select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeEngine


def Key(length: int) -> TypeEngine:  # noqa: N802 - a column type, named like one
    """A string compared and ordered byte by byte on every backend.

    SQLite compares text as bytes; PostgreSQL by the database's collation, which follows its
    locale (``en_US.utf8`` in the official image orders ``B`` after ``a``). Identifiers and sort
    keys use the ``C`` collation there, so orderings and "earliest wins" comparisons give the same
    read model and the same answers on both.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def _insert_for(tx: Connection, table: Table):
    dialect = tx.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"no upsert for {dialect}")


def insert_many(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert rows (all with the same columns) in one statement on PostgreSQL, one executemany on SQLite."""
    if rows:
        if tx.dialect.name == "postgresql":
            tx.execute(*_unnest_insert(table, rows))
        elif not _plain_sqlite_insert(tx, table, rows, ignore=False):
            tx.execute(table.insert(), list(rows))


def insert_ignore(tx: Connection, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert rows, skipping those whose primary key is already there."""
    rows = list(rows)
    if not rows:
        return
    if tx.dialect.name == "postgresql" and len(rows) > 1 and _uniform(rows):
        statement, parameters = _unnest_insert(table, rows)
        tx.execute(statement.on_conflict_do_nothing(), parameters)
    elif not (tx.dialect.name == "sqlite" and _plain_sqlite_insert(tx, table, rows, ignore=True)):
        tx.execute(_insert_for(tx, table).on_conflict_do_nothing(), rows)


def _plain_sqlite_insert(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]], ignore: bool) -> bool:
    """Insert ``rows`` with sqlite3's own executemany, when that sends exactly what SQLAlchemy would:
    the rows have the same columns and no column converts its values on the way in (no bind
    processor). It saves building SQLAlchemy's parameters row by row, a projector's largest cost
    after SQLite itself. False (nothing done) otherwise."""
    names = tuple(rows[0].keys())
    if not _uniform(rows):
        return False
    sql = _plain_insert_sql(tx.dialect, table, names, ignore)
    if sql is None:
        return False
    tx.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])
    return True


def _plain_sqlite_upsert(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]], update: Sequence[str]) -> bool:
    """:func:`upsert_many` (without ``where``) through sqlite3's executemany, on the terms of
    :func:`_plain_sqlite_insert`; False (nothing done) where those do not hold."""
    names = tuple(rows[0].keys())
    if not _uniform(rows):
        return False
    insert = _plain_insert_sql(tx.dialect, table, names, False)
    if insert is None:
        return False
    quote = tx.dialect.identifier_preparer.quote
    keys = ", ".join(quote(column.name) for column in table.primary_key.columns)
    changes = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in update)
    sql = f"{insert} ON CONFLICT ({keys}) " + (f"DO UPDATE SET {changes}" if changes else "DO NOTHING")
    tx.exec_driver_sql(sql, [tuple(row[name] for name in names) for row in rows])
    return True


@lru_cache(maxsize=None)
def _plain_insert_sql(dialect: Dialect, table: Table, names: tuple[str, ...], ignore: bool) -> str | None:
    """``INSERT INTO table (names) VALUES (?, ...)`` (``ON CONFLICT DO NOTHING`` with ``ignore``), or
    None if a column of ``names`` converts its values (then SQLAlchemy must bind them)."""
    if any(table.c[name].type._cached_bind_processor(dialect) is not None for name in names):  # noqa: SLF001
        return None
    quote = dialect.identifier_preparer.quote
    return (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in names)}) VALUES ({', '.join('?' for _ in names)})"
            + (" ON CONFLICT DO NOTHING" if ignore else ""))


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


def upsert_many(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]], update: Iterable[str], where=None) -> None:
    """:func:`upsert` for many rows at once; the rows must have distinct keys and the same columns."""
    if not rows:
        return
    update = list(update)
    if tx.dialect.name == "sqlite" and where is None and _plain_sqlite_upsert(tx, table, rows, update):
        return
    if tx.dialect.name == "postgresql":
        statement, parameters = _unnest_insert(table, rows)
    else:
        statement, parameters = _insert_for(tx, table), list(rows)
    keys = [column.name for column in table.primary_key.columns]
    statement = statement.on_conflict_do_update(
        index_elements=keys,
        set_={name: statement.excluded[name] for name in update},
        where=where(statement.excluded) if where is not None else None,
    )
    tx.execute(statement, parameters)


def _uniform(rows: Sequence[Mapping[str, Any]]) -> bool:
    first = rows[0].keys()
    return all(row.keys() == first for row in rows)


def _unnest_insert(table: Table, rows: Sequence[Mapping[str, Any]]):
    """``INSERT INTO table (...) SELECT * FROM unnest(:array, ...)``: any number of rows in one statement.

    One statement per batch instead of one per row: a single round trip, one plan, and the same
    SQL text whatever the number of rows (so SQLAlchemy's compiled cache and the server's plan
    cache apply). Each column travels as one array of its base type.
    """
    names = list(rows[0].keys())
    columns = [table.c[name] for name in names]
    arrays = [cast(bindparam(f"column_{index}"), postgresql.ARRAY(_array_type(column.type)))
              for index, column in enumerate(columns)]
    source = func.unnest(*arrays).table_valued(*names).render_derived()
    statement = postgresql.insert(table).from_select(names, select(*[source.c[name] for name in names]))
    parameters = {}
    for index, (name, column) in enumerate(zip(names, columns)):
        values = [row[name] for row in rows]
        if isinstance(column.type, Float):  # JSON numbers may come as ints; an array holds one type
            values = [None if value is None else float(value) for value in values]
        parameters[f"column_{index}"] = values
    return statement, parameters


def _array_type(column_type: TypeEngine) -> TypeEngine:
    """The PostgreSQL element type of an array carrying values of ``column_type`` (no length, no collation)."""
    for kind, element in ((BigInteger, postgresql.BIGINT), (Integer, postgresql.INTEGER), (Float, postgresql.DOUBLE_PRECISION),
                          (Boolean, postgresql.BOOLEAN), (DateTime, lambda: postgresql.TIMESTAMP(timezone=True)),
                          (String, postgresql.TEXT)):
        if isinstance(column_type, kind):
            return element()
    raise TypeError(f"no array type for {column_type!r}")
