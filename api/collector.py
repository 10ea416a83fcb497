"""The cyclic garbage collector held off while a large answer is built.

A cold provenance answer of a thousand-node ancestry allocates some hundred thousand short-lived
dicts and lists (rows, nodes, edges, events, findings). They hold no reference cycles, so reference
counting frees them; but while they live, the cyclic collector counts them, promotes them and runs a
full collection of the whole heap every few answers (tens of milliseconds each, the slow tail of the
answer's latency). Builds run with the collector paused; it runs again as soon as no build is under
way, and then collects whatever cycles anything made meanwhile.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_builds = 0
#: whether the collector was enabled when the first of the running builds paused it
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic collector paused (nested and concurrent builds share one pause)."""
    global _builds, _was_enabled
    with _lock:
        if _builds == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _builds += 1
    try:
        yield
    finally:
        with _lock:
            _builds -= 1
            if _builds == 0 and _was_enabled:
                gc.enable()
