"""Webhook subscriptions of each organisation: make one (its secret shown once), list, delete, see its
deliveries, and replay the feed into it."""
from __future__ import annotations

import base64
import os
import secrets as random_tokens
import time
from datetime import datetime, timezone
from typing import Any

import orjson
from sqlalchemy import Engine, delete, func, select, update

from events.catalogue import CATALOGUE
from events.fields import NUL_MESSAGE, has_nul
from events.position import LogPosition
from services.auth import Principal
from services.database import SCHEMA_LOCK, serialise, write_transaction
from services.errors import InvalidRequest, NotFound
from services.feed import Feed, FeedFilter
from services.webhooks.outbox import ACTIVE, Subscription, delivery_rows, enqueue
from services.webhooks.secret_box import SecretBox
from services.webhooks.ssrf import UnsafeUrl, check_url
from services.webhooks.tables import deliveries, metadata, subscriptions

#: events one replay enqueues at most (replay again from its ``next`` for more)
REPLAY_LIMIT = 10_000
SECRET_PREFIX = "whsec_"


def iso(seconds: float | None) -> str | None:
    """Epoch seconds as RFC 3339 UTC (None stays None)."""
    if seconds is None:
        return None
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_secret() -> str:
    """A signing secret as the Standard Webhooks libraries take it: ``whsec_`` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(os.urandom(32)).decode()


class SubscriptionStore:
    """The subscriptions and their outbox in the read-model database (never dropped by a rebuild)."""

    def __init__(self, engine: Engine, box: SecretBox, feed: Feed, allow_private: bool = False):
        self.engine = engine
        self.box = box
        self.feed = feed
        self.allow_private = allow_private

    def create_tables(self) -> None:
        """Create the subscription and outbox tables if missing."""
        with write_transaction(self.engine) as tx:
            serialise(tx, SCHEMA_LOCK)
            metadata.create_all(tx)

    # -- subscriptions ------------------------------------------------------------------------
    def create(self, principal: Principal, body: Any) -> dict[str, Any]:
        """A new subscription of the caller's organisation, with its secret (the only time it is shown).

        It receives the events recorded from now on (``POST .../replay`` sends older ones).
        """
        url, types, description = self._validated(body)
        try:
            check_url(url, self.allow_private)
        except UnsafeUrl as exc:
            raise InvalidRequest(f"url refused: {exc}", {"url": [str(exc)]}) from None
        subscription_id = "sub_" + random_tokens.token_hex(12)
        secret = new_secret()
        row = {"id": subscription_id, "organisation": principal.org_id, "role": principal.role, "url": url,
               "description": description, "types": orjson.dumps(sorted(types)).decode() if types is not None else None,
               "secret": self.box.seal(secret, subscription_id),
               "start": orjson.dumps(self.feed.log.end().as_json()).decode(),
               "status": ACTIVE, "disabled_reason": None, "created_at": time.time()}
        with write_transaction(self.engine) as tx:
            tx.execute(subscriptions.insert().values(**row))
        return {**self._out(row), "secret": secret}

    @staticmethod
    def _validated(body: Any) -> tuple[str, frozenset[str] | None, str | None]:
        if not isinstance(body, dict):
            raise InvalidRequest("The body must be a JSON object.", {"": ["Not a JSON object."]})
        errors: dict[str, list[str]] = {}
        unknown = sorted(set(body) - {"url", "types", "description"})
        for name in unknown:
            errors[name] = ["Unknown field."]
        url = body.get("url")
        if not isinstance(url, str) or not url or len(url) > 2000:
            errors["url"] = ["A URL of at most 2,000 characters is required."]
        elif has_nul(url):
            errors["url"] = [NUL_MESSAGE]
        types = body.get("types")
        if types is not None:
            if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
                errors["types"] = ["A non-empty list of event types, or null for every type."]
            else:
                errors.update({f"types.{i}": [f"Unknown event type {t!r}."] for i, t in enumerate(types)
                               if t not in CATALOGUE})
        description = body.get("description")
        if description is not None and (not isinstance(description, str) or len(description) > 500):
            errors["description"] = ["Text of at most 500 characters."]
        elif description is not None and has_nul(description):
            errors["description"] = [NUL_MESSAGE]
        if errors:
            raise InvalidRequest("The subscription is not valid.", errors)
        return url, frozenset(types) if types is not None else None, description

    def list(self, principal: Principal) -> list[dict[str, Any]]:
        """The subscriptions of the caller's organisation, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(subscriptions).where(subscriptions.c.organisation == principal.org_id)
                                      .order_by(subscriptions.c.created_at, subscriptions.c.id))
            return [self._out(row._mapping) for row in rows]

    def get(self, principal: Principal, subscription_id: str) -> dict[str, Any]:
        """One subscription of the caller's organisation; :class:`NotFound` for any other (even another's)."""
        with self.engine.connect() as connection:
            return self._out(self._row(connection, principal, subscription_id))

    def delete(self, principal: Principal, subscription_id: str) -> None:
        """Delete a subscription and its outbox: nothing more is sent to it."""
        with write_transaction(self.engine) as tx:
            self._row(tx, principal, subscription_id)
            tx.execute(delete(deliveries).where(deliveries.c.subscription_id == subscription_id))
            tx.execute(delete(subscriptions).where(subscriptions.c.id == subscription_id))

    @staticmethod
    def _row(connection, principal: Principal, subscription_id: str):
        row = connection.execute(select(subscriptions).where(
            subscriptions.c.id == subscription_id, subscriptions.c.organisation == principal.org_id)).first()
        if row is None:
            raise NotFound(f"No subscription {subscription_id!r} of {principal.org_id}.")
        return row._mapping

    @staticmethod
    def _out(row: Any) -> dict[str, Any]:
        return {"id": row["id"], "url": row["url"],
                "types": orjson.loads(row["types"]) if row["types"] is not None else None,
                "description": row["description"], "organisation": row["organisation"], "status": row["status"],
                "disabled_reason": row["disabled_reason"], "created_at": iso(row["created_at"]),
                "restricted_fields": Subscription.from_row(row).sees_restricted}

    # -- deliveries ---------------------------------------------------------------------------
    def deliveries(self, principal: Principal, subscription_id: str, limit: int = 100,
                   status: str | None = None) -> list[dict[str, Any]]:
        """The subscription's latest deliveries, newest first."""
        c = deliveries.c
        with self.engine.connect() as connection:
            self._row(connection, principal, subscription_id)
            query = select(deliveries).where(c.subscription_id == subscription_id)
            if status is not None:
                query = query.where(c.status == status)
            rows = connection.execute(query.order_by(c.created_at.desc(), c.position.desc()).limit(limit))
            return [{"id": row.id, "event_id": row.event_id, "type": row.type, "position": row.position,
                     "status": row.status, "attempts": row.attempts, "last_response_code": row.last_response_code,
                     "last_error": row.last_error, "last_attempt_at": iso(row.last_attempt_at),
                     "next_attempt_at": iso(row.next_attempt_at) if row.status == "pending" else None,
                     "delivered_at": iso(row.delivered_at), "created_at": iso(row.created_at),
                     "replay_id": row.replay_id or None} for row in rows]

    def counts(self, subscription_id: str) -> dict[str, int]:
        """How many deliveries of the subscription are in each status."""
        c = deliveries.c
        with self.engine.connect() as connection:
            rows = connection.execute(select(c.status, func.count()).where(c.subscription_id == subscription_id)
                                      .group_by(c.status))
            return {status: int(count) for status, count in rows}

    def replay(self, principal: Principal, subscription_id: str, after: LogPosition) -> dict[str, Any]:
        """Send again the events past ``after`` (up to :data:`REPLAY_LIMIT`) that the subscription wants,
        as new deliveries (new ``webhook-id``s); a disabled subscription is enabled again."""
        with self.engine.connect() as connection:
            subscription = Subscription.from_row(self._row(connection, principal, subscription_id))
        replay_id = "rpl_" + random_tokens.token_hex(12)
        wanted = FeedFilter(types=subscription.types or frozenset())
        position, enqueued, caught_up = after, 0, False
        while enqueued < REPLAY_LIMIT and not caught_up:
            page = self.feed.read_events(position, min(1000, REPLAY_LIMIT - enqueued), wanted)
            rows = delivery_rows(((subscription, event) for event in page.events), replay_id)
            with write_transaction(self.engine) as tx:
                enqueue(tx, rows)
            enqueued += len(rows)
            position, caught_up = page.next, page.caught_up
        with write_transaction(self.engine) as tx:
            tx.execute(update(subscriptions).where(subscriptions.c.id == subscription_id)
                       .values(status=ACTIVE, disabled_reason=None))
        return {"replay_id": replay_id, "enqueued": enqueued, "position": position, "caught_up": caught_up}

