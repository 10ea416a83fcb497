"""The runner: feeds a projector batches from its checkpoint, one transaction per batch.

Order of work in one batch (``run_batch``), and why:
1. open a write transaction on the read-model database, take the projector's lock (SQLite's
   write lock; a per-projector advisory lock on PostgreSQL) and read the checkpoint *inside* it,
   so two runners of one projector can never both apply the same batch;
2. read the next events after the checkpoint from the log;
3. apply them all under a savepoint; if one fails, roll the savepoint back and apply them one by
   one, each under its own savepoint, recording a failing event as a dead letter with its error;
4. write the new checkpoint and commit: the read-model writes and the position land together, so a
   crash anywhere before the commit loses nothing and a crash after it repeats nothing.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Callable, Sequence

from sqlalchemy import Connection, Engine, delete, func, select

from consumers import tracking
from consumers.projector import Projector
from consumers.sql import upsert
from events.log import EventLog, RecordedEvent
from services.database import SCHEMA_LOCK, serialise, write_transaction

logger = logging.getLogger(__name__)


class ProjectionRunner:
    """Runs one projector against one log and one read-model database."""

    def __init__(self, log: EventLog, engine: Engine, projector: Projector, batch_size: int = 500):
        self.log = log
        self.engine = engine
        self.projector = projector
        self.batch_size = batch_size
        #: called after each committed batch with (projector name, events, seconds): metrics
        self.listeners: list[Callable[[str, int, float], None]] = []

    # -- set-up -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create the tables; a read model built by another version of the projector is rebuilt."""
        with write_transaction(self.engine) as tx:
            serialise(tx, SCHEMA_LOCK)  # processes starting together must not race to create tables
            self._lock(tx)
            tracking.metadata.create_all(tx)
            stored = tx.execute(
                select(tracking.checkpoints.c.version).where(tracking.checkpoints.c.projector == self.projector.name)
            ).scalar()
            if stored is not None and stored != self.projector.version:
                logger.warning("%s: read model is version %s, code is %s: rebuilding",
                               self.projector.name, stored, self.projector.version)
                self._reset(tx)
            else:
                self.projector.metadata.create_all(tx)

    def _lock(self, tx: Connection) -> None:
        """Make ``tx`` the only transaction applying this projector until it ends."""
        serialise(tx, f"oretrail.projector.{self.projector.name}")

    def _reset(self, tx: Connection) -> None:
        self.projector.metadata.drop_all(tx)
        self.projector.metadata.create_all(tx)
        tx.execute(delete(tracking.checkpoints).where(tracking.checkpoints.c.projector == self.projector.name))
        tx.execute(delete(tracking.dead_letters).where(tracking.dead_letters.c.projector == self.projector.name))

    # -- state ------------------------------------------------------------------------------
    def checkpoint(self, tx: Connection | None = None) -> int:
        """The position of the last event this projector has applied (0 before the first)."""
        query = select(tracking.checkpoints.c.position).where(tracking.checkpoints.c.projector == self.projector.name)
        if tx is not None:
            return int(tx.execute(query).scalar() or 0)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar() or 0)

    def dead_letter_count(self) -> int:
        """How many events this projector could not apply."""
        with self.engine.connect() as connection:
            return int(connection.execute(
                select(func.count()).select_from(tracking.dead_letters)
                .where(tracking.dead_letters.c.projector == self.projector.name)
            ).scalar() or 0)

    def lag(self) -> int:
        """Events in the log that this projector has not applied yet."""
        return max(0, self.log.end_position() - self.checkpoint())

    def progress(self, end: int | None = None) -> dict:
        """Position and lag for ``/readyz`` (``end``: the log's end position, if already known)."""
        position = self.checkpoint()
        if end is None:
            try:
                end = self.log.end_position()
            except Exception:  # noqa: BLE001 - the log's own entry of the report says why
                end = None
        return {"position": position, "lag": max(0, end - position) if end is not None else None}

    # -- work -------------------------------------------------------------------------------
    def run_batch(self) -> int:
        """Apply the next batch and move the checkpoint, in one transaction; the number applied."""
        started = time.perf_counter()
        with write_transaction(self.engine) as tx:
            self._lock(tx)
            position = self.checkpoint(tx)
            events = self.log.read(position, self.batch_size)
            if not events:
                return 0
            self._apply_all(tx, events)
            self._save_checkpoint(tx, events[-1].position)
        for listener in self.listeners:
            listener(self.projector.name, len(events), time.perf_counter() - started)
        return len(events)

    def _apply_all(self, tx: Connection, events: Sequence[RecordedEvent]) -> None:
        handled = [event for event in events if event.type in self.projector.handles]
        try:
            with tx.begin_nested():
                self.projector.apply_batch(tx, handled)
            return
        except Exception:  # noqa: BLE001 - find the poison event below, one by one
            logger.warning("%s: a batch failed, applying its events one by one", self.projector.name)
        for event in handled:
            try:
                with tx.begin_nested():
                    self.projector.apply(tx, event)
            except Exception as exc:  # noqa: BLE001 - a poison event is kept, never silently dropped
                logger.error("%s: event %s at %s failed: %s", self.projector.name, event.event_id, event.position, exc)
                upsert(tx, tracking.dead_letters, {
                    "projector": self.projector.name, "position": event.position, "event_id": event.event_id,
                    "error": "".join(traceback.format_exception_only(exc)).strip()[:4000],
                    "failed_at": datetime.now(timezone.utc),
                }, update=("error", "failed_at"))

    def _save_checkpoint(self, tx: Connection, position: int) -> None:
        upsert(tx, tracking.checkpoints, {
            "projector": self.projector.name, "position": position,
            "version": self.projector.version, "updated_at": datetime.now(timezone.utc),
        }, update=("position", "version", "updated_at"))

    def catch_up(self, until: int | None = None) -> int:
        """Apply batches until the checkpoint reaches ``until`` (default: the log's end now)."""
        target = self.log.end_position() if until is None else until
        applied = 0
        while self.checkpoint() < target:
            count = self.run_batch()
            if count == 0:
                break
            applied += count
        return applied

    def rebuild(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Drop the read model and replay the whole log into it, in one transaction.

        Readers keep seeing the old read model until the commit (SQLite WAL and PostgreSQL
        snapshots), then see the new one whole. ``on_progress(done, total)`` follows the replay.
        """
        self.prepare()
        total = self.log.end_position()
        done = 0
        with write_transaction(self.engine) as tx:
            self._lock(tx)
            self._reset(tx)
            position = 0
            while True:
                events = self.log.read(position, self.batch_size)
                if not events:
                    break
                self._apply_all(tx, events)
                position = events[-1].position
                done += len(events)
                if on_progress is not None:
                    on_progress(done, max(total, done))
            self._save_checkpoint(tx, position)
        self.analyze()
        return done

    def analyze(self) -> None:
        """After a bulk load, refresh PostgreSQL's statistics now rather than at autovacuum's next round.

        Without them the planner guesses the tables are tiny and walks a lineage with sequential
        scans: a deep product's provenance then takes several times longer.
        """
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.connect() as connection:
            for table in self.projector.metadata.sorted_tables:
                connection.exec_driver_sql(f'ANALYZE "{table.name}"')
            connection.commit()

    def run_forever(self, stop: threading.Event, poll_interval: float = 0.5) -> None:
        """Apply batches until ``stop`` is set; wait for new events when caught up; never die silently."""
        failures = 0
        while not stop.is_set():
            try:
                if self.run_batch() == 0:
                    self.log.wait_for_append(self.checkpoint(), poll_interval)
                failures = 0
            except Exception:  # noqa: BLE001 - keep the projector alive; the error is logged loudly
                failures += 1
                logger.exception("%s: batch failed (attempt %d); retrying", self.projector.name, failures)
                stop.wait(min(30.0, 0.2 * 2 ** min(failures, 8)))


class ProjectorThreads:
    """The embedded mode's projectors: one daemon thread per runner, next to the API."""

    def __init__(self, runners: Sequence[ProjectionRunner]):
        self.runners = list(runners)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one thread per projector."""
        for runner in self.runners:
            thread = threading.Thread(
                target=runner.run_forever, args=(self._stop,), name=f"projector-{runner.projector.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to stop and wait for them."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
