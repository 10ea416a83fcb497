"""What retractions cost (issue 10), on the embedded default (SQLite log and read models).

- the runner's retraction bookkeeping on every batch (attesters, claims), measured as a replay of
  the same log into the provenance read model with it and, as the reference in the same run,
  with the bookkeeping bypassed: the ratio is what every projector pays for retractions;
- an undo: the time from a retraction of an event already applied to the read model rebuilt without
  it, against a plain rebuild of the same log (the undo is a rebuild beside the live tables).
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from unittest import mock

from bench.chains import EventFactory, bulk_stream
from composition.bootstrap import build_platform
from consumers import runner as runner_module
from consumers.retractions import Sorted
from events.attestation import Attestation
from events.envelope import prepare
from services.settings import Settings

NAME = "retractions"
EVENTS = int(os.environ.get("BENCH_RETRACTION_EVENTS", "30000"))
ROUNDS = int(os.environ.get("BENCH_RETRACTION_ROUNDS", "3"))
ADMIN = Attestation("admin", "admin", "bench")


def run() -> dict:
    """Append a log once, then time rebuilds with and without the bookkeeping, and an undo."""
    with tempfile.TemporaryDirectory() as scratch:
        platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(Path(scratch) / "data")}))
        try:
            events = bulk_stream(EventFactory("retract"), EVENTS, "ret")
            for start in range(0, len(events), 1000):
                platform.log.append([prepare(envelope, ADMIN) for envelope in events[start:start + 1000]])
            runner = platform.runner("provenance")
            with_bookkeeping, bypassed = [], []
            for _ in range(ROUNDS):  # interleaved, so drift of the machine hits both alike
                with_bookkeeping.append(_timed(runner.rebuild))
                with mock.patch.object(runner_module, "sort_batch", _no_bookkeeping):
                    bypassed.append(_timed(runner.rebuild))
            rebuild_s = min(with_bookkeeping)
            undo_s = _undo(platform, events)
        finally:
            platform.close()
    bypassed_s = min(bypassed)
    return {
        "events": len(events),
        "replay_with_retraction_bookkeeping_s": round(rebuild_s, 2),
        "replay_bookkeeping_bypassed_s": round(bypassed_s, 2),
        "bookkeeping_cost_ratio": round(rebuild_s / bypassed_s, 3),
        "undo_one_retraction_s": round(undo_s, 2),
        "undo_ratio_to_plain_rebuild": round(undo_s / rebuild_s, 3),
        "notes": "an undo is a rebuild beside the live tables of every read model that applied the event",
    }


def _timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _no_bookkeeping(tx, projector, handles, events, applied) -> Sorted:
    return Sorted(apply=[event for event in events if event.type in handles])


def _undo(platform, events: list[dict]) -> float:
    """Retract a transfer the provenance read model has applied; time its catch-up (a rebuild)."""
    runner = platform.runner("provenance")
    runner.catch_up()
    target = next(event for event in reversed(events) if event["type"] == "lot.transferred")
    retraction = EventFactory("retract-undo")("event.retracted", {"event_id": target["event_id"], "reason": "bench"})
    platform.log.append([prepare(retraction, ADMIN)])
    started = time.perf_counter()
    runner.catch_up()
    elapsed = time.perf_counter() - started
    assert not runner.stale
    return elapsed
