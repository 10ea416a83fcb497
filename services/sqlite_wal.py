"""A SQLite read model's write-ahead log copied into its database file by a thread of its own.

In WAL mode a commit appends pages to the ``-wal`` file; they reach the database file at a
*checkpoint*. SQLite's automatic one runs inside the commit that takes the WAL past
``wal_autocheckpoint`` pages, on the writer's own thread: one projector commit in six took 80 to
90 ms instead of about 10 (it copied some 40 MiB and synced the file), a tenth of a catch-up from
Kafka. :class:`WalCopier` runs a ``PASSIVE`` checkpoint (it never waits on readers or the writer,
and copies only what no reader still needs) on a connection of its own, in a short-lived thread,
at most every ``every_s`` seconds after a projector's commit: sqlite3 lets go of the GIL while SQLite copies,
so the copy runs beside the projector on another core.

SQLite starts the WAL file over only when a writer begins after everything in it was copied. A
live projector's next batch comes after a copy has ended, so its WAL stays small; one catching up
begins its next transaction right after each commit, before any copy can end, so the automatic
checkpoint stays as a cap (``services.database.READ_MODEL_CHECKPOINT_PAGES``): the commit past it
copies the little the copier has not, and the WAL starts over.

A copy never raises into the writer: one that fails (or whose thread cannot start) is counted and
logged, and the cap copies instead. A process forking waits for a copy in hand (its child must not
inherit SQLite's locks and mutexes half taken); disposing of the engine closes its copier.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from typing import Callable
from urllib.parse import quote

logger = logging.getLogger(__name__)

#: the least time between two copies of one database's WAL (a batch of 2,000 events writes ~1,000
#: pages in ~0.2 s: a copy every half second moves a few thousand pages at once)
COPY_EVERY_S = 0.5


#: every copier of this process (for the fork hooks below)
_COPIERS: "weakref.WeakSet[WalCopier]" = weakref.WeakSet()
#: holds True while this process forks: no copy starts then
_FORKING: list[bool] = [False]
_FORK_HOOKS: list[bool] = []  # holds True once the hooks are registered (with the first copier, not at import)


def _before_fork() -> None:
    """No copy may be inside SQLite when the process forks: a child would inherit its locks and
    mutexes half taken (and hang, or see a malformed file). Stop new copies, wait for running ones."""
    _FORKING[0] = True
    for copier in list(_COPIERS):
        thread = copier._thread  # noqa: SLF001 - read without the lock, which the forking thread may hold
        if thread is not None:
            thread.join(FORK_WAIT_S)


def _after_fork_in_parent() -> None:
    _FORKING[0] = False


def _after_fork_in_child() -> None:
    _FORKING[0] = False
    for copier in list(_COPIERS):
        copier._lock = threading.Lock()  # noqa: SLF001 - the copier's own state, reset for the child
        copier._thread = None  # noqa: SLF001 - no copy runs in the child


def _watch_forks() -> None:
    if not _FORK_HOOKS:
        os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent,
                            after_in_child=_after_fork_in_child)
        _FORK_HOOKS.append(True)


#: how long a fork waits for a copy in hand (a copy of a few thousand pages takes well under a second)
FORK_WAIT_S = 10.0


class WalCopier:
    """Checkpoints one SQLite database's WAL in the background after commits, one copy at a time."""

    def __init__(self, database: str, every_s: float = COPY_EVERY_S, clock: Callable[[], float] = time.monotonic):
        """``database``: the path of the SQLite file (made absolute now: the process may change directory)."""
        self.database = os.path.abspath(database)
        self.every_s = every_s
        self.clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_start = float("-inf")
        self._closed = False
        #: ``(busy, wal_frames, copied_frames)`` of the last copy (SQLite's answer to ``wal_checkpoint``)
        self.last_result: tuple[int, int, int] | None = None
        #: copies finished (with or without an error), and those that failed
        self.copies = 0
        self.failures = 0
        _watch_forks()
        _COPIERS.add(self)

    def committed(self) -> None:
        """A commit happened: start a copy unless one runs, one started less than ``every_s`` ago, the
        copier is closed or the process forks. Never raises: the commit is done whatever happens here."""
        now = self.clock()
        with self._lock:
            # (a thread that is not alive: the copy ended, or this process was forked during it)
            running = self._thread is not None and self._thread.is_alive()
            if self._closed or _FORKING[0] or running or now - self._last_start < self.every_s:
                return
            self._last_start = now
            thread = threading.Thread(target=self._copy, name="sqlite-wal-copy", daemon=True)
            try:
                thread.start()  # under the lock: wait() never sees a thread not started yet
            except Exception as exc:  # noqa: BLE001 - no thread to be had (limits, shutdown): the cap copies
                self.failures += 1
                self._log_failure("starting a copy of the WAL of %s failed: %r", exc)
                return
            self._thread = thread

    def wait(self, timeout: float) -> bool:
        """Wait for the copy in hand, if any; True when none runs any more."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def close(self, timeout: float = FORK_WAIT_S) -> None:
        """Start no more copies and wait for the one in hand (the engine is being disposed of)."""
        with self._lock:
            self._closed = True
        self.wait(timeout)

    def _copy(self) -> None:
        try:
            # read-write, never create: a database removed meanwhile is not made again empty
            connection = sqlite3.connect(f"file:{quote(self.database)}?mode=rw", uri=True, timeout=0,
                                         isolation_level=None)
            try:
                busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.last_result = (busy, frames, copied)
            finally:
                connection.close()
        except sqlite3.Error as exc:  # a later commit tries again; the automatic checkpoint is the cap
            with self._lock:
                self.failures += 1
            self._log_failure("copying the WAL of %s failed: %r", exc)
        finally:
            with self._lock:
                self.copies += 1
                self._thread = None

    def _log_failure(self, message: str, exc: BaseException) -> None:
        """The first failure and every hundredth as a warning (until then the commits copy past the cap)."""
        level = logging.WARNING if self.failures % 100 == 1 else logging.DEBUG
        logger.log(level, message, self.database, exc)
