"""A staging area beside the read-model database, where a rebuild writes while the API reads on.

SQLite: a second database file attached to one connection as ``oretrail_rebuild``. PostgreSQL: a
schema ``oretrail_rebuild_NAME``. A projector's Core statements are sent there unchanged through
SQLAlchemy's ``schema_translate_map`` (so projectors must use their ``Table`` objects, not raw SQL
with table names). :meth:`Staging.replace` then copies the staged tables over the live ones in one
transaction: readers see the old read model until it commits and the new one after.
"""
from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, Table

from services.database import WRITE_OPTION


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
            self.path = Path(f"{database}.rebuild-{name}")
            self.schema = "oretrail_rebuild"
        elif self.dialect == "postgresql":
            self.path = None
            self.schema = "oretrail_rebuild_" + re.sub(r"[^a-z0-9_]", "_", name.lower())
        else:
            raise NotImplementedError(f"no staging area on {self.dialect}")

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """One connection that sees the staging area (fresh and empty) and the live database.

        Its Core statements go to the staging area (until the caller points them elsewhere); it is
        discarded after, never returned to the pool.
        """
        with self.engine.connect() as connection:
            try:
                self._open(connection)
                connection.execution_options(schema_translate_map={None: self.schema}, **{WRITE_OPTION: False})
                yield connection
            finally:
                if connection.in_transaction():
                    connection.rollback()
                self._close(connection)
                connection.invalidate()  # never hand an attached or translated connection back to the pool

    def _open(self, connection: Connection) -> None:
        if self.dialect == "sqlite":
            self._remove_files()
            raw = connection.connection.dbapi_connection
            # ATTACH must run outside a transaction: straight on the DB-API connection (autocommit)
            raw.execute("ATTACH DATABASE ? AS oretrail_rebuild", (str(self.path),))
            raw.execute("PRAGMA oretrail_rebuild.synchronous=OFF")  # disposable: a crash means start again
            raw.execute("PRAGMA oretrail_rebuild.journal_mode=OFF")
        else:
            with connection.begin():
                connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
                connection.exec_driver_sql(f'CREATE SCHEMA "{self.schema}"')

    def _close(self, connection: Connection) -> None:
        try:
            if self.dialect == "sqlite":
                connection.connection.dbapi_connection.execute("DETACH DATABASE oretrail_rebuild")
                self._remove_files()
            else:
                with connection.begin():
                    connection.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE')
        except Exception:  # noqa: BLE001 - the connection is invalidated anyway; leftovers are dropped next time
            pass

    def _remove_files(self) -> None:
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def live_schema(self, connection: Connection) -> str:
        """The schema the live tables are in (``main`` on SQLite, the current schema on PostgreSQL)."""
        if self.dialect == "sqlite":
            return "main"
        return connection.exec_driver_sql("SELECT current_schema()").scalar()

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


def quote_literal(value: str) -> str:
    """A SQL string literal (for fixed, internal names only)."""
    return "'" + value.replace("'", "''") + "'"
