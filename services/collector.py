"""The cyclic garbage collector held off while a large answer is built or a batch of events applied.

A cold provenance answer of a thousand-node ancestry allocates some hundred thousand short-lived
dicts and lists (rows, nodes, edges, events, findings). They hold no reference cycles, so reference
counting frees them; but while they live, the cyclic collector counts them, promotes them and runs a
full collection of the whole heap every few answers (tens of milliseconds each, the slow tail of the
answer's latency). A projector's batch is the same on a larger scale (rows gathered per table, claims
read back: a tenth of a replay's time went to the collector). Builds run with the collector paused;
it runs again as soon as no build is under way, and then collects whatever cycles anything made
meanwhile.
"""
from __future__ import annotations

import gc
import threading
import time
from contextlib import contextmanager
from typing import Iterator

#: the longest the collector stays paused while builds overlap one another (a busy server could
#: otherwise keep it paused for good, and the cycles made meanwhile would pile up)
MAX_PAUSE_S = 1.0

_lock = threading.Lock()
_builds = 0
#: whether the collector was enabled when the first of the running builds paused it
_was_enabled = False
#: when the running builds paused it (``time.monotonic()``)
_paused_at = 0.0


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic collector paused (nested and concurrent builds share one pause,
    which a build arriving after ``MAX_PAUSE_S`` of it ends)."""
    global _builds, _was_enabled, _paused_at
    with _lock:
        now = time.monotonic()
        if _builds == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
            _paused_at = now
        elif _was_enabled and not gc.isenabled() and now - _paused_at > MAX_PAUSE_S:
            gc.enable()  # overlapping builds held it long enough: it runs, the builds go on
        _builds += 1
    try:
        yield
    finally:
        with _lock:
            _builds -= 1
            if _builds == 0 and _was_enabled:
                gc.enable()
