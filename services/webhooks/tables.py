"""The webhooks' tables: subscriptions and the delivery outbox, in the read-model database.

Neither is a read model: a rebuild never drops them (like the API keys). The outbox rows of live
deliveries are written by the ``webhooks`` projector in the transaction that stores its position
(``consumers.webhooks``); the sender only updates them. Times are seconds since the epoch (a float),
the same on SQLite and PostgreSQL, so the sender's comparisons need no time-zone handling.
"""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, MetaData, String, Table, Text


metadata = MetaData()


def Key(length: int) -> String:  # noqa: N802 - a column type, named like one
    """An identifier compared byte by byte on every backend (the ``C`` collation on PostgreSQL)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


subscriptions = Table(
    "webhook_subscriptions", metadata,
    Column("id", Key(40), primary_key=True),
    #: the organisation it belongs to (the creating key's); only its keys see, replay or delete it
    Column("organisation", Key(128), nullable=False, index=True),
    #: the role of the creating key: deliveries carry restricted fields only when it may read them
    Column("role", String(32), nullable=False),
    Column("url", Text, nullable=False),
    Column("description", Text),
    #: JSON list of event types, NULL for every type
    Column("types", Text),
    #: the signing secret, encrypted (``services.webhooks.secret_box``)
    Column("secret", Text, nullable=False),
    #: JSON position of the log's end when it was made: live deliveries are of the events past it
    Column("start", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("disabled_reason", Text),
    Column("created_at", Float, nullable=False),
)

deliveries = Table(
    "webhook_deliveries", metadata,
    Column("subscription_id", Key(40), primary_key=True),
    Column("event_id", Key(64), primary_key=True),
    #: "" for the live delivery of an event, a replay's id for its deliveries (a replay sends again)
    Column("replay_id", Key(40), primary_key=True),
    #: the ``webhook-id`` header: the same on every attempt
    Column("id", Key(40), nullable=False, unique=True),
    Column("type", String(40), nullable=False),
    Column("position", BigInteger, nullable=False),
    #: the body sent, exactly as signed
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Float),
    #: a sender holds the delivery until then; after a crash (kill -9) it is free again at that time
    Column("lease_until", Float),
    Column("last_attempt_at", Float),
    Column("last_response_code", Integer),
    Column("last_error", Text),
    Column("delivered_at", Float),
    Column("created_at", Float, nullable=False),
    Index("webhook_deliveries_due", "status", "next_attempt_at"),
    Index("webhook_deliveries_of", "subscription_id", "created_at"),
)
