"""Reading and writing a projector's stored Kafka offsets (``projector_offsets``)."""
from __future__ import annotations

from typing import Mapping

from sqlalchemy import Connection, select

from consumers import tracking
from consumers.sql import upsert


def stored_offsets(tx: Connection, projector: str, topic: str) -> dict[int, int]:
    """The stored next offset of each partition of ``topic`` for ``projector``."""
    rows = tx.execute(select(tracking.offsets.c.partition, tracking.offsets.c.offset)
                      .where(tracking.offsets.c.projector == projector, tracking.offsets.c.topic == topic))
    return {int(partition): int(offset) for partition, offset in rows}


def save_offsets(tx: Connection, projector: str, topic: str, offsets: Mapping[int, int]) -> None:
    """Store the next offset of each partition in ``offsets``."""
    for partition, offset in offsets.items():
        upsert(tx, tracking.offsets, {"projector": projector, "topic": topic, "partition": partition, "offset": offset},
               update=("offset",))
