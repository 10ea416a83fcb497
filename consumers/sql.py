"""SQL helpers shared by projectors, portable across SQLite and PostgreSQL."""
from __future__ import annotations

from functools import lru_cache
from operator import itemgetter
from typing import Any, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import (
    BigInteger, Boolean, Connection, DateTime, Float, Integer, String, Table, Text, bindparam, cast, func, select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import TypeDecorator, TypeEngine

from services.database import BinaryArray


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
    """Insert ``rows`` with sqlite3's own executemany, when that stores exactly what SQLAlchemy would:
    the rows have the same columns and no column converts its values on the way in, or only as
    SQLite itself would (see :func:`_plain_insert_sql`). It saves building SQLAlchemy's parameters row
    by row, a projector's largest cost after SQLite itself. False (nothing done) otherwise."""
    names = tuple(rows[0].keys())
    if not _uniform(rows):
        return False
    plain = _plain_insert_sql(tx.dialect, table, names, ignore)
    if plain is None or not _plain_numbers(rows, plain[1]):
        return False
    tx.exec_driver_sql(plain[0], _value_tuples(rows, names))
    return True


def _value_tuples(rows: Sequence[Mapping[str, Any]], names: tuple[str, ...]) -> list[tuple]:
    """Each row's values in the order of ``names`` (``itemgetter`` runs in C: a batch has many rows)."""
    values = itemgetter(*names)
    if len(names) == 1:
        return [(values(row),) for row in rows]
    return [values(row) for row in rows]


def _plain_sqlite_upsert(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]], update: Sequence[str]) -> bool:
    """:func:`upsert_many` (without ``where``) through sqlite3's executemany, on the terms of
    :func:`_plain_sqlite_insert`; False (nothing done) where those do not hold."""
    names = tuple(rows[0].keys())
    if not _uniform(rows):
        return False
    plain = _plain_insert_sql(tx.dialect, table, names, False)
    if plain is None or not _plain_numbers(rows, plain[1]):
        return False
    insert = plain[0]
    quote = tx.dialect.identifier_preparer.quote
    keys = ", ".join(quote(column.name) for column in table.primary_key.columns)
    changes = ", ".join(f"{quote(name)} = excluded.{quote(name)}" for name in update)
    sql = f"{insert} ON CONFLICT ({keys}) " + (f"DO UPDATE SET {changes}" if changes else "DO NOTHING")
    tx.exec_driver_sql(sql, _value_tuples(rows, names))
    return True


@lru_cache(maxsize=None)
def _plain_insert_sql(dialect: Dialect, table: Table, names: tuple[str, ...], ignore: bool) -> tuple[str, tuple[str, ...]] | None:
    """``INSERT INTO table (names) VALUES (?, ...)`` (``ON CONFLICT DO NOTHING`` with ``ignore``) and
    the names of its float columns; None if a column of ``names`` converts its values in a way SQLite
    would not (then SQLAlchemy must bind them).

    A float column's converter only makes an int a float, which SQLite's REAL affinity does itself
    when it stores the value (:func:`_plain_numbers` checks that the values are ints or floats); a
    boolean's makes it 0 or 1, as sqlite3 binds a bool."""
    floats = []
    for name in names:
        column_type = table.c[name].type
        if column_type._cached_bind_processor(dialect) is None:  # noqa: SLF001
            continue
        if isinstance(column_type, Float) and not column_type.asdecimal:
            floats.append(name)
        elif not isinstance(column_type, Boolean):
            return None
    quote = dialect.identifier_preparer.quote
    return (f"INSERT INTO {dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(quote(name) for name in names)}) VALUES ({', '.join('?' for _ in names)})"
            + (" ON CONFLICT DO NOTHING" if ignore else "")), tuple(floats)


def _plain_numbers(rows: Sequence[Mapping[str, Any]], floats: tuple[str, ...]) -> bool:
    """Whether every value of the ``floats`` columns is a float, an int or None (a Decimal, say, must
    go through SQLAlchemy's converter: sqlite3 cannot bind it)."""
    return all(type(row[name]) in _PLAIN_NUMBERS for name in floats for row in rows)


_PLAIN_NUMBERS = frozenset({float, int, type(None)})


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


def add_to_many(tx: Connection, table: Table, rows: Sequence[Mapping[str, Any]], amounts: Iterable[str]) -> None:
    """Insert rows of totals, or on a primary-key conflict add their ``amounts`` columns to the stored
    ones (sums: the same in any order); the rows must have distinct keys and the same columns."""
    if not rows:
        return
    if tx.dialect.name == "postgresql":
        statement, parameters = _unnest_insert(table, rows)
    else:
        statement, parameters = _insert_for(tx, table), list(rows)
    statement = statement.on_conflict_do_update(
        index_elements=[column.name for column in table.primary_key.columns],
        set_={name: table.c[name] + statement.excluded[name] for name in amounts},
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
        parameters[f"column_{index}"] = BinaryArray(values)
    return statement, parameters


def _array_type(column_type: TypeEngine) -> TypeEngine:
    """The PostgreSQL element type of an array carrying values of ``column_type`` (no length, no collation)."""
    for kind, element in ((BigInteger, postgresql.BIGINT), (Integer, postgresql.INTEGER), (Float, postgresql.DOUBLE_PRECISION),
                          (Boolean, postgresql.BOOLEAN), (DateTime, lambda: postgresql.TIMESTAMP(timezone=True)),
                          (String, postgresql.TEXT)):
        if isinstance(column_type, kind):
            return element()
    raise TypeError(f"no array type for {column_type!r}")


class _ValueList(TypeDecorator):
    """Many values in one bound parameter: a JSON array on SQLite (read by ``json_each``), an array on PostgreSQL."""

    impl = Text
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(postgresql.TEXT()))
        return dialect.type_descriptor(Text())

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        values = list(value)
        if not all(type(item) is str for item in values):  # a number would never equal a text id on SQLite
            raise TypeError("among() compares text columns with text values only")
        return BinaryArray(values) if dialect.name == "postgresql" else orjson.dumps(values).decode()


class _Among(ColumnElement):
    """``column IN (values)`` with the values in one bound parameter (see :func:`among`)."""

    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True  # a predicate: SQLite must not compare it with 1
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("values", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement, values: Iterable[str]):
        self.column = column
        self.values = bindparam(None, list(values), type_=_ValueList())


@compiles(_Among, "sqlite")
def _among_sqlite(element: _Among, compiler, **kw) -> str:
    return (f"{compiler.process(element.column, **kw)} IN "
            f"(SELECT value FROM json_each({compiler.process(element.values, **kw)}))")


@compiles(_Among, "postgresql")
def _among_postgresql(element: _Among, compiler, **kw) -> str:
    return f"{compiler.process(element.column, **kw)} = ANY({compiler.process(element.values, **kw)})"


def among(column: ColumnElement, values: Iterable[str]) -> ColumnElement:
    """``column IN values`` for a text column and any number of values, in ONE bound parameter.

    A plain ``IN`` list is rendered anew on each execution, a parameter per value (about 1.6 ms for
    500 ids, and a projector's batch sends dozens of such look-ups), and SQLite refuses more than
    32,766 parameters. Here the statement's text is the same whatever the number of values, so it is
    compiled once and cached, and the values travel as one JSON array (SQLite's ``json_each``) or
    one text array (PostgreSQL's ``= ANY``); both use the column's index.
    """
    return _Among(column, values)
