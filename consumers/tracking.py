"""The runners' own tables: each projector's version, its position per partition, its dead letters."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, String, Table, Text

metadata = MetaData()

#: the version of the projector that built the read model; ``position`` is the stored position's
#: ``total`` (the last event's position on SQLite), kept for reports: the truth is ``offsets``
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

#: where each projector is in each partition of a log (the next offset to read; ``topic`` is the
#: log's name), written in the same transaction as the read-model changes. On Kafka the offsets
#: committed to the broker are only for monitoring
offsets = Table(
    "projector_offsets",
    metadata,
    Column("projector", String(64), primary_key=True),
    Column("topic", String(249), primary_key=True),
    Column("partition", Integer, primary_key=True),
    Column("offset", BigInteger, nullable=False),
)

#: who attested each event a projector handled, its type and its place in the log: a fact of the
#: log, shared by the projectors (``consumers.retractions`` checks a retraction against it)
event_attesters = Table(
    "log_event_attesters",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("organisation", String(160), nullable=False),
    Column("type", String(40), nullable=False),
    Column("partition", Integer, nullable=False),
    Column("offset", BigInteger, nullable=False),
)

#: each ``event.retracted`` a projector met, and what became of it there: ``pending`` (its event not
#: seen yet), ``done`` (the event counts for nothing), ``refused`` or ``undo`` (to rebuild)
retractions = Table(
    "projector_retractions",
    metadata,
    Column("projector", String(64), primary_key=True),
    Column("retraction_id", String(64), primary_key=True),
    Column("target_id", String(64), nullable=False, index=True),
    Column("retracted_by", String(160), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
)
