"""Capture first: in one process, the projectors give the interpreter to capture requests.

In the embedded mode the API's request threads and the projector threads share one Python
interpreter, and so one lock (the GIL): while a client posts a backlog, every projector batch
takes the interpreter from the capture requests, and capture ran at half its speed. The log is
the truth and the read models follow it, so capture goes first: a projector in the same process
defers its next batch while capture requests keep arriving, until capture has been quiet for
``quiet_s``, and never longer than ``longest_s`` (it then applies a batch as usual, so the read
models always move). The work is the same: the read models are up to date when they would have
been, the client's posts are answered sooner.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator


class CaptureActivity:
    """Whether capture requests are running in this process, and since when they are not.

    ``capturing()`` marks a request; ``wait_for_lull(stop)`` is what an in-process projector calls
    before each batch. ``longest_s`` 0 turns the deferral off.
    """

    def __init__(self, longest_s: float = 2.0, quiet_s: float = 0.05, clock: Callable[[], float] = time.monotonic):
        self.longest_s = longest_s
        self.quiet_s = quiet_s
        self._clock = clock
        self._changed = threading.Condition()
        self._running = 0
        self._last_end = float("-inf")

    @property
    def running(self) -> int:
        """How many capture requests are running now."""
        return self._running

    @contextmanager
    def capturing(self) -> Iterator[None]:
        """Mark one capture request for the time of a ``with``."""
        with self._changed:
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._last_end = self._clock()
                self._changed.notify_all()

    def delay(self, deadline: float) -> float | None:
        """Seconds a projector waiting until ``deadline`` (a clock time) should wait yet; None: go now."""
        now = self._clock()
        if now >= deadline:
            return None
        if self._running:
            return deadline - now
        quiet_for = now - self._last_end
        if quiet_for >= self.quiet_s:
            return None
        return min(self.quiet_s - quiet_for, deadline - now)

    def wait_for_lull(self, stop: threading.Event) -> None:
        """Return once capture has been quiet for ``quiet_s``, at the latest after ``longest_s``, or
        soon after ``stop`` is set."""
        if self.longest_s <= 0:
            return
        deadline = self._clock() + self.longest_s
        with self._changed:
            while not stop.is_set():
                wait = self.delay(deadline)
                if wait is None:
                    return
                # woken by every capture's end; a tenth of a second at most, to see ``stop``
                self._changed.wait(min(wait, 0.1))
