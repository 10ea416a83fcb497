"""What goes into the delivery outbox: one row per (subscription, event), its body ready to sign.

Used by the ``webhooks`` projector (live deliveries, in the transaction that stores its position)
and by a replay. The body is the Standard Webhooks payload ``{"type", "timestamp", "data"}``: the
event's type, the time the platform recorded it, and the event as the feed shows it to the
subscription's organisation (restricted fields only when the subscribing key may read them).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import orjson
from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from events.log import RecordedEvent
from events.position import LogPosition
from services.auth import RESTRICTED_READERS
from services.feed import visible_event
from services.webhooks.tables import deliveries, subscriptions

ACTIVE, DISABLED = "active", "disabled"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"
_MESSAGE_IDS = uuid.UUID("6b1d0c3e-52a4-4f7e-9a0b-7b6c5d4e3f21")


@dataclass(frozen=True)
class Subscription:
    """A subscription as the outbox needs it: whose it is, what it wants, and from where."""

    id: str
    organisation: str
    role: str
    types: frozenset[str] | None
    start: LogPosition

    @property
    def sees_restricted(self) -> bool:
        """Whether its deliveries carry restricted fields (names, photo-ID hashes, coordinates)."""
        return self.role in RESTRICTED_READERS

    def wants(self, event: RecordedEvent) -> bool:
        """Whether ``event`` is of a type it asked for."""
        return self.types is None or event.type in self.types

    def follows(self, event: RecordedEvent) -> bool:
        """Whether ``event`` came after the subscription was made (live deliveries are of those only)."""
        return self.start.offset(event.partition) <= event.offset

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Subscription":
        """From a ``webhook_subscriptions`` row (as a mapping)."""
        types = orjson.loads(row["types"]) if row["types"] is not None else None
        start = LogPosition({int(p): int(o) for p, o in orjson.loads(row["start"]).items()})
        return cls(row["id"], row["organisation"], row["role"], frozenset(types) if types is not None else None, start)


def active_subscriptions(tx: Connection) -> list[Subscription]:
    """Every active subscription, in id order."""
    rows = tx.execute(select(subscriptions).where(subscriptions.c.status == ACTIVE).order_by(subscriptions.c.id))
    return [Subscription.from_row(row._mapping) for row in rows]


def message_id(subscription_id: str, event_id: str, replay_id: str = "") -> str:
    """The ``webhook-id`` of the delivery of ``event_id`` to a subscription: stable, so retries share it."""
    return "msg_" + uuid.uuid5(_MESSAGE_IDS, f"{subscription_id}\n{event_id}\n{replay_id}").hex


def payload(event: RecordedEvent, sees_restricted: bool, envelope: dict[str, Any] | None = None) -> str:
    """The body of a delivery of ``event``, as sent and signed."""
    return orjson.dumps({"type": event.type, "timestamp": event.recorded_at,
                         "data": visible_event(event, sees_restricted, envelope)}).decode()


def delivery_rows(pairs: Iterable[tuple[Subscription, RecordedEvent]], replay_id: str = "",
                  now: float | None = None) -> list[dict[str, Any]]:
    """Outbox rows for each (subscription, event) pair, due at once."""
    now = time.time() if now is None else now
    envelopes: dict[str, dict[str, Any]] = {}
    rows = []
    for subscription, event in pairs:
        envelope = envelopes.get(event.event_id)
        if envelope is None:
            envelope = envelopes[event.event_id] = orjson.loads(event.body)
        rows.append({
            "subscription_id": subscription.id, "event_id": event.event_id, "replay_id": replay_id,
            "id": message_id(subscription.id, event.event_id, replay_id), "type": event.type,
            "position": event.position, "payload": payload(event, subscription.sees_restricted, envelope),
            "status": PENDING, "attempts": 0, "next_attempt_at": now, "lease_until": None,
            "last_attempt_at": None, "last_response_code": None, "last_error": None, "delivered_at": None,
            "created_at": now,
        })
    return rows


def enqueue(tx: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Write outbox rows inside ``tx``; a row already there (a duplicate event on Kafka, a batch applied
    again) is left as it is."""
    if rows:
        insert = postgresql.insert(deliveries) if tx.dialect.name == "postgresql" else sqlite.insert(deliveries)
        tx.execute(insert.on_conflict_do_nothing(), list(rows))
