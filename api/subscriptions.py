"""Webhook subscriptions blueprint: an organisation's subscriptions, their deliveries, and replays."""
from __future__ import annotations

from flask import Blueprint, jsonify, request

from api import integration_schemas  # noqa: F401 - registers the answers' schemas for the OpenAPI document
from api.auth import current_principal
from api.feed import parse_limit
from services.errors import InvalidRequest
from services.feed import decode_cursor, encode_cursor
from services.webhooks.store import SubscriptionStore

_DELIVERY_STATUSES = ("pending", "delivered", "failed")


def create_blueprint(store: SubscriptionStore) -> Blueprint:
    """The subscription routes over ``store``."""
    blueprint = Blueprint("subscriptions", __name__)

    @blueprint.post("/v1/subscriptions")
    def create_subscription():
        """Subscribe to webhooks.
        ---
        post:
          summary: Subscribe a URL to the events recorded from now on (Standard Webhooks)
          description: >
            Each event the subscription wants (`types`, default every type) recorded after this call is
            POSTed to `url` as `{"type", "timestamp", "data"}` (`data`: the event as `GET /v1/events`
            shows it to this key), signed as the Standard Webhooks specification says: headers
            `webhook-id` (the same on every attempt of a delivery), `webhook-timestamp` and
            `webhook-signature` (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body` keyed with the
            secret). The secret is in this answer only: keep it. Delivery is at least once: answer 2xx
            within 10 s; anything else is retried with exponential backoff and jitter for 25 hours,
            after which the subscription is disabled (a 410 Gone disables it at once). The subscription
            belongs to the key's organisation; restricted fields are delivered only if this key may
            read them (admin, auditor). URLs resolving to loopback, link-local or private addresses
            are refused.
          tags: [webhooks]
          security: [{bearer: []}]
          requestBody:
            required: true
            content:
              application/json:
                schema: SubscriptionIn
          responses:
            201:
              description: The subscription, with its secret (shown only now)
              content:
                application/json:
                  schema: SubscriptionOut
            401: {$ref: "#/components/responses/Unauthenticated"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        body = request.get_json(force=True, silent=True)
        created = store.create(principal, body)
        response = jsonify(created)
        response.status_code = 201
        response.headers["Location"] = f"/v1/subscriptions/{created['id']}"
        return response

    @blueprint.get("/v1/subscriptions")
    def list_subscriptions():
        """The organisation's subscriptions.
        ---
        get:
          summary: The webhook subscriptions of the key's organisation
          tags: [webhooks]
          security: [{bearer: []}]
          responses:
            200:
              description: Its subscriptions, oldest first (never their secrets)
              content:
                application/json:
                  schema: SubscriptionList
            401: {$ref: "#/components/responses/Unauthenticated"}
        """
        return jsonify({"subscriptions": store.list(current_principal())})

    @blueprint.get("/v1/subscriptions/<subscription_id>")
    def get_subscription(subscription_id: str):
        """One subscription.
        ---
        get:
          summary: One webhook subscription of the key's organisation, with its status
          tags: [webhooks]
          security: [{bearer: []}]
          parameters:
            - {name: subscription_id, in: path, required: true, schema: {type: string}}
          responses:
            200:
              description: The subscription (`status` says whether it was disabled, and why)
              content:
                application/json:
                  schema: SubscriptionOut
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        return jsonify(store.get(current_principal(), subscription_id))

    @blueprint.delete("/v1/subscriptions/<subscription_id>")
    def delete_subscription(subscription_id: str):
        """Delete a subscription.
        ---
        delete:
          summary: Delete a webhook subscription and its pending deliveries
          tags: [webhooks]
          security: [{bearer: []}]
          parameters:
            - {name: subscription_id, in: path, required: true, schema: {type: string}}
          responses:
            204: {description: Deleted; nothing more is sent to it}
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
        """
        store.delete(current_principal(), subscription_id)
        return "", 204

    @blueprint.get("/v1/subscriptions/<subscription_id>/deliveries")
    def list_deliveries(subscription_id: str):
        """A subscription's deliveries.
        ---
        get:
          summary: The latest deliveries of a subscription, newest first
          tags: [webhooks]
          security: [{bearer: []}]
          parameters:
            - {name: subscription_id, in: path, required: true, schema: {type: string}}
            - name: status
              in: query
              schema: {type: string, enum: [pending, delivered, failed]}
            - name: limit
              in: query
              schema: {type: integer, minimum: 1, maximum: 1000, default: 100}
          responses:
            200:
              description: Each delivery's status, attempts and last response code
              content:
                application/json:
                  schema: DeliveryList
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        status = request.args.get("status") or None
        if status is not None and status not in _DELIVERY_STATUSES:
            raise InvalidRequest(f"status must be one of {', '.join(_DELIVERY_STATUSES)}.", {"status": ["Unknown."]})
        found = store.deliveries(current_principal(), subscription_id, parse_limit(request.args.get("limit")), status)
        return jsonify({"deliveries": found})

    @blueprint.post("/v1/subscriptions/<subscription_id>/replay")
    def replay(subscription_id: str):
        """Replay the feed into a subscription.
        ---
        post:
          summary: Send again the events after a feed cursor (at most 10,000 a call)
          description: >
            Every event after `after` (a `next` of `GET /v1/events`; none: from the beginning of the log)
            that the subscription wants is delivered again, as a new delivery with a new `webhook-id`.
            A disabled subscription is enabled again. Answers 202: the deliveries are sent in the
            background; follow them in `.../deliveries`.
          tags: [webhooks]
          security: [{bearer: []}]
          parameters:
            - {name: subscription_id, in: path, required: true, schema: {type: string}}
            - {name: after, in: query, schema: {type: string}, description: a feed cursor}
          responses:
            202:
              description: What was enqueued
              content:
                application/json:
                  schema: ReplayOut
            401: {$ref: "#/components/responses/Unauthenticated"}
            404: {$ref: "#/components/responses/NotFound"}
            422: {$ref: "#/components/responses/Invalid"}
        """
        principal = current_principal()
        after = decode_cursor(store.feed.name, request.args.get("after"))
        done = store.replay(principal, subscription_id, after)
        response = jsonify({"replay_id": done["replay_id"], "enqueued": done["enqueued"],
                            "next": encode_cursor(store.feed.name, done["position"]), "caught_up": done["caught_up"]})
        response.status_code = 202
        return response

    return blueprint
