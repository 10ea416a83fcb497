"""The capture-side index of accepted events, for logs that cannot look up an ``event_id`` (Kafka).

Kafka cannot tell cheaply whether an ``event_id`` was appended before. :class:`IndexedLog` keeps a
table ``capture_event_index(event_id, hash, position)`` in the read-model database and wraps the log:

1. look the batch's ids up: a known id with the same hash answers ``duplicate`` with its recorded
   position and is not sent again; a known id with another hash fails the batch (409);
2. append the rest to the log (one Kafka transaction, all or nothing);
3. AFTER the log's commit, insert their ids into the index (insert-or-ignore).

Step 3 cannot be atomic with step 2, so the index is best effort: two copies of one batch posted
at the same moment, a crash between 2 and 3, or an index that cannot be read all let a duplicate
reach the log (DESIGN.md decision 4): every projector ignores an ``event_id`` it has applied.
"""
from __future__ import annotations

import logging
from typing import Sequence

from sqlalchemy import BigInteger, Column, Engine, MetaData, String, Table, select
from sqlalchemy.dialects import sqlite
from sqlalchemy.exc import SQLAlchemyError

from events.envelope import NewEvent
from events.log import AppendResult, EventLog, IdempotencyConflict, Page
from events.position import LogPosition
from services.database import write_transaction

logger = logging.getLogger(__name__)

metadata = MetaData()

index = Table(
    "capture_event_index", metadata,
    Column("event_id", String(64), primary_key=True),
    Column("hash", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
)

#: bound parameters per lookup (SQLite allows 32,766; stay well under)
_CHUNK = 900

#: PostgreSQL: a batch's lookup and its insert-or-ignore, each one statement over arrays. Each array is
#: sent as one comma-separated text (event ids are UUIDs, hashes hex, positions numbers: no commas):
#: psycopg's dumping of a 500-element list costs 30 times the statement.
_PG_LOOKUP = "SELECT event_id, hash, position FROM capture_event_index WHERE event_id = ANY(string_to_array(%s, ','))"
_PG_REMEMBER = ("INSERT INTO capture_event_index (event_id, hash, position) "
                "SELECT * FROM unnest(string_to_array(%s, ','), string_to_array(%s, ','), "
                "string_to_array(%s, ',')::bigint[]) ON CONFLICT DO NOTHING")


class IndexedLog(EventLog):
    """Wraps a log that cannot detect duplicates with a best-effort index of accepted event ids."""

    detects_duplicates = True

    def __init__(self, log: EventLog, engine: Engine):
        self.log = log
        self.engine = engine
        self.runner_kind = log.runner_kind
        self.name = log.name

    def create_tables(self) -> None:
        """Create the index table (idempotent)."""
        metadata.create_all(self.engine)

    def append(self, batch: Sequence[NewEvent]) -> list[AppendResult]:
        """Answer known ids from the index, append the others, then index them (best effort)."""
        known = self._known([event.event_id for event in batch])
        conflicts = [event.event_id for event in batch
                     if event.event_id in known and known[event.event_id][0] != event.hash]
        if conflicts:
            raise IdempotencyConflict(list(dict.fromkeys(conflicts)))
        fresh = [event for event in batch if event.event_id not in known]
        appended = iter(self.log.append(fresh) if fresh else [])
        results = []
        for event in batch:
            if event.event_id in known:
                results.append(AppendResult(event.event_id, "duplicate", known[event.event_id][1]))
            else:
                results.append(next(appended))
        self._remember([(event, result) for event, result in zip(batch, results) if result.status == "accepted"])
        return results

    def _known(self, event_ids: list[str]) -> dict[str, tuple[str, int]]:
        found: dict[str, tuple[str, int]] = {}
        unique = list(dict.fromkeys(event_ids))
        try:
            with self.engine.connect() as connection:
                if connection.dialect.name == "postgresql":  # one array parameter: no 500-parameter statement to build
                    rows = connection.exec_driver_sql(_PG_LOOKUP, (",".join(unique),))
                    return {event_id: (event_hash, position) for event_id, event_hash, position in rows}
                for start in range(0, len(unique), _CHUNK):
                    rows = connection.execute(select(index.c.event_id, index.c.hash, index.c.position)
                                              .where(index.c.event_id.in_(unique[start:start + _CHUNK])))
                    found.update((event_id, (event_hash, position)) for event_id, event_hash, position in rows)
        except SQLAlchemyError as exc:  # best effort: without the index a duplicate may reach the log
            logger.warning("event index unreadable, appending without duplicate check: %s", exc)
        return found

    def _remember(self, accepted: list[tuple[NewEvent, AppendResult]]) -> None:
        if not accepted:
            return
        rows = [{"event_id": event.event_id, "hash": event.hash, "position": result.position}
                for event, result in accepted]
        try:
            with write_transaction(self.engine) as tx:
                if tx.dialect.name == "postgresql":  # one statement of three arrays, not a row per event
                    tx.exec_driver_sql(_PG_REMEMBER, (",".join(row["event_id"] for row in rows),
                                                      ",".join(row["hash"] for row in rows),
                                                      ",".join(str(row["position"]) for row in rows)))
                    return
                tx.execute(sqlite.insert(index).on_conflict_do_nothing(), rows)
        except SQLAlchemyError as exc:  # the events are in the log: only a later retry could duplicate them
            logger.warning("could not index %d accepted events: %s", len(rows), exc)

    def answered(self, event_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """What capture answered for each of ``event_ids`` it accepted: event id -> (hash, position);
        raises when the index cannot be read (``services.hanging_transactions`` decides nothing then)."""
        unique, found = list(dict.fromkeys(event_ids)), {}
        with self.engine.connect() as connection:
            for start in range(0, len(unique), _CHUNK):
                rows = connection.execute(select(index.c.event_id, index.c.hash, index.c.position)
                                          .where(index.c.event_id.in_(unique[start:start + _CHUNK])))
                found.update((event_id, (event_hash, position)) for event_id, event_hash, position in rows)
        return found

    def page(self, after: LogPosition, limit: int) -> Page:
        """The wrapped log's events."""
        return self.log.page(after, limit)

    def end(self) -> LogPosition:
        """The wrapped log's end."""
        return self.log.end()

    def wait_for_append(self, after: LogPosition, timeout: float) -> bool:
        """The wrapped log's wait."""
        return self.log.wait_for_append(after, timeout)

    def close(self) -> None:
        """Close the wrapped log."""
        self.log.close()
