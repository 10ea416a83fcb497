"""Writes of a batch of events, gathered per table and sent in a few statements.

A projector applying events one by one sends several statements per event; over a network to
PostgreSQL each costs a round trip. ``BatchWrites`` gathers the rows of a whole batch instead and
writes them with one executemany per table and kind of statement (psycopg pipelines them).

That is only right for writes that give the same result in any order, which is what an
order-tolerant read model is made of:
- ``insert``: new rows keyed by the event (the projector skips events it has already seen);
- ``insert_ignore``: rows whose first writer wins (placeholders, edges);
- ``upsert``: rows whose winner is chosen by a rule, applied here among the batch's own rows
  first (``prefer``) and by the database's ``ON CONFLICT ... WHERE`` against what is stored;
- ``add``: totals, summed among the batch's rows and added to what is stored.
"""
from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from operator import itemgetter
from types import MappingProxyType
from typing import Any, Callable, Mapping, Sequence

from sqlalchemy import Connection, Table, select

from consumers.sql import add_to_many, among, insert_ignore, insert_many, upsert_many
from events.log import RecordedEvent

Row = dict[str, Any]
#: ``prefer(stored_in_batch, new) -> the row to keep`` among two rows of one key in the batch
Prefer = Callable[[Row, Row], Row]


class PerThread:
    """A projector attribute holding the state of the batch being applied, one value per thread.

    A rebuild beside the live tables replays the log through the same projector object as the
    live runner, in another thread: a batch's notes (what it touched) must not mix with another's.
    Set at the start of each ``apply_batch``, before any read.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def _values(self, obj: Any) -> threading.local:
        state = obj.__dict__.get("_per_thread_state")
        if state is None:  # made once per object (setdefault is atomic: two threads get the same one)
            state = obj.__dict__.setdefault("_per_thread_state", threading.local())
        return state

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        return getattr(self._values(obj), self.name)

    def __set__(self, obj: Any, value: Any) -> None:
        setattr(self._values(obj), self.name, value)


def keep_last(_old: Row, new: Row) -> Row:
    """The later row wins (a registration: the last one of its stream holds)."""
    return new


@dataclass
class _Upserts:
    update: Sequence[str]
    where: Callable | None
    prefer: Prefer
    rows: dict[Any, Row] = field(default_factory=dict)


class BatchWrites:
    """The rows a batch of events will write, flushed table by table."""

    def __init__(self) -> None:
        self._inserts: dict[Table, list[Row]] = defaultdict(list)
        self._ignores: dict[Table, dict[Any, Row]] = defaultdict(dict)
        self._upserts: dict[tuple[Table, str], _Upserts] = {}
        self._totals: dict[Table, dict[tuple, Row]] = defaultdict(dict)

    def insert(self, table: Table, row: Mapping[str, Any]) -> None:
        """A new row (its key must be new: keyed by an event not seen before)."""
        self._inserts[table].append(_complete(table, row))

    def insert_ignore(self, table: Table, rows) -> None:
        """Rows written only where their key is not there yet: the first one wins."""
        pending = self._ignores[table]
        key_of = _key_getter(table)
        width = len(_columns(table)[0])
        for row in rows:
            # a fresh dict of every column (the common case: many rows a batch) is kept as it is; its
            # names are checked at the flush, where a row without one of the table's columns fails
            if type(row) is not dict or len(row) != width:
                row = _complete(table, row)
            pending.setdefault(key_of(row), row)

    def upsert(self, table: Table, row: Mapping[str, Any], update: Sequence[str],
               where: Callable | None = None, prefer: Prefer = keep_last, group: str = "") -> None:
        """Insert ``row`` or update ``update`` where ``where(excluded)`` holds; ``prefer`` picks among the batch's rows.

        Upserts of one table with other columns or another rule go in another named ``group``.
        """
        group = self._upserts.setdefault((table, group), _Upserts(tuple(update), where, prefer))
        complete = _complete(table, row)
        key = _key(table, complete)
        group.rows[key] = group.prefer(group.rows[key], complete) if key in group.rows else complete

    def add(self, table: Table, key: Mapping[str, Any], amounts: Mapping[str, int]) -> None:
        """Add ``amounts`` to the totals of the row with primary key ``key`` (every key column, every
        other column an amount: the same names at each call for one table)."""
        pending = self._totals[table]
        row = pending.get(_key(table, key))
        if row is None:
            pending[_key(table, key)] = {**key, **amounts}
        else:
            for name, amount in amounts.items():
                row[name] += amount

    def flush(self, tx: Connection) -> None:
        """Write everything gathered, one statement per table and kind, then forget it."""
        for table, rows in self._inserts.items():
            insert_many(tx, table, rows)
        for table, pending in self._ignores.items():
            insert_ignore(tx, table, pending.values())
        for (table, _name), group in self._upserts.items():
            upsert_many(tx, table, list(group.rows.values()), group.update, group.where)
        for table, totals in self._totals.items():
            keys = {column.name for column in table.primary_key.columns}
            rows = list(totals.values())
            add_to_many(tx, table, rows, [name for name in rows[0] if name not in keys])
        self.__init__()


def _complete(table: Table, row: Mapping[str, Any]) -> Row:
    """The row with every column (None where not given): rows written together must have the same keys."""
    names, known = _columns(table)
    if not known.issuperset(row):
        raise ValueError(f"{table.name} has no column(s) {sorted(set(row) - known)}")
    if len(row) == len(names) and type(row) is dict:
        return row  # every column given: the row as it is (rows are built fresh for each write)
    return {**_empty_row(table), **row}  # every column, in the table's order, None where not given


@lru_cache(maxsize=None)
def _columns(table: Table) -> tuple[tuple[str, ...], frozenset[str]]:
    names = tuple(table.columns.keys())
    return names, frozenset(names)


@lru_cache(maxsize=None)
def _empty_row(table: Table) -> Mapping[str, None]:
    """Every column of ``table`` set to None (read-only: copied into each row it completes)."""
    return MappingProxyType(dict.fromkeys(_columns(table)[0]))


def _key(table: Table, row: Row) -> Any:
    return _key_getter(table)(row)


@lru_cache(maxsize=None)
def _key_getter(table: Table) -> Callable[[Row], Any]:
    """The primary key of a row of ``table``: its value, or a tuple of values for a key of several
    columns (``itemgetter`` runs in C: a batch has many rows)."""
    return itemgetter(*[column.name for column in table.primary_key.columns])


#: SQLite binds at most 32,766 parameters in one statement: look ids up in chunks well below that
_LOOKUP_CHUNK = 5000


def unseen_events(tx: Connection, events: Sequence[RecordedEvent], event_id_column: Any) -> list[RecordedEvent]:
    """The events of a batch whose ``event_id`` is not in ``event_id_column`` yet, each once, in log order.

    A duplicate delivered twice (a client retry that reached a Kafka log twice, or a batch replayed
    after a crash) is applied once: that is what makes every projector idempotent.
    """
    fresh: dict[str, RecordedEvent] = {}
    for event in events:
        fresh.setdefault(event.event_id, event)
    ids = list(fresh)
    seen: set[str] = set()
    for start in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[start:start + _LOOKUP_CHUNK]
        seen.update(tx.execute(select(event_id_column).where(among(event_id_column, chunk))).scalars())
    return [event for event_id, event in fresh.items() if event_id not in seen]
