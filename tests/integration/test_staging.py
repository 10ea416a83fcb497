"""The staging area's switch (``consumers.staging``) puts exactly the staged rows in place of the live ones."""
from __future__ import annotations

from sqlalchemy import Column, Float, Index, MetaData, Table, select, text

from consumers.sql import Key
from consumers.staging import Staging
from services.database import create_database_engine, write_transaction

metadata = MetaData()
lots = Table("lots", metadata, Column("lot_id", Key(40), primary_key=True), Column("holder", Key(40)),
             Column("mass_g", Float), Index("lots_holder", "holder"))


def _staged_then_switched(engine, staging: Staging, create_staged) -> list[tuple]:
    with staging.connection() as connection:
        with connection.begin():
            create_staged(connection)
            connection.execute(lots.insert(), [{"lot_id": f"lot-{n}", "holder": f"coop-{n % 3}", "mass_g": n / 2}
                                               for n in range(500)])
    with staging.switch_connection() as connection, connection.begin():
        staging.swap_in(connection, metadata, staging.live_schema(connection))
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(select(lots).where(lots.c.holder == "coop-1")
                                                         .order_by(lots.c.lot_id))]


def test_a_switch_copies_every_staged_row_into_the_live_table_and_its_indexes(database_url):
    engine = create_database_engine(database_url)
    metadata.create_all(engine)
    with write_transaction(engine) as tx:
        tx.execute(lots.insert(), [{"lot_id": "old", "holder": "coop-1", "mass_g": 1.0}])
    staging = Staging(engine, "lots-test")
    try:
        rows = _staged_then_switched(engine, staging, metadata.create_all)
    finally:
        staging.drop()
    assert rows == sorted((f"lot-{n}", "coop-1", n / 2) for n in range(500) if n % 3 == 1)
    engine.dispose()


def test_staged_columns_in_another_order_still_land_in_their_own_columns(tmp_path):
    # SQLite's fast copy (INSERT ... SELECT *) matches columns by position: it must not be taken
    # when the staged table's columns are not in the live table's order
    engine = create_database_engine(f"sqlite:///{tmp_path / 'readmodels.db'}")
    metadata.create_all(engine)
    staging = Staging(engine, "lots-order")

    def reordered(connection) -> None:
        connection.execute(text("CREATE TABLE lots (mass_g FLOAT, holder VARCHAR(40), lot_id VARCHAR(40) PRIMARY KEY)"))

    try:
        rows = _staged_then_switched(engine, staging, reordered)
    finally:
        staging.drop()
    assert rows == sorted((f"lot-{n}", "coop-1", n / 2) for n in range(500) if n % 3 == 1)
    engine.dispose()
