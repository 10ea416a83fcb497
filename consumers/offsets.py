"""Reading and writing a projector's stored position in a log (``projector_offsets``): one row per
partition, the next offset to read, whatever the log's backend."""
from __future__ import annotations

from typing import Mapping

from sqlalchemy import Connection, delete, select

from consumers import tracking
from consumers.sql import upsert
from events.position import LogPosition


def stored_offsets(tx: Connection, projector: str, topic: str) -> dict[int, int]:
    """The stored next offset of each partition of ``topic`` for ``projector``."""
    rows = tx.execute(select(tracking.offsets.c.partition, tracking.offsets.c.offset)
                      .where(tracking.offsets.c.projector == projector, tracking.offsets.c.topic == topic))
    return {int(partition): int(offset) for partition, offset in rows}


def stored_position(tx: Connection, projector: str, topic: str) -> LogPosition:
    """Where ``projector`` is in the log named ``topic`` (the start if it has stored nothing)."""
    return LogPosition(stored_offsets(tx, projector, topic))


def save_offsets(tx: Connection, projector: str, topic: str, offsets: Mapping[int, int]) -> None:
    """Store the next offset of each partition in ``offsets``."""
    for partition, offset in offsets.items():
        upsert(tx, tracking.offsets, {"projector": projector, "topic": topic, "partition": partition, "offset": offset},
               update=("offset",))


def replace_offsets(tx: Connection, projector: str, topic: str, position: LogPosition) -> None:
    """Store ``position`` as the whole of ``projector``'s place in ``topic`` (a rebuild's switch)."""
    tx.execute(delete(tracking.offsets).where(tracking.offsets.c.projector == projector,
                                              tracking.offsets.c.topic == topic))
    save_offsets(tx, projector, topic, position)
