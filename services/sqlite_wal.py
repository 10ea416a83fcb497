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


#: every copier of this process, so that a child process forked while a copy held a lock starts clean
_COPIERS: "weakref.WeakSet[WalCopier]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for copier in list(_COPIERS):
        copier._lock = threading.Lock()  # noqa: SLF001 - the copier's own state, reset for the child
        copier._thread = None  # noqa: SLF001 - no copy runs in the child


_FORK_HOOK = []  # holds True once the hook is registered (with the first copier, not at import)


def _watch_forks() -> None:
    if not _FORK_HOOK:
        os.register_at_fork(after_in_child=_after_fork_in_child)
        _FORK_HOOK.append(True)


class WalCopier:
    """Checkpoints one SQLite database's WAL in the background after commits, one copy at a time."""

    def __init__(self, database: str, every_s: float = COPY_EVERY_S, clock: Callable[[], float] = time.monotonic):
        """``database``: the path of the SQLite file."""
        self.database = database
        self.every_s = every_s
        self.clock = clock
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._last_start = float("-inf")
        #: ``(busy, wal_frames, copied_frames)`` of the last copy (SQLite's answer to ``wal_checkpoint``)
        self.last_result: tuple[int, int, int] | None = None
        #: copies finished (with or without an error)
        self.copies = 0
        _watch_forks()
        _COPIERS.add(self)

    def committed(self) -> None:
        """A commit happened: start a copy unless one runs or one started less than ``every_s`` ago."""
        now = self.clock()
        with self._lock:
            # (a thread that is not alive: the copy ended, or this process was forked during it)
            running = self._thread is not None and self._thread.is_alive()
            if running or now - self._last_start < self.every_s:
                return
            self._last_start = now
            self._thread = threading.Thread(target=self._copy, name="sqlite-wal-copy", daemon=True)
            thread = self._thread
        thread.start()

    def wait(self, timeout: float) -> bool:
        """Wait for the copy in hand, if any; True when none runs any more."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

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
            logger.debug("copying the WAL of %s failed: %r", self.database, exc)
        finally:
            with self._lock:
                self.copies += 1
                self._thread = None
