"""Partitions whose readers are held back: a Kafka transaction that neither commits nor aborts.

A read_committed reader (every projector) stops at a partition's last stable offset, before the
first record of a transaction still open. Oretrail's producers give a transaction 20 seconds, after
which the broker aborts it, so a last stable offset that stays put below the partition's end (its
high watermark) for a minute is a transaction nobody will close: a *hanging* transaction (a write
of a producer that reached the partition after its transaction ended, KIP-664), or a producer of
another program keeping one open. Every event after it in that partition, accepted and answered
200, stays invisible to every projector until it is aborted: by ``services.hanging_transactions``
when no coordinator will close it, else by its producer or an operator (README, "The Kafka log").
Offsets alone cannot tell the two apart; both deserve the alarm.
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping


class HeldBackWatch:
    """Remembers, per partition, since when its last stable offset has stayed put below its end.

    ``observe`` is given both ends at each look (``/readyz``, each metrics scrape) and answers the
    partitions held back for ``after_s`` or longer.
    """

    def __init__(self, after_s: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.after_s = after_s
        self._clock = clock
        self._lock = threading.Lock()
        #: partition -> (its last stable offset, when it was first seen there below the high watermark)
        self._since: dict[int, tuple[int, float]] = {}

    def observe(self, stable: Mapping[int, int], highs: Mapping[int, int]) -> list[dict[str, Any]]:
        """The partitions held back now, given each one's last stable offset and high watermark."""
        now = self._clock()
        held: list[dict[str, Any]] = []
        with self._lock:
            for partition in sorted(highs):
                high, offset = highs[partition], stable.get(partition, 0)
                if offset >= high:
                    self._since.pop(partition, None)
                    continue
                seen = self._since.get(partition)
                if seen is None or seen[0] != offset:  # readers moved on: held back only from now
                    self._since[partition] = (offset, now)
                    continue
                if now - seen[1] >= self.after_s:
                    held.append({"partition": partition, "last_stable_offset": offset, "high_watermark": high,
                                 "held_for_s": round(now - seen[1], 1)})
        return held
