"""The projector's figures of :mod:`bench.distributed` alone (a few minutes): the provenance projector
catching up from Kafka with each driver on the same topic, beside the raw consumers, in the same run.
See :func:`bench.distributed.run_projector`."""
from __future__ import annotations

from bench.distributed import run_projector

NAME = "distributed_projector"


def run() -> dict:
    """Each driver's projector catching up into SQLite and PostgreSQL, beside its references."""
    return run_projector()
