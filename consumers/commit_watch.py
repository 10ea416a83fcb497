"""A value read from a SQLite database again only after something was committed to it.

SQLite's ``PRAGMA data_version`` changes, on a connection, whenever another connection (of any
process) commits to the file. A connection kept for that question alone, which never writes, thus
sees every commit: a reader caching what it read asks it first (one pragma, no table read) and
reads the database again only when it moved.

Each thread asks on a connection of its own and keeps its own copy of the value: the counters of two
connections cannot be compared, and a shared copy could be replaced by an older one a slower thread
read before the last commit. No lock is taken on the way (a lock would queue a server's threads).
"""
from __future__ import annotations

import sqlite3
import threading
from typing import Callable, Generic, TypeVar

from sqlalchemy import Engine

T = TypeVar("T")


class CommitWatch(Generic[T]):
    """``read()``'s value, read again by a thread only after a commit since that thread last read it."""

    def __init__(self, path: str, read: Callable[[], T]):
        self.path = path
        self.read = read
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()  # guards the list of connections only, never a read

    @classmethod
    def of(cls, engine: Engine, read: Callable[[], T]) -> CommitWatch[T] | None:
        """A watch over ``engine``'s database if it is a SQLite file; None otherwise (PostgreSQL has no
        such counter, nor has an in-memory database a second connection)."""
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return cls(database, read)

    def get(self) -> T:
        """The value as of the last commit (or later)."""
        local = self._local
        version = self._version(local)  # before reading: a commit made meanwhile moves it again
        if getattr(local, "version", None) != version:
            local.value = self.read()
            local.version = version
        return local.value

    def _version(self, local: threading.local) -> int:
        connection = getattr(local, "connection", None)
        if connection is None:  # opened at first use: nothing is done when the module is wired
            # not opened read-only: a read-only connection to a WAL database fails where the
            # shared-memory file is missing; this one never writes all the same
            connection = local.connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                                             check_same_thread=False)  # closed by close()
            with self._lock:
                self._connections.append(connection)
        return connection.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        """Close the connections of every thread (the calling thread's next ``get`` opens its own again)."""
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()
        self._local = threading.local()
