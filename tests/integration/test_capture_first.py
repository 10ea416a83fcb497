"""Capture first: the projector threads of the API's process put off their batches while capture
requests run (``ORETRAIL_CAPTURE_FIRST`` seconds at most), and go on as soon as capture is quiet."""
from __future__ import annotations

import time

import pytest

from composition.bootstrap import build_platform
from events.envelope import prepare
from services.settings import Settings
from tests import factories as f
from tests.waiting import wait_until


@pytest.fixture
def make_platform(tmp_path):
    made = []

    def make(capture_first: str):
        platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / f"data-{len(made)}"),
                                                     "ORETRAIL_CAPTURE_FIRST": capture_first}))
        made.append(platform)
        return platform

    yield make
    for platform in made:
        platform.close()


def _first_batches(platform) -> dict[str, float]:
    """When each projector first applied events (filled in by its runner's listener)."""
    applied: dict[str, float] = {}
    for runner in platform.runners.values():
        runner.listeners.append(lambda name, count, _seconds: applied.setdefault(name, time.monotonic()) if count else None)
    return applied


def test_while_capture_goes_on_the_projectors_wait_the_set_time_then_apply(make_platform):
    platform = make_platform("0.5")
    applied = _first_batches(platform)
    platform.log.append([prepare(event) for event in f.two_site_ring_chain()])
    with platform.capture_activity.capturing():  # a capture request that does not end
        started = time.monotonic()
        platform.start_projectors()
        wait_until(lambda: set(applied) == set(platform.runners), 10, "every projector to apply a batch")
        assert min(applied.values()) - started >= 0.5
        assert all(runner.lag() == 0 for runner in platform.runners.values())


def test_the_projectors_go_on_as_soon_as_capture_is_quiet(make_platform):
    platform = make_platform("60")
    applied = _first_batches(platform)
    with platform.capture_activity.capturing():
        platform.start_projectors()
        platform.log.append([prepare(event) for event in f.two_site_ring_chain()])
    # far sooner than the 60 seconds they would put off their batches under a capture that goes on
    wait_until(lambda: set(applied) == set(platform.runners), 10, "every projector to apply a batch")


def test_zero_turns_capture_first_off(make_platform):
    platform = make_platform("0")
    applied = _first_batches(platform)
    platform.log.append([prepare(event) for event in f.two_site_ring_chain()])
    with platform.capture_activity.capturing():
        platform.start_projectors()
        wait_until(lambda: set(applied) == set(platform.runners), 10, "every projector to apply a batch")


def test_the_api_marks_its_capture_requests_where_the_projectors_look(make_platform):
    platform = make_platform("2")
    capture = platform.app_context().capture
    assert capture.activity is platform.capture_activity
