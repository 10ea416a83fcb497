"""The runners' own tables: each projector's checkpoint (or Kafka offsets) and its dead letters."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

checkpoints = Table(
    "projector_checkpoints",
    metadata,
    Column("projector", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

#: an event a projector could not apply: kept with its error, never dropped silently
dead_letters = Table(
    "projector_dead_letters",
    metadata,
    Column("projector", String(64), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("event_id", String(64), nullable=False),
    Column("error", Text, nullable=False),
    Column("failed_at", DateTime(timezone=True), nullable=False),
)

#: on Kafka: where each projector is in each partition (the next offset to read), written in the
#: same transaction as the read-model changes; Kafka's committed offsets are only for monitoring
offsets = Table(
    "projector_offsets",
    metadata,
    Column("projector", String(64), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, nullable=False),
)
