"""Compare read models: every row of every table, in a stable order."""
from __future__ import annotations

from sqlalchemy import Engine, MetaData, select


def dump_tables(engine: Engine, metadata: MetaData, ignore_columns: frozenset[str] = frozenset()) -> dict:
    """``{table: sorted rows}`` without the ignored columns."""
    dump = {}
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [column for column in table.columns if column.name not in ignore_columns]
            rows = connection.execute(select(*columns)).all()
            dump[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return dump
