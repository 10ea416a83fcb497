"""The cyclic collector paused while answers are built, and running again after the last one."""
from __future__ import annotations

import gc
import threading

from services.collector import collector_paused


def test_the_collector_runs_again_only_when_the_last_of_overlapping_builds_ends():
    assert gc.isenabled()
    first_in, second_done = threading.Event(), threading.Event()
    seen = []

    def second_build():
        first_in.wait()
        with collector_paused():
            seen.append(gc.isenabled())
        second_done.set()

    other = threading.Thread(target=second_build)
    other.start()
    with collector_paused():
        first_in.set()
        second_done.wait()
        seen.append(gc.isenabled())  # the other build ended, this one still runs
    other.join()
    assert seen == [False, False] and gc.isenabled()


def test_a_collector_paused_by_someone_else_stays_paused():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_build_that_fails_still_lets_the_collector_run_again():
    try:
        with collector_paused():
            raise ValueError("the build failed")
    except ValueError:
        pass
    assert gc.isenabled()


def test_builds_that_keep_overlapping_pause_the_collector_for_a_bounded_time(monkeypatch):
    import services.collector as collector

    monkeypatch.setattr(collector, "MAX_PAUSE_S", -1.0)  # any overlap is already too long
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # a build arriving while the pause has lasted too long ends it
            assert gc.isenabled()
        assert gc.isenabled()
    assert gc.isenabled()
    monkeypatch.setattr(collector, "MAX_PAUSE_S", 3600.0)
    with collector_paused():
        with collector_paused():
            assert not gc.isenabled()  # a short overlap shares the pause
    assert gc.isenabled()
