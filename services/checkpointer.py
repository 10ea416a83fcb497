"""The background thread that signs a checkpoint every few seconds while the log grows (embedded mode)."""
from __future__ import annotations

import logging
import threading

from services.transparency import TransparencyLog

logger = logging.getLogger(__name__)


class Checkpointer:
    """Signs a checkpoint every ``interval`` seconds when the tree has new leaves; stops on :meth:`stop`."""

    def __init__(self, transparency: TransparencyLog, interval: float):
        self.transparency = transparency
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Sign one now (the published tree should not wait a whole interval), then every interval."""
        self._thread = threading.Thread(target=self._run, name="checkpointer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                self.transparency.sign_checkpoint()
            except Exception:  # noqa: BLE001 - a failed signing is logged and retried at the next tick
                logger.exception("signing a checkpoint failed")
            if self._stop.wait(self.interval):
                return

    def stop(self, timeout: float = 10) -> None:
        """Ask the thread to stop and wait for it (a signing in hand finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
