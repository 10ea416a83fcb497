"""Issue 15's capture figure on Kafka alone (a few minutes, not the distributed bench's half hour):
capture over HTTP with each Kafka driver beside the raw kafka-python and confluent-kafka producers,
measured in the same run on the same broker. See :func:`bench.distributed.run_capture`."""
from __future__ import annotations

from bench.distributed import run_capture

NAME = "distributed_capture"


def run() -> dict:
    """The capture figures of ``bench.distributed``, and nothing else of it."""
    return run_capture()
