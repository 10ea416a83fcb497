"""The embedded event log: an append-only SQLite table, one file, no server.

One partition (0) in one total order: an event's offset is its position minus one, so a reader's
:class:`LogPosition` is ``{0: the position of the last event it read}``. The key that recorded an
event is the column ``attested_by`` (JSON), added to older files on open (their events read as
``attested_by: null``). The log's Merkle tree lives in the same file (:mod:`events.sqlite_tree`):
each batch's leaves are appended in the batch's own transaction.
"""
from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Sequence

from events.attestation import Attestation
from events.envelope import NewEvent
from events.log import AppendResult, EventLog, IdempotencyConflict, LogUnavailable, Page, RecordedEvent
from events.position import LogPosition
from events.private_files import private_database_file
from events.sqlite_tree import SqliteTree

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    position    INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a position is never reused
    event_id    TEXT NOT NULL UNIQUE,
    type        TEXT NOT NULL,
    stream_id   TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    hash        TEXT NOT NULL,
    body        BLOB NOT NULL,
    attested_by TEXT                                 -- JSON {organisation, role, key_id}; NULL before it existed
);
CREATE INDEX IF NOT EXISTS events_stream ON events (stream_id, position);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
"""

#: columns added after the first release, with their definitions: added on open to an older file
_ADDED_COLUMNS = {"attested_by": "TEXT"}

#: SQLite allows 32,766 bound parameters; stay well under it when looking up event ids
_LOOKUP_CHUNK = 900


def enable_wal(connection: sqlite3.Connection, attempts: int = 50) -> None:
    """Switch the file to WAL; the switch needs an exclusive lock that the busy timeout does not wait for."""
    for attempt in range(attempts):
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1))


def add_missing_columns(connection: sqlite3.Connection) -> None:
    """Migrate an events table made by an older version: add the columns it lacks (idempotent).

    ``ALTER TABLE ... ADD COLUMN`` is neither an UPDATE nor a DELETE, so the append-only triggers
    allow it; existing rows get NULL. Another process may add the column at the same moment, so the
    check runs inside the writers' lock.
    """
    connection.execute("BEGIN IMMEDIATE")
    try:
        present = {row[1] for row in connection.execute("PRAGMA table_info(events)")}
        for name, definition in _ADDED_COLUMNS.items():
            if name not in present:
                connection.execute(f"ALTER TABLE events ADD COLUMN {name} {definition}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise


@lru_cache(maxsize=1024)
def stored_attestation(text: str | None) -> Attestation | None:
    """The ``attested_by`` column parsed, once per distinct text: a log has few keys, each on many events."""
    return Attestation.from_json(text)


def utc_now_text() -> str:
    """The current UTC time in RFC 3339 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


class SqliteEventLog(EventLog):
    """The log in one SQLite file (WAL, synchronous=FULL: an accepted event survives a power cut).

    Safe for threads of one process (one connection per thread) and for several processes
    (``BEGIN IMMEDIATE`` serialises writers through SQLite's own lock).
    """

    def __init__(self, path: Path | str, busy_timeout_ms: int = 30_000):
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._appended = threading.Condition()
        if self.path != ":memory:":
            private_database_file(self.path)
        connection = self._connection()
        connection.executescript(SCHEMA)
        add_missing_columns(connection)
        #: the Merkle tree over the events (None only where a benchmark measures capture without it)
        self.tree: SqliteTree | None = SqliteTree(self._connection)
        self.tree.create()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout_ms / 1000)
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            enable_wal(connection)
            connection.execute("PRAGMA synchronous=FULL")
            self._local.connection = connection
        return connection

    def append(self, batch: Sequence[NewEvent]) -> list[AppendResult]:
        """Append all-or-nothing inside one ``BEGIN IMMEDIATE`` transaction."""
        if not batch:
            return []
        connection = self._connection()
        recorded_at = utc_now_text()
        try:
            connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise LogUnavailable(f"event log busy: {exc}") from exc
        try:
            existing = self._existing(connection, [event.event_id for event in batch])
            fresh: dict[str, NewEvent] = {}  # the events to insert, by id, in batch order
            statuses: list[str] = []
            conflicts: list[str] = []
            for event in batch:
                if event.event_id in existing:
                    known_hash = existing[event.event_id][0]
                elif event.event_id in fresh:
                    known_hash = fresh[event.event_id].hash
                else:
                    fresh[event.event_id] = event
                    statuses.append("accepted")
                    continue
                if known_hash != event.hash:
                    conflicts.append(event.event_id)
                statuses.append("duplicate")
            if conflicts:
                raise IdempotencyConflict(conflicts)
            first = self._insert(connection, list(fresh.values()), recorded_at)
            positions = {event_id: position for event_id, (_hash, position) in existing.items()}
            positions.update((event_id, first + index) for index, event_id in enumerate(fresh))
            results = [AppendResult(event.event_id, status, positions[event.event_id])
                       for event, status in zip(batch, statuses)]
            if fresh and self.tree is not None:
                self.tree.append_in(connection, first, [event.hash for event in fresh.values()])
            connection.execute("COMMIT")
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        with self._appended:
            self._appended.notify_all()
        return results

    @staticmethod
    def _insert(connection: sqlite3.Connection, events: Sequence[NewEvent], recorded_at: str) -> int:
        """Insert ``events`` in order in one statement; the position of the first (they take the next
        positions in turn: the transaction holds the write lock, and a position is never reused)."""
        if not events:
            return 0
        (last_before,) = connection.execute(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'events'), 0)").fetchone()
        connection.executemany(
            "INSERT INTO events (event_id, type, stream_id, recorded_by, recorded_at, hash, body, attested_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(event.event_id, event.type, event.stream_id, event.recorded_by, recorded_at, event.hash, event.body,
              event.attested_by.to_json() if event.attested_by is not None else None) for event in events])
        (last,) = connection.execute("SELECT last_insert_rowid()").fetchone()
        if last != last_before + len(events):  # the positions must be the ones handed back
            raise RuntimeError(f"appended {len(events)} events after position {last_before} but the last is {last}")
        return last_before + 1

    def _existing(self, connection: sqlite3.Connection, event_ids: list[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        unique_ids = list(dict.fromkeys(event_ids))
        for start in range(0, len(unique_ids), _LOOKUP_CHUNK):
            chunk = unique_ids[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for event_id, event_hash, position in connection.execute(
                f"SELECT event_id, hash, position FROM events WHERE event_id IN ({marks})", chunk
            ):
                found[event_id] = (event_hash, position)
        return found

    def page(self, after: LogPosition, limit: int) -> Page:
        """Events after ``after`` in position order."""
        last = after.offset(0)
        rows = self._connection().execute(
            "SELECT position, event_id, type, stream_id, recorded_at, hash, body, attested_by FROM events"
            " WHERE position > ? ORDER BY position LIMIT ?",
            (last, limit),
        )
        events = [RecordedEvent(*row[:7], partition=0, offset=row[0] - 1, attested_by=stored_attestation(row[7]))
                  for row in rows]
        return Page(events, after.advanced({0: events[-1].position}) if events else after)

    def recorded(self, event_ids: Sequence[str]) -> dict[str, RecordedEvent]:
        """The stored events among ``event_ids`` (body bytes exactly as stored), by id."""
        ids = list(dict.fromkeys(event_ids))
        found: dict[str, RecordedEvent] = {}
        connection = self._connection()
        for start in range(0, len(ids), _LOOKUP_CHUNK):
            chunk = ids[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for row in connection.execute(
                "SELECT position, event_id, type, stream_id, recorded_at, hash, body, attested_by FROM events"
                f" WHERE event_id IN ({marks})", chunk
            ):
                found[row[1]] = RecordedEvent(*row[:7], partition=0, offset=row[0] - 1,
                                              attested_by=stored_attestation(row[7]))
        return found

    def end_position(self) -> int:
        """The position of the last event (0 for an empty log): one total order, so one number."""
        row = self._connection().execute("SELECT COALESCE(MAX(position), 0) FROM events").fetchone()
        return int(row[0])

    def end(self) -> LogPosition:
        """``{0: the position of the last event}``."""
        return LogPosition({0: self.end_position()})

    def wait_for_append(self, after: LogPosition, timeout: float) -> bool:
        """Wait on this process's appends (other processes' appends are seen by the next poll)."""
        if self.has_events_past(after):
            return True
        with self._appended:
            self._appended.wait(timeout)
        return self.has_events_past(after)

    def close(self) -> None:
        """Close this thread's connection."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
