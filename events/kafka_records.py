"""How an event sits in a Kafka record, and what its ``position`` is on Kafka.

A record's key is the event's stream id (so each stream stays in order in one partition), its value
the canonical JSON body, and its headers carry ``event_id``, ``type``, ``hash`` and ``recorded_at``
so a consumer can route and deduplicate without parsing the body. The header ``attested_by`` (JSON
``{organisation, role, key_id}``) names the key that recorded the event; a record written before it
existed has none and reads as ``attested_by: None``.

Kafka has no global order, only (partition, offset). Readers track a per-partition
:class:`~events.position.LogPosition`; but the v1 contract shows each event's ``position`` as a
number, so on Kafka that number is ``partition * 2**48 + offset + 1``: unique, growing within a
partition, and never compared across partitions. :func:`split_position` undoes it.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Mapping

from events.attestation import Attestation
from events.envelope import NewEvent
from events.log import RecordedEvent

#: bits of the offset in a position (2**48 offsets a partition: far more than any log will hold)
OFFSET_BITS = 48
_OFFSET_MASK = (1 << OFFSET_BITS) - 1
#: positions must stay within a signed 64-bit integer (database BIGINT, JSON numbers in most clients)
MAX_PARTITIONS = 1 << (63 - OFFSET_BITS)


def position_of(partition: int, offset: int) -> int:
    """The position of the record at ``offset`` of ``partition``."""
    if not 0 <= partition < MAX_PARTITIONS or not 0 <= offset < _OFFSET_MASK:
        raise ValueError(f"no position for partition {partition}, offset {offset}")
    return (partition << OFFSET_BITS) + offset + 1


def split_position(position: int) -> tuple[int, int]:
    """``(partition, offset)`` of a position; position 0 (before everything) gives ``(0, -1)``."""
    if position <= 0:
        return 0, -1
    return (position - 1) >> OFFSET_BITS, (position - 1) & _OFFSET_MASK


# A batch's events share one attestation (the key that posted them) and one ``recorded_at``, and a
# topic's records a few thousand attestations at most: encode and parse each once, not per record.
@lru_cache(maxsize=1024)
def _attestation_header(attestation: Attestation) -> bytes:
    return attestation.to_json().encode()


@lru_cache(maxsize=4096)
def _attestation_of(header: bytes | None) -> Attestation | None:
    return Attestation.from_json(header)


def headers_of(event: NewEvent, recorded_at: str | bytes) -> list[tuple[str, bytes]]:
    """The record headers of ``event`` (``recorded_at`` as text, or already encoded for a batch)."""
    headers = [
        ("event_id", event.event_id.encode()),
        ("type", event.type.encode()),
        ("hash", event.hash.encode()),
        ("recorded_at", recorded_at if isinstance(recorded_at, bytes) else recorded_at.encode()),
    ]
    if event.attested_by is not None:
        headers.append(("attested_by", _attestation_header(event.attested_by)))
    return headers


def recorded_event(record: Any) -> RecordedEvent:
    """A :class:`RecordedEvent` from a kafka-python ``ConsumerRecord``."""
    headers: Mapping[str, bytes] = dict(record.headers or ())
    attested_by = headers.get("attested_by")
    return RecordedEvent(
        position=position_of(record.partition, record.offset),
        event_id=headers["event_id"].decode(),
        type=headers["type"].decode(),
        stream_id=record.key.decode() if record.key is not None else "",
        recorded_at=headers["recorded_at"].decode(),
        hash=headers["hash"].decode(),
        body=bytes(record.value),
        partition=record.partition,
        offset=record.offset,
        attested_by=_attestation_of(bytes(attested_by) if attested_by is not None else None),
    )
