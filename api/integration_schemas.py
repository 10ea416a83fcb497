"""Marshmallow schemas of the integration API (the event feed and webhook subscriptions), for the OpenAPI document."""
from __future__ import annotations

from marshmallow import Schema, fields

from api.schemas import RecordedEventOut


class FeedPage(Schema):
    """``GET /v1/events``: a page of the feed."""

    events = fields.List(fields.Nested(RecordedEventOut), required=True)
    next = fields.String(required=True, metadata={"description": "the cursor after this page: pass it as `after`"})
    caught_up = fields.Boolean(required=True, metadata={
        "description": "true: the page reached the end of the log as it was; poll later with `next`"})


class SubscriptionIn(Schema):
    """``POST /v1/subscriptions`` body."""

    url = fields.String(required=True, metadata={"description": "http(s) URL the deliveries are POSTed to; not a "
                                                 "loopback, link-local or private address"})
    types = fields.List(fields.String(), allow_none=True, metadata={
        "description": "only events of these types (default: every type)"})
    description = fields.String(allow_none=True, metadata={"description": "free text, at most 500 characters"})


class SubscriptionOut(Schema):
    """A webhook subscription of the calling organisation."""

    id = fields.String(required=True)
    url = fields.String(required=True)
    types = fields.List(fields.String(), allow_none=True, required=True)
    description = fields.String(allow_none=True, required=True)
    organisation = fields.String(required=True)
    status = fields.String(required=True, metadata={"enum": ["active", "disabled"]})
    disabled_reason = fields.String(allow_none=True, required=True, metadata={
        "description": "why deliveries stopped (persistent failure, or the receiver answered 410 Gone)"})
    created_at = fields.String(required=True)
    restricted_fields = fields.Boolean(required=True, metadata={
        "description": "whether deliveries carry restricted fields (the creating key was an admin or auditor key)"})
    secret = fields.String(metadata={"description": "`whsec_` + base64 of 32 random bytes: the key of the "
                                                    "signatures; in the answer to POST only, never shown again"})


class SubscriptionList(Schema):
    """The calling organisation's subscriptions."""

    subscriptions = fields.List(fields.Nested(SubscriptionOut), required=True)


class DeliveryOut(Schema):
    """One delivery of one event to one subscription."""

    id = fields.String(required=True, metadata={"description": "the `webhook-id` header, the same on every attempt"})
    event_id = fields.String(required=True)
    type = fields.String(required=True)
    position = fields.Integer(required=True)
    status = fields.String(required=True, metadata={"enum": ["pending", "delivered", "failed"]})
    attempts = fields.Integer(required=True)
    last_response_code = fields.Integer(allow_none=True, required=True)
    last_error = fields.String(allow_none=True, required=True)
    last_attempt_at = fields.String(allow_none=True, required=True)
    next_attempt_at = fields.String(allow_none=True, required=True)
    delivered_at = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)
    replay_id = fields.String(allow_none=True, required=True, metadata={"description": "set on a replay's deliveries"})


class DeliveryList(Schema):
    """Deliveries of a subscription, newest first."""

    deliveries = fields.List(fields.Nested(DeliveryOut), required=True)


class ReplayOut(Schema):
    """What a replay enqueued."""

    replay_id = fields.String(required=True)
    enqueued = fields.Integer(required=True)
    next = fields.String(required=True, metadata={"description": "the cursor past the events replayed"})
    caught_up = fields.Boolean(required=True, metadata={
        "description": "false: the replay stopped at 10,000 events; replay again from `next` for the rest"})
