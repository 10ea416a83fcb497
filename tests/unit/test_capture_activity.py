"""Capture first (``services.capture_activity``): when a projector in the API's process may go on."""
from __future__ import annotations

import threading

import pytest

from services.capture import CaptureService
from services.capture_activity import CaptureActivity
from services.auth import Principal
from tests import factories as f


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_projector_goes_at_once_when_capture_has_been_quiet(clock):
    activity = CaptureActivity(longest_s=2.0, quiet_s=0.05, clock=clock)
    assert activity.delay(deadline=clock.now + 2.0) is None
    with activity.capturing():
        clock.now += 1.0
    clock.now += 0.06
    assert activity.delay(deadline=clock.now + 2.0) is None


def test_while_capture_runs_a_projector_waits_until_its_deadline_at_most(clock):
    activity = CaptureActivity(longest_s=2.0, quiet_s=0.05, clock=clock)
    deadline = clock.now + 2.0
    with activity.capturing():
        assert activity.delay(deadline) == pytest.approx(2.0)
        clock.now += 1.5
        assert activity.delay(deadline) == pytest.approx(0.5)
        clock.now += 0.5
        assert activity.delay(deadline) is None  # capture goes on, the read models move all the same


def test_right_after_a_capture_a_projector_waits_for_the_quiet_time(clock):
    activity = CaptureActivity(longest_s=2.0, quiet_s=0.05, clock=clock)
    deadline = clock.now + 2.0
    with activity.capturing():
        clock.now += 0.3
    clock.now += 0.01
    assert activity.delay(deadline) == pytest.approx(0.04)  # another post may follow at once
    with activity.capturing():
        clock.now += 1.66
    assert activity.delay(deadline) == pytest.approx(0.03)  # the quiet time, cut short by the deadline


def test_overlapping_captures_keep_it_busy_until_the_last_ends(clock):
    activity = CaptureActivity(longest_s=2.0, quiet_s=0.05, clock=clock)
    deadline = clock.now + 2.0
    first, second = activity.capturing(), activity.capturing()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    clock.now += 0.5
    assert activity.delay(deadline) == pytest.approx(1.5)
    second.__exit__(None, None, None)
    assert activity.delay(deadline) == pytest.approx(0.05)


def _waiting(activity: CaptureActivity, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=activity.wait_for_lull, args=(stop,), daemon=True)
    thread.start()
    return thread


def test_a_waiting_projector_goes_on_when_capture_ends():
    activity = CaptureActivity(longest_s=60.0, quiet_s=0.01)
    stop = threading.Event()
    with activity.capturing():
        waiter = _waiting(activity, stop)
    waiter.join(10)
    assert not waiter.is_alive()


def test_a_waiting_projector_stops_when_asked_to():
    activity = CaptureActivity(longest_s=60.0)
    stop = threading.Event()
    with activity.capturing():
        waiter = _waiting(activity, stop)
        stop.set()
        waiter.join(10)
        assert not waiter.is_alive()


def test_zero_seconds_turns_the_deferral_off():
    activity = CaptureActivity(longest_s=0)
    with activity.capturing():
        waiter = _waiting(activity, threading.Event())
        waiter.join(10)
        assert not waiter.is_alive()


class RecordingLog:
    """A log that notes whether capture was marked busy while it appended."""

    detects_duplicates = True

    def __init__(self, activity: CaptureActivity):
        self.activity = activity
        self.busy_while_appending: list[bool] = []

    def append(self, batch):
        self.busy_while_appending.append(self.activity.running == 1)
        raise RuntimeError("not stored")


def test_a_capture_request_is_marked_for_its_whole_time_even_when_it_fails():
    activity = CaptureActivity(longest_s=2.0)
    log = RecordingLog(activity)
    service = CaptureService(log, activity=activity)
    with pytest.raises(RuntimeError):
        service.capture(Principal(key_id="k", org_id="admin", role="admin"), {"events": [f.site("a")]})
    assert log.busy_while_appending == [True]
    assert activity.running == 0
