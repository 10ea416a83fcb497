"""The event feed and webhooks on Kafka, with read models on SQLite and on PostgreSQL: cursors of
per-partition offsets, every event once, and signed deliveries to a real receiver."""
from __future__ import annotations

from collections import defaultdict

import pytest

from composition.bootstrap import build_platform
from consumers.webhooks.projector import WebhooksProjector
from events.kafka_records import split_position
from services.settings import Settings
from tests.conftest import bearer
from tests.integration.test_kafka_projector import many_chains
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver, start_receiver


@pytest.fixture
def hook_env(kafka_env):
    return {**kafka_env, "ORETRAIL_WEBHOOKS_ALLOW_PRIVATE": "true", "ORETRAIL_WEBHOOKS_BACKOFF": "0.05"}


@pytest.fixture
def kafka_hooks(hook_env):
    platform = build_platform(Settings.from_env(hook_env), projectors=[WebhooksProjector()])
    yield platform
    platform.close()


def record_chains(client, key, count, prefix):
    chains = many_chains(count, prefix)
    for chain in chains:
        answer = client.post("/v1/events", json={"events": chain}, headers=bearer(key))
        assert answer.status_code == 200, answer.get_json()
    return [event for chain in chains for event in chain]


def test_the_feed_on_kafka_visits_every_event_once_in_partition_order_across_a_restart(hook_env, kafka_hooks):
    client = kafka_hooks.create_app().test_client()
    admin = kafka_hooks.keys.create("oretrail-admin", "admin")
    recorded = record_chains(client, admin, 8, "feed")
    seen, after, pages = [], None, 0
    while True:
        query = {"limit": 7, **({"after": after} if after else {})}
        page = client.get("/v1/events", query_string=query, headers=bearer(admin)).get_json()
        seen += page["events"]
        after, pages = page["next"], pages + 1
        if pages == 3:  # the deployment restarts: the cursor is all a reader keeps
            kafka_hooks.close()
            restarted = build_platform(Settings.from_env(hook_env), projectors=[WebhooksProjector()])
            client = restarted.create_app().test_client()
        if page["caught_up"]:
            break
    restarted.close()
    assert sorted(e["event_id"] for e in seen) == sorted(e["event_id"] for e in recorded)
    assert len(seen) == len(recorded)
    by_partition = defaultdict(list)
    for event in seen:
        partition, offset = split_position(event["position"])
        by_partition[partition].append(offset)
    assert len(by_partition) > 1
    assert all(offsets == sorted(offsets) for offsets in by_partition.values())
    # each chain's own events (its lot's stream, its product's stream) keep their recorded order
    order = {e["event_id"]: index for index, e in enumerate(seen)}
    for chain in [recorded[i:i + 5] for i in range(0, len(recorded), 5)]:
        lot_events = [e for e in chain if e["data"].get("lot_id") == chain[2]["data"]["lot_id"]]
        assert [order[e["event_id"]] for e in lot_events] == sorted(order[e["event_id"]] for e in lot_events)


def test_webhooks_on_kafka_deliver_every_event_signed(kafka_hooks):
    receiver = Receiver()
    server = start_receiver(receiver)
    try:
        client = kafka_hooks.create_app().test_client()
        admin = kafka_hooks.keys.create("oretrail-admin", "admin")
        created = client.post("/v1/subscriptions", json={"url": receiver.url, "types": ["production.recorded",
                                                                                          "product.manufactured"]},
                              headers=bearer(admin))
        assert created.status_code == 201
        receiver.secret = created.get_json()["secret"]
        recorded = record_chains(client, admin, 6, "hook")
        kafka_hooks.start_projectors()  # the webhooks projector joins its consumer group; the sender thread starts
        wanted = {e["event_id"] for e in recorded if e["type"] in ("production.recorded", "product.manufactured")}
        wait_until(lambda: set(receiver.delivered_event_ids()) == wanted, 60, "every wanted event delivered")
        assert all(item.verified for item in receiver.received)
        assert max(receiver.delivered_event_ids().values()) == 1
        subscription_id = created.get_json()["id"]
        wait_until(lambda: all(d["status"] == "delivered" for d in client.get(
            f"/v1/subscriptions/{subscription_id}/deliveries", headers=bearer(admin)).get_json()["deliveries"]),
            20, "the deliveries recorded")
    finally:
        server.shutdown()
