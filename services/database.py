"""The read-model database: engine creation (SQLite pragmas for concurrent use), write transactions
and the lock that serialises writers of one thing across processes on PostgreSQL."""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from typing import Iterator
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url

from events.private_files import private_database_file
from events.sqlite_log import enable_wal
from services.sqlite_wal import WalCopier

WRITE_OPTION = "oretrail_write"
#: the lock held while creating tables, so processes starting together do not race
SCHEMA_LOCK = "oretrail.schema"


class BinaryArray(list):
    """A list sent to PostgreSQL as an array in binary form (the projectors' bulk writes and id look-ups).

    psycopg sends a plain list as array text, built in Python: each element is searched for
    characters to quote and its quotes escaped with a regular expression, which cost a projector on
    PostgreSQL more than a third of its time (JSON columns are full of quotes). In binary each
    element is its encoded bytes behind a length. Same values, same array types (text elements
    become ``text[]``, ints the smallest integer array that holds them, floats ``float8[]``); a list of
    only NULLs still goes as text, as psycopg does for any list whose element type it cannot tell.
    """

    __slots__ = ()


def _binary_arrays(dbapi_connection) -> None:  # noqa: ANN001 - a psycopg connection
    from psycopg.types.array import ListBinaryDumper  # PostgreSQL only: psycopg is not needed for SQLite

    dbapi_connection.adapters.register_dumper(BinaryArray, ListBinaryDumper)


#: WAL pages a read-model commit may leave before it copies them into the database file itself
#: (SQLite's default is 1,000 pages, 4 MiB, about one projector batch of 2,000 events: every commit
#: was also a checkpoint). A :class:`services.sqlite_wal.WalCopier` copies them beside the writer
#: every half second, but a projector catching up begins its next transaction before a copy can
#: finish, so SQLite cannot start the WAL over: this cap does it, about once per 160 MB written
#: (pages of 8 KiB; at 40 MB it took one commit in six, each 50 to 90 ms). A reader holding an old
#: snapshot can still keep the WAL growing past it, as before
READ_MODEL_CHECKPOINT_PAGES = 20_000
#: what is left of a read model's ``-wal`` file when SQLite starts it over (it would otherwise keep
#: the size of the largest catch-up for good)
READ_MODEL_WAL_KEPT_BYTES = 64 * 1024 * 1024
#: the page size of a read-model file SQLite creates (its default is 4,096; a file made before keeps
#: its own). A projector's inserts land in many random-id indexes: with pages twice as large a
#: catch-up of 50,000 events from the SQLite log ran 4 to 11% faster (three runs each, side by side)
READ_MODEL_PAGE_BYTES = 8192
#: libpq ``options`` of every PostgreSQL session: no JIT compilation. The projectors' queries are short,
#: but PostgreSQL estimates a recursive ancestry query at millions of rows and compiled each one
#: (about 170 ms of a 200 ms query, profiled); the checks projector caught up 5 to 12% faster without
#: it, the provenance projector alike (a URL's own ``options`` come after, so an operator can turn it on)
POSTGRES_SESSION_OPTIONS = "-cjit=off"
#: each SQLite file engine's WAL copier (see :func:`wal_copier`)
_WAL_COPIERS: "WeakKeyDictionary[Engine, WalCopier]" = WeakKeyDictionary()


def create_database_engine(url: str | URL, server_options: str | None = None) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and its file created owner-only in a private
    folder; PostgreSQL sends :class:`BinaryArray` values in binary and starts its sessions without JIT
    compilation (:data:`POSTGRES_SESSION_OPTIONS`), then with the URL's own ``options`` and
    ``server_options`` (libpq's ``options``, e.g. ``-csearch_path=...``) when given."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        stated = parsed.query.get("options")
        options = " ".join(option for option in (POSTGRES_SESSION_OPTIONS, stated if isinstance(stated, str) else None,
                                                  server_options) if option)
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10,
                               connect_args={"options": options})
        if parsed.get_driver_name() == "psycopg":
            event.listen(engine, "connect", lambda dbapi_connection, _record: _binary_arrays(dbapi_connection))
        return engine
    if parsed.database and parsed.database != ":memory:":
        private_database_file(parsed.database)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # noqa: ANN001 - SQLAlchemy's hook signature
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take effect
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute(f"PRAGMA page_size={READ_MODEL_PAGE_BYTES}")  # a new file only; before WAL, which fixes it
        enable_wal(dbapi_connection)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA wal_autocheckpoint={READ_MODEL_CHECKPOINT_PAGES}")
        cursor.execute(f"PRAGMA journal_size_limit={READ_MODEL_WAL_KEPT_BYTES}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    if parsed.database and parsed.database != ":memory:":
        copier = _WAL_COPIERS[engine] = WalCopier(parsed.database)  # told of each commit by write_transaction
        event.listen(engine, "engine_disposed", lambda _engine: copier.close())

    @event.listens_for(engine, "begin")
    def _begin(connection):  # noqa: ANN001
        # a writer takes the lock up front (BEGIN IMMEDIATE), so two writers queue on the busy
        # timeout instead of failing when a read transaction tries to upgrade; readers never block
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def wal_copier(engine: Engine) -> WalCopier | None:
    """The background WAL copier of a SQLite file's engine (None for PostgreSQL and in-memory SQLite)."""
    return _WAL_COPIERS.get(engine)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on success and rolled back on error.

    After a commit that changed rows, a SQLite file's WAL copier may start a copy (see
    :mod:`services.sqlite_wal`): only after it, so the copy holds the pages just committed and a
    writer that comes after it can start the WAL file over."""
    copier = _WAL_COPIERS.get(engine)
    with engine.connect() as connection:
        connection.execution_options(**{WRITE_OPTION: True})
        before = _rows_changed(connection) if copier is not None else 0
        with connection.begin():
            yield connection
        wrote = copier is not None and _rows_changed(connection) != before
    if wrote:
        copier.committed()


def _rows_changed(connection: Connection) -> int:
    """Rows a SQLite connection has inserted, updated or deleted since it was opened."""
    return connection.connection.dbapi_connection.total_changes


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection whose queries all see one snapshot of the database, for answers built from several queries.

    SQLite's read transaction is a snapshot already (WAL). PostgreSQL's default, READ COMMITTED,
    takes a new snapshot per statement, so a projector committing between two queries could give
    an answer with edges to nodes it does not list: there the connection reads REPEATABLE READ.
    """
    with engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        yield connection


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (PostgreSQL advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def serialise(tx: Connection, name: str) -> None:
    """Hold the lock named ``name`` until ``tx`` ends, so one writer of ``name`` runs at a time.

    On PostgreSQL, a transaction-scoped advisory lock: a second writer waits here, then (READ
    COMMITTED) sees everything the first committed. On SQLite a write transaction already holds
    the database's only write lock (``BEGIN IMMEDIATE``), so there is nothing more to take.
    """
    if tx.dialect.name == "postgresql":
        tx.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})
