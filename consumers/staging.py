"""A staging area beside the read-model database, where a rebuild writes while the API reads on.

SQLite: a database file of its own next to the live one. PostgreSQL: a schema
``oretrail_rebuild_NAME`` of the live database. :meth:`Staging.connection` gives a connection whose
*default* schema is the staging area, so a projector's statements land there unchanged, Core and
raw SQL alike. :meth:`Staging.switch_connection` gives a connection to the live database that also
sees the staged tables; :meth:`Staging.swap_in` puts the staged tables in place of the live ones
(dropped and created again: a new version may have changed them) and :meth:`Staging.replace`
copies rows of a shared table, both inside the caller's transaction: readers see the old read
model until it commits and the new one after. Both log backends rebuild this way
(:mod:`consumers.rebuild`).
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, MetaData, Table

from services.database import WRITE_OPTION, create_database_engine

#: the name under which a switch connection sees the staged tables on SQLite (an attached file)
SQLITE_ALIAS = "oretrail_rebuild"


class Staging:
    """The staging area of one read model on one engine."""

    def __init__(self, engine: Engine, name: str):
        self.engine = engine
        self.name = name
        self.dialect = engine.dialect.name
        if self.dialect == "sqlite":
            database = engine.url.database
            if not database or database == ":memory:":
                raise ValueError("a rebuild beside the live read model needs a SQLite file, not :memory:")
            self.path: Path | None = Path(f"{database}.rebuild-{name}")
            self.schema = SQLITE_ALIAS
        elif self.dialect == "postgresql":
            self.path = None
            self.schema = "oretrail_rebuild_" + re.sub(r"[^a-z0-9_]", "_", name.lower())
        else:
            raise ValueError(f"no staging area on {self.dialect}")

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection to a fresh, empty staging area, which is its default schema."""
        self.drop()
        if self.dialect == "sqlite":
            staged = create_database_engine(f"sqlite:///{self.path}")
        else:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')
            staged = create_database_engine(self.engine.url, server_options=f"-csearch_path={self.schema}")
        try:
            with staged.connect() as connection:
                if self.dialect == "sqlite":
                    _disposable(connection.connection.dbapi_connection)
                yield connection
        finally:
            staged.dispose()

    @contextmanager
    def switch_connection(self) -> Iterator[Connection]:
        """A connection to the live database, set for writing, that also sees the staged tables
        as ``self.schema``; discarded after use."""
        with self.engine.connect() as connection:
            try:
                if self.dialect == "sqlite":
                    # ATTACH cannot run inside a transaction: straight on the DB-API connection
                    connection.connection.dbapi_connection.execute(
                        f"ATTACH DATABASE ? AS {SQLITE_ALIAS}", (str(self.path),))
                connection.execution_options(**{WRITE_OPTION: True})
                yield connection
            finally:
                if connection.in_transaction():
                    connection.rollback()
                connection.invalidate()  # never hand an attached connection back to the pool

    def live_schema(self, connection: Connection) -> str:
        """The schema the live tables are in (``main`` on SQLite, the current schema on PostgreSQL)."""
        if self.dialect == "sqlite":
            return "main"
        return connection.exec_driver_sql("SELECT current_schema()").scalar()

    def swap_in(self, connection: Connection, metadata: MetaData, live: str) -> None:
        """Inside the caller's write transaction: drop the live tables of ``metadata`` and put the
        staged ones (created as the code defines them now) in their place: on PostgreSQL moved into
        the live schema, on SQLite created again and filled with the staged rows."""
        # named with their schema: an unqualified name could resolve to the staged table instead
        in_live = MetaData()
        tables = [table.to_metadata(in_live, schema=live) for table in metadata.sorted_tables]
        in_live.drop_all(connection)
        if self.dialect == "postgresql":
            # move the staged tables in rather than copy their rows: a reader whose statement waited
            # on the drop resolves the name again and finds the moved table, whose rows were committed
            # before its snapshot; rows copied inside this transaction would be invisible to it, and
            # the read model would look empty for that one statement
            quote = connection.dialect.identifier_preparer.quote
            for table in metadata.sorted_tables:
                connection.exec_driver_sql(
                    f"ALTER TABLE {quote(self.schema)}.{quote(table.name)} SET SCHEMA {quote(live)}")
            return
        in_live.create_all(connection)
        quote = connection.dialect.identifier_preparer.quote
        for table in tables:
            target, source = f"{quote(live)}.{quote(table.name)}", f"{quote(self.schema)}.{quote(table.name)}"
            if self._same_columns(connection, live, table.name):
                # exactly this form lets SQLite copy the table's and its indexes' records as they are
                # (its "transfer optimisation": no decoding, no index built row by row), several times
                # faster; it needs ``SELECT *`` and the same columns in the same order, checked above
                connection.exec_driver_sql(f"INSERT INTO {target} SELECT * FROM {source}")
            else:
                columns = ", ".join(quote(column.name) for column in table.columns)
                connection.exec_driver_sql(f"INSERT INTO {target} ({columns}) SELECT {columns} FROM {source}")

    def _same_columns(self, connection: Connection, live: str, name: str) -> bool:
        """Whether the live and the staged table ``name`` have the same columns in the same order (SQLite)."""
        def described(schema: str) -> list[tuple]:
            return [tuple(row) for row in connection.exec_driver_sql(f"PRAGMA {schema}.table_info({quote_literal(name)})")]
        return described(live) == described(self.schema)

    def replace(self, connection: Connection, tables: list[Table], live: str, where: str | None = None) -> None:
        """Inside the caller's write transaction: replace the live tables' rows by the staged ones.

        ``tables`` in dependency order; ``where`` (a SQL condition, for shared tables such as the
        dead letters) restricts both the rows deleted and the rows copied.
        """
        quote = connection.dialect.identifier_preparer.quote
        condition = f" WHERE {where}" if where else ""
        for table in reversed(tables):
            connection.exec_driver_sql(f"DELETE FROM {quote(live)}.{quote(table.name)}{condition}")
        for table in tables:
            columns = ", ".join(quote(column.name) for column in table.columns)
            connection.exec_driver_sql(
                f"INSERT INTO {quote(live)}.{quote(table.name)} ({columns})"
                f" SELECT {columns} FROM {quote(self.schema)}.{quote(table.name)}{condition}"
            )

    def add_missing(self, connection: Connection, table: Table, live: str) -> None:
        """Inside the caller's write transaction: add the staged rows of a shared table the live one lacks."""
        quote = connection.dialect.identifier_preparer.quote
        columns = ", ".join(quote(column.name) for column in table.columns)
        keys = " AND ".join(f"l.{quote(column.name)} = s.{quote(column.name)}" for column in table.primary_key.columns)
        connection.exec_driver_sql(
            f"INSERT INTO {quote(live)}.{quote(table.name)} ({columns})"
            f" SELECT {', '.join('s.' + quote(column.name) for column in table.columns)}"
            f" FROM {quote(self.schema)}.{quote(table.name)} AS s"
            f" WHERE NOT EXISTS (SELECT 1 FROM {quote(live)}.{quote(table.name)} AS l WHERE {keys})"
        )

    def drop(self) -> None:
        """Remove the staging area (its file, or its schema)."""
        if self.dialect == "sqlite":
            for suffix in ("", "-journal", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        else:
            with self.engine.begin() as connection:
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')


#: the staging database's page cache (KiB): a replay batch's pages stay in memory until its commit
#: instead of spilling to disk halfway through it, and read back (SQLite's default is 2 MiB)
STAGING_CACHE_KIB = 64 * 1024


def _disposable(dbapi_connection) -> None:  # noqa: ANN001 - a sqlite3 connection
    """Set a staging database for speed over durability: a crash means starting the rebuild again
    (its file is removed first), so it needs neither fsync nor a journal on disk. The rollback
    journal is kept in memory: a poison event's savepoint must still roll back."""
    for pragma in ("synchronous=OFF", "journal_mode=MEMORY", f"cache_size=-{STAGING_CACHE_KIB}"):
        dbapi_connection.execute(f"PRAGMA {pragma}")


def quote_literal(value: str) -> str:
    """A SQL string literal (for fixed, internal names only)."""
    return "'" + value.replace("'", "''") + "'"
