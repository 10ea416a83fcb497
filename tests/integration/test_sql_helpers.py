"""The projectors' SQL helpers (``consumers.sql``) write and find the same rows on SQLite and PostgreSQL,
whichever path they take (sqlite3's own executemany or SQLAlchemy's binding)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import BigInteger, Boolean, Column, DateTime, Float, MetaData, Table, Text, delete, select
from sqlalchemy.exc import CompileError, StatementError

from consumers.batch import BatchWrites
from consumers.sql import Key, among, insert_ignore, insert_many, upsert_many
from services.database import create_database_engine, write_transaction
from tests.databases import database_url_for

metadata = MetaData()
lots = Table("lots", metadata, Column("lot_id", Key(40), primary_key=True), Column("holder", Key(40), index=True),
             Column("mass_g", Float), Column("counted", Boolean))
notes = Table("notes", metadata, Column("note_id", Key(40), primary_key=True), Column("body", Text),
              Column("position", BigInteger), Column("at", DateTime(timezone=True)))

#: texts an array's text form must quote or escape (PostgreSQL arrays travel in binary: each must come back as sent)
AWKWARD = ["", "NULL", "null", 'say "gold"', "back\\slash\\", "{braces}", "a,b", " lead", "tab\tnew\nline",
           "\u2028sep", "Kolwezi – Lualaba ✓", '{"kind":"lot","mass_g":6.89,"note":"a \\"quoted\\" word"}']


@pytest.fixture
def engine(database_url):
    engine = create_database_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def stored(engine) -> list[tuple]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(lots).order_by(lots.c.lot_id))]


def test_among_finds_exactly_the_rows_named_whatever_their_number(engine):
    ids = [f"lot-{n:05d}" for n in range(40_000)]  # more than SQLite's 32,766 bound parameters
    with write_transaction(engine) as tx:
        insert_many(tx, lots, [{"lot_id": lot_id, "holder": "coop" if n % 3 else "exporter", "mass_g": n / 4,
                                "counted": n % 2 == 0} for n, lot_id in enumerate(ids)])
    with engine.connect() as connection:
        def found(values, *more):
            return sorted(connection.execute(select(lots.c.lot_id).where(among(lots.c.lot_id, values), *more)).scalars())

        assert found(ids[::2] + ["no-such-lot"]) == ids[::2]
        assert found([]) == []
        assert found({"lot-00003", "lot-00004"}, lots.c.holder == "exporter") == ["lot-00003"]
        assert found(["LOT-00003", "lot-0000"]) == []  # compared exactly, byte by byte
        with pytest.raises(StatementError, match="text values only"):
            found(["lot-00001", 2])  # a number is refused, never silently compared as text
    with write_transaction(engine) as tx:
        tx.execute(delete(lots).where(among(lots.c.holder, ["exporter"])))
    assert len(stored(engine)) == 40_000 - len(ids[::3])


def test_fast_and_bound_inserts_store_the_same_values(engine):
    with write_transaction(engine) as tx:
        # ints into a float column go the fast way on SQLite and are stored as floats; a Decimal cannot
        # be bound by sqlite3 and goes through SQLAlchemy's converter: the same values come back
        insert_many(tx, lots, [{"lot_id": "a", "holder": "coop", "mass_g": 2, "counted": True},
                               {"lot_id": "b", "holder": "coop", "mass_g": 2.5, "counted": False}])
        insert_many(tx, lots, [{"lot_id": "c", "holder": "coop", "mass_g": Decimal("1.25"), "counted": None}])
        insert_ignore(tx, lots, [{"lot_id": "a", "holder": "thief", "mass_g": 9.0, "counted": False},
                                 {"lot_id": "d", "holder": "coop", "mass_g": None, "counted": True}])
        upsert_many(tx, lots, [{"lot_id": "b", "holder": "exporter", "mass_g": 3, "counted": True}],
                    update=["holder", "mass_g"])
    rows = stored(engine)
    assert rows == [("a", "coop", 2.0, True), ("b", "exporter", 3.0, False), ("c", "coop", 1.25, None),
                    ("d", "coop", None, True)]
    assert all(isinstance(mass, float) for _lot, _holder, mass, _counted in rows if mass is not None)


def test_texts_that_need_quoting_numbers_and_times_come_back_as_sent(engine):
    at = datetime(2025, 1, 6, 9, 49, tzinfo=timezone.utc)
    rows = [{"note_id": f"n{index:02d}", "body": body, "position": (index << 48) + 1 if index % 2 else index,
             "at": at} for index, body in enumerate(AWKWARD)]
    with write_transaction(engine) as tx:
        insert_many(tx, notes, rows[:4])
        insert_ignore(tx, notes, rows[2:])
        upsert_many(tx, notes, [{"note_id": "n00", "body": AWKWARD[-1], "position": 2 ** 62, "at": None},
                                {"note_id": "n01", "body": None, "position": None, "at": None}],
                    update=["body", "position", "at"])  # columns of only NULLs: sent without an element type
    with engine.connect() as connection:
        back = {row.note_id: row for row in connection.execute(select(notes))}
        found = sorted(connection.execute(select(notes.c.note_id).where(among(notes.c.body, AWKWARD[1:5]))).scalars())
    assert back["n00"].body == AWKWARD[-1] and back["n00"].position == 2 ** 62 and back["n00"].at is None
    assert back["n01"].body is None and back["n01"].position is None
    for index, body in enumerate(AWKWARD[2:], start=2):
        assert back[f"n{index:02d}"].body == body
        assert back[f"n{index:02d}"].position == ((index << 48) + 1 if index % 2 else index)
        assert back[f"n{index:02d}"].at.replace(tzinfo=timezone.utc) == at
    assert found == ["n02", "n03", "n04"]  # "NULL" as text is not a NULL; n01's body became NULL above


def test_postgresql_sends_the_projectors_arrays_in_binary(tmp_path):
    from psycopg.adapt import PyFormat
    from psycopg.pq import Format

    from services.database import BinaryArray

    with database_url_for("postgresql", tmp_path) as url:
        engine = create_database_engine(url)
        try:
            with engine.connect() as connection:
                adapters = connection.connection.dbapi_connection.adapters
                assert adapters.get_dumper(BinaryArray, PyFormat.AUTO).format == Format.BINARY
                assert adapters.get_dumper(list, PyFormat.AUTO).format == Format.TEXT  # other lists: psycopg's way
        finally:
            engine.dispose()


def test_batch_writes_keep_the_first_row_of_each_key_and_refuse_a_misspelt_column(engine):
    writes = BatchWrites()
    writes.insert_ignore(lots, [{"lot_id": "a", "holder": "coop", "mass_g": 1.0, "counted": True},
                                {"lot_id": "a", "holder": "thief", "mass_g": 9.0, "counted": False}])
    writes.insert_ignore(lots, [{"lot_id": "b", "holder": "coop"}])  # missing columns are written as NULL
    writes.insert_ignore(notes, [{"note_id": "n", "body": "first"}, {"note_id": "n", "body": "second"}])
    with write_transaction(engine) as tx:
        writes.flush(tx)
    assert stored(engine) == [("a", "coop", 1.0, True), ("b", "coop", None, None)]
    with engine.connect() as connection:
        assert connection.execute(select(notes.c.body)).scalars().all() == ["first"]

    misspelt = BatchWrites()
    misspelt.insert_ignore(lots, [{"lot_id": "c", "holder": "coop", "mass_g": 1.0, "counted": True},
                                  {"lot_id": "d", "holder": "coop", "mass_g": 1.0, "countd": True}])
    with pytest.raises((KeyError, StatementError, CompileError)):  # by path; never stored silently
        with write_transaction(engine) as tx:
            misspelt.flush(tx)
    assert [row[0] for row in stored(engine)] == ["a", "b"]


totals = Table("totals", metadata, Column("pit_id", Key(40), primary_key=True), Column("month", Key(7), primary_key=True),
               Column("mass_mg", BigInteger, nullable=False), Column("productions", BigInteger, nullable=False))


def test_totals_added_in_batches_are_the_sums_of_every_row_in_any_order(engine):
    """``BatchWrites.add`` sums a batch's amounts per key, then adds them to what is stored: the totals are
    the same whatever batches the rows come in, beyond what a 32-bit integer holds."""
    rows = [(f"pit-{n % 7}", f"2026-0{1 + n % 3}", 10_000_000 * n) for n in range(300)]
    expected: dict[tuple[str, str], list[int]] = {}
    for pit, month, mg in rows:
        expected.setdefault((pit, month), [0, 0])
        expected[(pit, month)][0] += mg
        expected[(pit, month)][1] += 1
    for start, size in ((0, 1), (1, 40), (41, 259)):
        writes = BatchWrites()
        for pit, month, mg in rows[start:start + size]:
            writes.add(totals, {"pit_id": pit, "month": month}, {"mass_mg": mg, "productions": 1})
        with write_transaction(engine) as tx:
            writes.flush(tx)
    with engine.connect() as connection:
        found = {(pit, month): [mg, count] for pit, month, mg, count in connection.execute(select(totals))}
    assert found == expected
    assert max(mg for mg, _ in found.values()) > 2**31
