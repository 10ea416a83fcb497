"""Which runner follows which log: a registry keyed by the log's ``runner_kind``, so the
composition root never asks what class a log is."""
from __future__ import annotations

from typing import Callable

from sqlalchemy import Engine

from consumers.kafka_runner import KafkaProjectionRunner
from consumers.projector import Projector
from consumers.runner import ProjectionRunner
from events.log import EventLog

#: ``runner_kind`` -> a factory (log, engine, projector, batch size, consumer-group prefix)
RUNNERS: dict[str, Callable[[EventLog, Engine, Projector, int, str], ProjectionRunner]] = {
    "poll": lambda log, engine, projector, batch_size, _prefix: ProjectionRunner(log, engine, projector, batch_size),
    "consumer_group": lambda log, engine, projector, batch_size, prefix: KafkaProjectionRunner(
        log, engine, projector, batch_size, prefix),  # type: ignore[arg-type] - a consumer_group log is Kafka
}


def runner_for(log: EventLog, engine: Engine, projector: Projector, batch_size: int = 500,
               group_prefix: str = "oretrail") -> ProjectionRunner:
    """The runner of ``projector`` on ``log``, of the kind the log names."""
    try:
        factory = RUNNERS[log.runner_kind]
    except KeyError:
        raise ValueError(f"no runner for logs of kind {log.runner_kind!r}; known: {', '.join(sorted(RUNNERS))}") from None
    return factory(log, engine, projector, batch_size, group_prefix)
