"""Whether anything was committed to a SQLite database since last asked, for the price of one pragma.

SQLite's ``PRAGMA data_version`` changes, on a connection, whenever another connection (of any
process) commits to the file. A connection kept for that question alone, which never writes, thus
sees every commit: readers that cache what they built from the database ask it before each answer
and query the database again only when it moved.
"""
from __future__ import annotations

import sqlite3
import threading

from sqlalchemy import Engine


class CommitWatch:
    """A private read-only connection to a SQLite file that tells its commit counter."""

    def __init__(self, path: str):
        self.path = path
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    @classmethod
    def of(cls, engine: Engine) -> CommitWatch | None:
        """A watch on ``engine``'s database if it is a SQLite file; None otherwise (PostgreSQL has no
        such counter, nor has an in-memory database a second connection)."""
        database = engine.url.database
        if engine.dialect.name != "sqlite" or not database or database == ":memory:":
            return None
        return cls(database)

    def version(self) -> int:
        """A number that differs from the last one whenever a commit happened in between."""
        with self._lock:
            if self._connection is None:  # opened at first use: no work when the module is wired
                # not opened read-only: a read-only connection to a WAL database fails where the
                # shared-memory file is missing; this one never writes all the same
                self._connection = sqlite3.connect(self.path, timeout=30, check_same_thread=False, isolation_level=None)
            return self._connection.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        """Close the connection (a later ``version`` opens it again)."""
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
