"""The runner: feeds a projector batches from its stored position, one transaction per batch.

Order of work in one batch (``run_batch``), and why:
1. open a write transaction on the read-model database, take the projector's lock (SQLite's
   write lock; a per-projector advisory lock on PostgreSQL) and read the stored position *inside*
   it, so two runners of one projector can never both apply the same batch;
2. read the next page of events after that position from the log;
3. apply them all under a savepoint; if one fails, roll the savepoint back and apply them one by
   one, each under its own savepoint, recording a failing event as a dead letter with its error;
4. store the page's next position and commit: the read-model writes and the position land
   together, so a crash anywhere before the commit loses nothing and a crash after it repeats nothing.

A position is a :class:`~events.position.LogPosition` (partition -> next offset), stored one row
per partition in ``projector_offsets``: the same code serves the SQLite log (one partition) and
Kafka (many). A read model built by another version of the projector is rebuilt beside the live
one (:mod:`consumers.rebuild`) before the runner goes on: the API keeps serving the old one.
"""
from __future__ import annotations

import logging
import threading
import time
import traceback
from datetime import datetime, timezone
from typing import Callable, Iterator, Protocol, Sequence

from sqlalchemy import Connection, Engine, func, select

from consumers import tracking
from consumers.offsets import save_offsets, stored_offsets, stored_position
from consumers.projector import Projector
from consumers.rebuild import rebuild_beside
from consumers.retractions import pending_undo, sort_batch
from consumers.sql import upsert
from events.log import EventLog, RecordedEvent
from events.position import LogPosition
from services.collector import collector_paused
from services.database import SCHEMA_LOCK, serialise, write_transaction

logger = logging.getLogger(__name__)

#: what a projector thread runs before each batch, given the thread's stop event: it returns when
#: the projector may go on (``services.capture_activity.CaptureActivity.wait_for_lull``)
Pace = Callable[[threading.Event], None]


class Runner(Protocol):
    """What the platform asks of a projector's runner, whatever the log (both runners meet it)."""

    projector: Projector
    listeners: list[Callable[[str, int, float], None]]

    def prepare(self) -> None:
        """Create the tables; note whether the read model must be rebuilt."""

    def checkpoint(self) -> LogPosition:
        """Where the projector is in the log."""

    def run_batch(self) -> int:
        """Apply the next batch; how many events."""

    def catch_up(self, until: LogPosition | None = None) -> int:
        """Apply batches until the projector has reached ``until`` (default: the log's end now)."""

    def progress(self, end: LogPosition | None = None) -> dict:
        """Position and lag for ``/readyz``."""

    def lag(self) -> int:
        """How far behind the log's end the projector is."""

    def dead_letter_count(self) -> int:
        """How many events the projector could not apply."""

    def rebuild(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log beside the live read model, then switch to it."""

    def run_forever(self, stop: threading.Event, poll_interval: float = 0.5, pace: Pace | None = None) -> None:
        """Follow the log until ``stop`` is set, running ``pace(stop)`` before each batch."""


class ProjectionRunner:
    """Runs one projector against one log and one read-model database, reading pages of the log."""

    def __init__(self, log: EventLog, engine: Engine, projector: Projector, batch_size: int = 500):
        self.log = log
        self.engine = engine
        self.projector = projector
        self.batch_size = batch_size
        #: set by :meth:`prepare` when the read model was built by another version of the projector
        self.stale = False
        #: set when a retraction takes back an event this read model already applied (see ``apply_events``)
        self.retraction_undo = False
        #: called after each committed batch with (projector name, events, seconds): metrics
        self.listeners: list[Callable[[str, int, float], None]] = []

    # -- set-up -----------------------------------------------------------------------------
    def prepare(self) -> None:
        """Create missing tables; a read model of another version is kept (the API reads it) and
        marked stale: the next batch rebuilds it beside the live one first."""
        with write_transaction(self.engine) as tx:
            serialise(tx, SCHEMA_LOCK)  # processes starting together must not race to create tables
            self.lock(tx)
            tracking.metadata.create_all(tx)
            self.projector.metadata.create_all(tx)
            stored = tx.execute(
                select(tracking.checkpoints.c.version, tracking.checkpoints.c.position)
                .where(tracking.checkpoints.c.projector == self.projector.name)
            ).first()
            self.stale = stored is not None and stored.version != self.projector.version
            if self.stale:
                logger.warning("%s: read model is version %s, code is %s: it will be rebuilt beside the live one",
                               self.projector.name, stored.version, self.projector.version)
            elif pending_undo(tx, self.projector.name):
                # a retraction took back an event this read model had applied, and the process stopped
                # before rebuilding: the claim's ``undo`` status kept the need, in the batch's transaction
                logger.warning("%s: a retraction waits to be undone: the read model will be rebuilt",
                               self.projector.name)
                self.stale = True
            elif stored is not None and stored.position and not stored_offsets(tx, self.projector.name, self.log.name):
                self._adopt_single_number(tx, int(stored.position))

    def _adopt_single_number(self, tx: Connection, position: int) -> None:
        # a read model from before positions were stored per partition kept one number: on a
        # one-partition log (SQLite) that number is the position, so the projector goes on from it
        if len(self.log.end()) <= 1:
            save_offsets(tx, self.projector.name, self.log.name, {0: position})

    def lock(self, tx: Connection) -> None:
        """Make ``tx`` the only transaction applying this projector until it ends."""
        serialise(tx, f"oretrail.projector.{self.projector.name}")

    # -- state ------------------------------------------------------------------------------
    def checkpoint(self, tx: Connection | None = None) -> LogPosition:
        """Where this projector is: each partition's next offset (the start before the first event)."""
        if tx is not None:
            return stored_position(tx, self.projector.name, self.log.name)
        with self.engine.connect() as connection:
            return stored_position(connection, self.projector.name, self.log.name)

    def dead_letter_count(self) -> int:
        """How many events this projector could not apply."""
        with self.engine.connect() as connection:
            return int(connection.execute(
                select(func.count()).select_from(tracking.dead_letters)
                .where(tracking.dead_letters.c.projector == self.projector.name)
            ).scalar() or 0)

    def lag(self) -> int:
        """Records of the log (on Kafka: and transaction markers) this projector has not reached."""
        return self.checkpoint().behind(self.log.end())

    def progress(self, end: LogPosition | None = None) -> dict:
        """Position and lag for ``/readyz`` (``end``: the log's end, if already known).

        ``position`` is the stored position's :attr:`~LogPosition.total` (on SQLite the position of
        the last event applied); on a log of several partitions the lag of each is given too.
        """
        position = self.checkpoint()
        if end is None:
            try:
                end = self.log.end()
            except Exception:  # noqa: BLE001 - the log's own entry of the report says why
                return {"position": position.total, "lag": None}
        report = {"position": position.total, "lag": position.behind(end)}
        if len(end) > 1:
            report["partitions_lag"] = {str(p): behind for p, behind in position.lag_by_partition(end).items()}
        return report

    # -- work -------------------------------------------------------------------------------
    def run_batch(self) -> int:
        """Apply the next batch and store the position after it, in one transaction; the number applied.

        A stale read model is rebuilt beside the live one first (then the count is the rebuild's).
        """
        if self.stale:
            return self.rebuild()
        started = time.perf_counter()
        with write_transaction(self.engine) as tx:
            self.lock(tx)
            position = self.checkpoint(tx)
            page = self.log.page(position, self.batch_size)
            if page.next == position:
                return 0
            self.apply_events(tx, page.events, position)
            self.save_position(tx, page.next)
        for listener in self.listeners:
            listener(self.projector.name, len(page.events), time.perf_counter() - started)
        return len(page.events)

    def apply_events(self, tx: Connection, events: Sequence[RecordedEvent], applied: LogPosition | None = None) -> None:
        """Apply ``events`` inside ``tx``; a poison event goes to the dead letters, the rest is applied.

        Events validly retracted are not applied (:mod:`consumers.retractions`); a retraction of an
        event already applied marks the read model stale: the next batch rebuilds it beside the
        live one. ``applied``: the projector's position before ``events`` (default: the stored one).
        """
        # a batch makes and drops hundreds of thousands of objects without cycles: the cyclic
        # collector would only walk them (a tenth of a replay's time, profiled)
        with collector_paused():
            self._apply_events(tx, events, applied)

    def _apply_events(self, tx: Connection, events: Sequence[RecordedEvent], applied: LogPosition | None) -> None:
        if applied is None:
            applied = self.checkpoint(tx)
        batch = sort_batch(tx, self.projector.name, self.projector.handles, events, applied)
        keep_aside = getattr(self.projector, "apply_retracted", None)
        if batch.retracted and keep_aside is not None:
            try:
                with tx.begin_nested():
                    keep_aside(tx, batch.retracted)
            except Exception as exc:  # noqa: BLE001 - kept as dead letters, never silently dropped
                for event, _retraction in batch.retracted:
                    self._dead_letter(tx, event, exc)
        if batch.undo:
            logger.warning("%s: retractions %s take back events already applied: the read model will be rebuilt",
                           self.projector.name, ", ".join(batch.undo))
            self.stale = self.retraction_undo = True
        handled = batch.apply
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
                self._dead_letter(tx, event, exc)

    def _dead_letter(self, tx: Connection, event: RecordedEvent, exc: Exception) -> None:
        """Keep an event the projector could not apply, with its error."""
        logger.error("%s: event %s at %s failed: %s", self.projector.name, event.event_id, event.position, exc)
        upsert(tx, tracking.dead_letters, {
            "projector": self.projector.name, "position": event.position, "event_id": event.event_id,
            "error": "".join(traceback.format_exception_only(exc)).strip()[:4000],
            "failed_at": datetime.now(timezone.utc),
        }, update=("error", "failed_at"))

    def save_position(self, tx: Connection, position: LogPosition) -> None:
        """Store ``position`` (each partition's next offset) and the projector's version, inside ``tx``."""
        save_offsets(tx, self.projector.name, self.log.name, position)
        upsert(tx, tracking.checkpoints, {
            "projector": self.projector.name, "position": position.total,
            "version": self.projector.version, "updated_at": datetime.now(timezone.utc),
        }, update=("position", "version", "updated_at"))

    def catch_up(self, until: LogPosition | None = None) -> int:
        """Apply batches until the position reaches ``until`` in every partition (default: the log's end now)."""
        if self.stale:
            self.rebuild()
        target = self.log.end() if until is None else until
        applied = 0
        while not self.checkpoint().reached(target):
            count = self.run_batch()
            if count == 0:
                break
            applied += count
        if self.stale:  # a retraction of an event already applied: the read model is rebuilt now
            self.rebuild()
        return applied

    def replay(self, until: LogPosition) -> Iterator[tuple[list[RecordedEvent], LogPosition]]:
        """The whole log from its start to at least ``until``, page by page, each page with the
        position after it (a rebuild applies them to its staging tables)."""
        position = LogPosition.start()
        while not position.reached(until):
            page = self.log.page(position, self.batch_size)
            if page.next == position:
                return
            position = page.next
            yield page.events, position

    def rebuild(self, on_progress: Callable[[int, int], None] | None = None) -> int:
        """Replay the whole log into tables beside the live ones, then switch (see :mod:`consumers.rebuild`).

        Readers see the old read model until the switch commits, the new one after.
        ``on_progress(done, total)`` follows the replay.
        """
        self.retraction_undo = False
        done = rebuild_beside(self, on_progress)
        # a retraction met during the replay may take back an event the replay had applied: again
        self.stale = self.retraction_undo
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

    def run_forever(self, stop: threading.Event, poll_interval: float = 0.5, pace: Pace | None = None) -> None:
        """Apply batches until ``stop`` is set; wait for new events when caught up; never die silently.

        ``pace(stop)`` runs before each batch (in the API's process: until capture lets the projector go).
        """
        failures = 0
        while not stop.is_set():
            try:
                if pace is not None:
                    pace(stop)
                if self.run_batch() == 0:
                    self.log.wait_for_append(self.checkpoint(), poll_interval)
                failures = 0
            except Exception:  # noqa: BLE001 - keep the projector alive; the error is logged loudly
                failures += 1
                logger.exception("%s: batch failed (attempt %d); retrying", self.projector.name, failures)
                stop.wait(min(30.0, 0.2 * 2 ** min(failures, 8)))


class ProjectorThreads:
    """The embedded mode's projectors: one daemon thread per runner, next to the API."""

    def __init__(self, runners: Sequence[ProjectionRunner], pace: Pace | None = None):
        """``pace``: what each thread runs before each batch (``ProjectionRunner.run_forever``)."""
        self.runners = list(runners)
        self.pace = pace
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start one thread per projector."""
        for runner in self.runners:
            thread = threading.Thread(
                target=runner.run_forever, args=(self._stop,), kwargs={"pace": self.pace},
                name=f"projector-{runner.projector.name}", daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the threads to stop and wait for them."""
        self._stop.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
