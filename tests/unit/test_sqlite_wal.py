"""The WAL copier's pace: one copy at a time, at most one per interval, failures kept quiet."""
from __future__ import annotations

import os
import select
import signal
import sqlite3
import threading

from services.sqlite_wal import WalCopier


class HandClock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def wal_database(path) -> str:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE t (x)")
    connection.execute("INSERT INTO t VALUES (1)")
    connection.close()
    return str(path)


def copy_held_back(copier: WalCopier) -> threading.Event:
    """Start a copy that waits, inside its thread, for the event returned to be set."""
    entered, release = threading.Event(), threading.Event()
    copy = copier._copy

    def held_back() -> None:
        entered.set()
        release.wait(10)
        copy()

    copier._copy = held_back  # type: ignore[method-assign]
    copier.committed()
    assert entered.wait(10)
    return release


def test_commits_within_the_interval_start_one_copy_and_the_first_after_it_another(tmp_path):
    clock = HandClock()
    copier = WalCopier(wal_database(tmp_path / "a.db"), every_s=0.5, clock=clock)
    copier.committed()
    assert copier.wait(10)
    copier.committed()  # same instant
    clock.now += 0.4
    copier.committed()
    assert copier.wait(10)
    assert copier.copies == 1
    clock.now += 0.2
    copier.committed()
    assert copier.wait(10)
    assert copier.copies == 2
    assert copier.last_result is not None and copier.last_result[0] == 0


def test_no_second_copy_starts_while_one_runs(tmp_path):
    clock = HandClock()
    copier = WalCopier(wal_database(tmp_path / "a.db"), every_s=0.0, clock=clock)
    release = copy_held_back(copier)
    clock.now += 5
    copier.committed()  # one runs: nothing started
    release.set()
    assert copier.wait(10)
    assert copier.copies == 1


def test_a_database_that_is_gone_is_neither_copied_nor_made_again(tmp_path):
    missing = tmp_path / "gone.db"
    copier = WalCopier(str(missing), every_s=0.0, clock=HandClock())
    copier.committed()
    assert copier.wait(10)
    assert copier.copies == 1 and copier.last_result is None
    assert not missing.exists()
    copier.committed()  # a failed copy does not block the next
    assert copier.wait(10)
    assert copier.copies == 2


def test_a_child_forked_while_the_copier_s_lock_is_held_gets_a_free_lock_and_no_copy_in_hand(tmp_path):
    copier = WalCopier(wal_database(tmp_path / "a.db"), every_s=0.0, clock=HandClock())
    read, write = os.pipe()
    with copier._lock:  # as if a copy were finishing in another thread at the fork
        pid = os.fork()
        if pid == 0:  # the child: its copier must not wait on a lock nobody will release
            try:  # (no SQLite in the child: another test's thread may hold SQLite's own mutexes)
                ok = copier._lock.acquire(timeout=5) and copier._thread is None
                os.write(write, b"1" if ok else b"0")
            finally:
                os._exit(0)
    os.close(write)
    ready, _, _ = select.select([read], [], [], 20)
    if not ready:  # the child hangs on the lock: end it
        os.kill(pid, signal.SIGKILL)
    answer = os.read(read, 1) if ready else b""
    os.waitpid(pid, 0)
    assert answer == b"1"


def test_a_fork_waits_for_the_copy_in_hand_and_starts_none_meanwhile(tmp_path):
    copier = WalCopier(wal_database(tmp_path / "a.db"), every_s=0.0, clock=HandClock())
    release = copy_held_back(copier)
    threading.Timer(0.2, release.set).start()
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    assert copier.copies == 1  # the fork waited for it: no copy was inside SQLite in the child


def test_a_thread_that_cannot_start_is_counted_and_never_raises(tmp_path, monkeypatch):
    copier = WalCopier(wal_database(tmp_path / "a.db"), every_s=0.0, clock=HandClock())

    def refuse(self) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(threading.Thread, "start", refuse)
    copier.committed()  # after a commit: nothing may raise from here
    monkeypatch.undo()
    assert copier.failures == 1 and copier.copies == 0
    assert copier.wait(1)  # no thread left behind that was never started
    copier.committed()
    assert copier.wait(10) and copier.copies == 1 and copier.failures == 1
