"""Webhooks, embedded: a refiner subscribes, and a real receiver gets every event signed as the
Standard Webhooks specification says (verified with the ``standardwebhooks`` library), retried
until it answers, and never lost, even when the sender is killed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from composition.bootstrap import build_platform
from consumers.webhooks.projector import WebhooksProjector
from services.settings import Settings
from services.webhooks.ssrf import UnsafeUrl, check_url
from tests import factories as f
from tests.conftest import bearer
from tests.kafka_helpers import ROOT, stop_process
from tests.waiting import wait_until
from tests.webhook_receiver import Receiver, start_receiver


def hook_env(tmp_path, database_url, **extra) -> dict[str, str]:
    return {"ORETRAIL_DATA_DIR": str(tmp_path / "data"), "ORETRAIL_DATABASE_URL": database_url,
            "ORETRAIL_WEBHOOKS_ALLOW_PRIVATE": "true", "ORETRAIL_WEBHOOKS_BACKOFF": "0.05",
            "ORETRAIL_WEBHOOKS_TIMEOUT": "2", **extra}


@pytest.fixture
def receiver():
    found = Receiver()
    server = start_receiver(found)
    yield found
    found.release.set()
    server.shutdown()


def make_platform(tmp_path, database_url, **extra):
    return build_platform(Settings.from_env(hook_env(tmp_path, database_url, **extra)),
                          projectors=[WebhooksProjector()])


@pytest.fixture
def hooks(tmp_path, database_url):
    platform = make_platform(tmp_path, database_url)
    yield platform
    platform.close()


def subscribe(client, key, receiver, **body):
    answer = client.post("/v1/subscriptions", json={"url": receiver.url, **body}, headers=bearer(key))
    assert answer.status_code == 201, answer.get_json()
    receiver.secret = answer.get_json()["secret"]
    return answer


def record(client, key, events):
    answer = client.post("/v1/events", json={"events": events}, headers=bearer(key))
    assert answer.status_code == 200, answer.get_json()


def deliveries(client, key, subscription_id):
    answer = client.get(f"/v1/subscriptions/{subscription_id}/deliveries", headers=bearer(key))
    assert answer.status_code == 200
    return answer.get_json()["deliveries"]


def test_a_subscriber_receives_every_event_recorded_after_it_signed_as_the_standard_says(hooks, receiver):
    client = hooks.create_app().test_client()
    admin = hooks.keys.create("oretrail-admin", "admin")
    refiner = hooks.keys.create("refiner-x", "refiner")
    before = f.site("site-before")
    record(client, admin, [before])
    answer = subscribe(client, refiner, receiver, description="our ERP")
    created = answer.get_json()
    assert created["secret"].startswith("whsec_") and created["status"] == "active"
    assert answer.headers["Location"] == f"/v1/subscriptions/{created['id']}"
    chain = f.two_site_ring_chain()
    record(client, admin, chain)
    hooks.start_projectors()

    wait_until(lambda: len(receiver.verified_payloads()) == len(chain), 30, "every event delivered")
    payloads = receiver.verified_payloads()
    assert sorted(p["data"]["event_id"] for p in payloads) == sorted(e["event_id"] for e in chain)
    assert before["event_id"] not in receiver.delivered_event_ids()  # recorded before the subscription
    feed = {e["event_id"]: e for e in client.get("/v1/events", query_string={"limit": 100},
                                                 headers=bearer(refiner)).get_json()["events"]}
    for payload in payloads:
        assert payload["data"] == feed[payload["data"]["event_id"]]
        assert payload["type"] == payload["data"]["type"] and payload["timestamp"] == payload["data"]["recorded_at"]
    shown = wait_until(lambda: [d for d in deliveries(client, refiner, created["id"]) if d["status"] == "delivered"]
                       if all(d["status"] == "delivered" for d in deliveries(client, refiner, created["id"])) else None,
                       10, "the deliveries recorded as delivered")
    assert len(shown) == len(chain)
    assert {d["id"] for d in shown} == set(receiver.ids())
    assert all(d["attempts"] == 1 and d["last_response_code"] == 200 for d in shown)
    listed = client.get("/v1/subscriptions", headers=bearer(refiner)).get_json()["subscriptions"]
    assert [s["id"] for s in listed] == [created["id"]] and "secret" not in listed[0]


def test_deliveries_carry_only_the_types_asked_and_restricted_fields_for_those_who_may_read_them(hooks, receiver):
    client = hooks.create_app().test_client()
    admin = hooks.keys.create("oretrail-admin", "admin")
    buyer, auditor = hooks.keys.create("atelier", "manufacturer"), hooks.keys.create("audit-co", "auditor")
    seen_by_buyer, seen_by_auditor = Receiver(), Receiver()
    servers = [start_receiver(seen_by_buyer), start_receiver(seen_by_auditor)]
    try:
        subscribe(client, buyer, seen_by_buyer, types=["miner.registered"])
        subscribe(client, auditor, seen_by_auditor, types=["miner.registered"])
        record(client, admin, f.two_site_ring_chain())
        hooks.catch_up()
        wait_until(lambda: hooks.start_sender().send_due() == 0 and seen_by_buyer.verified_payloads()
                   and seen_by_auditor.verified_payloads(), 20, "both deliveries")
        [to_buyer], [to_auditor] = seen_by_buyer.verified_payloads(), seen_by_auditor.verified_payloads()
        assert to_buyer["type"] == to_auditor["type"] == "miner.registered"
        assert "name" not in to_buyer["data"]["data"] and "photo_id_sha256" not in to_buyer["data"]["data"]
        # the event as stored: the name sealed (in the clear only from /v1/miners), never plaintext on the wire
        assert to_auditor["data"]["data"]["name"]["enc"] == "A256GCM" and "Esther" not in str(to_auditor)
    finally:
        for server in servers:
            server.shutdown()


def test_a_failing_receiver_gets_the_same_webhook_id_until_it_answers(hooks, receiver):
    receiver.answer = lambda n: 500 if n == 1 else 503 if n == 2 else 200
    client = hooks.create_app().test_client()
    admin = hooks.keys.create("oretrail-admin", "admin")
    created = subscribe(client, admin, receiver).get_json()
    record(client, admin, [f.site("site-z")])
    hooks.catch_up()
    sender = hooks.start_sender()
    wait_until(lambda: sender.wake() or len(receiver.received) >= 3, 20, "three attempts")
    assert len(set(receiver.ids())) == 1
    [delivery] = wait_until(lambda: [d for d in deliveries(client, admin, created["id"]) if d["status"] == "delivered"],
                            10, "the delivery recorded")
    assert delivery["attempts"] == 3 and delivery["last_response_code"] == 200 and delivery["id"] == receiver.ids()[0]


def test_persistent_failure_disables_the_subscription_and_a_replay_enables_it_again(tmp_path, database_url, receiver):
    platform = make_platform(tmp_path, database_url, ORETRAIL_WEBHOOKS_RETRY_FOR="0.3")
    try:
        receiver.answer = lambda _n: 500
        client = platform.create_app().test_client()
        admin = platform.keys.create("oretrail-admin", "admin")
        created = subscribe(client, admin, receiver).get_json()
        chain = [f.site("site-y"), f.pit("pit-y", "site-y")]
        record(client, admin, chain)
        platform.catch_up()
        sender = platform.start_sender()

        def disabled():
            sender.wake()
            return client.get(f"/v1/subscriptions/{created['id']}", headers=bearer(admin)).get_json()["status"] == "disabled"
        wait_until(disabled, 20, "the subscription disabled")
        shown = client.get(f"/v1/subscriptions/{created['id']}", headers=bearer(admin)).get_json()
        assert "failed" in shown["disabled_reason"] and "500" in shown["disabled_reason"]
        assert any(d["status"] == "failed" and d["last_response_code"] == 500 and d["attempts"] >= 1
                   for d in deliveries(client, admin, created["id"]))

        receiver.answer = lambda _n: 200
        replay = client.post(f"/v1/subscriptions/{created['id']}/replay", headers=bearer(admin))
        assert replay.status_code == 202 and replay.get_json()["enqueued"] == 2 and replay.get_json()["caught_up"]
        assert client.get(f"/v1/subscriptions/{created['id']}", headers=bearer(admin)).get_json()["status"] == "active"
        wait_until(lambda: sender.wake() or set(receiver.delivered_event_ids()) == {e["event_id"] for e in chain},
                   20, "the replay delivered")
        replayed = [d for d in deliveries(client, admin, created["id"]) if d["replay_id"]]
        assert {d["replay_id"] for d in replayed} == {replay.get_json()["replay_id"]}
    finally:
        platform.close()


def test_a_replay_from_a_feed_cursor_sends_only_what_came_after_it(hooks, receiver):
    client = hooks.create_app().test_client()
    admin = hooks.keys.create("oretrail-admin", "admin")
    chain = f.two_site_ring_chain()
    record(client, admin, chain)
    cursor = client.get("/v1/events", query_string={"limit": 10}, headers=bearer(admin)).get_json()["next"]
    created = subscribe(client, admin, receiver).get_json()
    replay = client.post(f"/v1/subscriptions/{created['id']}/replay", query_string={"after": cursor},
                         headers=bearer(admin)).get_json()
    assert replay["enqueued"] == len(chain) - 10
    sender = hooks.start_sender()
    wait_until(lambda: sender.wake() or len(receiver.verified_payloads()) == 2, 20, "the replay delivered")
    assert set(receiver.delivered_event_ids()) == {e["event_id"] for e in chain[10:]}
    bad = client.post(f"/v1/subscriptions/{created['id']}/replay", query_string={"after": "nonsense"},
                      headers=bearer(admin))
    assert bad.status_code == 422


def test_a_410_gone_disables_the_subscription_at_once(hooks, receiver):
    receiver.answer = lambda _n: 410
    client = hooks.create_app().test_client()
    admin = hooks.keys.create("oretrail-admin", "admin")
    created = subscribe(client, admin, receiver).get_json()
    record(client, admin, [f.site("site-g")])
    hooks.catch_up()
    hooks.start_sender()
    wait_until(lambda: client.get(f"/v1/subscriptions/{created['id']}", headers=bearer(admin)).get_json()["status"]
               == "disabled", 20, "the subscription disabled")
    assert len(receiver.received) == 1


def test_subscriptions_belong_to_their_organisation(hooks, receiver):
    client = hooks.create_app().test_client()
    refiner, stranger = hooks.keys.create("refiner-x", "refiner"), hooks.keys.create("atelier", "manufacturer")
    created = subscribe(client, refiner, receiver).get_json()
    path = f"/v1/subscriptions/{created['id']}"
    assert client.get(path, headers=bearer(stranger)).status_code == 404
    assert client.get(path + "/deliveries", headers=bearer(stranger)).status_code == 404
    assert client.post(path + "/replay", headers=bearer(stranger)).status_code == 404
    assert client.delete(path, headers=bearer(stranger)).status_code == 404
    assert client.get("/v1/subscriptions", headers=bearer(stranger)).get_json() == {"subscriptions": []}
    assert client.delete(path, headers=bearer(refiner)).status_code == 204
    assert client.get(path, headers=bearer(refiner)).status_code == 404


@pytest.mark.parametrize("body", [
    {"url": "http://127.0.0.1:9/hook"}, {"url": "http://localhost/hook"}, {"url": "http://[::1]/hook"},
    {"url": "http://169.254.169.254/latest/meta-data"}, {"url": "http://10.0.0.7/hook"},
    {"url": "http://192.168.1.20/hook"}, {"url": "http://0.0.0.0/hook"}, {"url": "ftp://example.org/hook"},
    {"url": "https://user:pw@example.org/hook"}, {"url": "http://198.51.100.4/hook", "types": ["lot.stolen"]},
    {"url": "http://198.51.100.4/hook", "colour": "red"}, {},
    # PostgreSQL cannot store a NUL: refused, not a 500
    {"url": "http://93.184.215.14/hook", "description": "a\u0000b"}, {"url": "http://93.184.215.14/h\u0000ook"},
])
def test_private_addresses_and_malformed_subscriptions_are_refused(client, admin_key, body):
    answer = client.post("/v1/subscriptions", json=body, headers=bearer(admin_key))
    assert answer.status_code == 422, answer.get_json()


def test_only_global_addresses_pass_the_check():
    for url in ("http://127.0.0.2/", "http://172.16.0.1/", "http://[fe80::1]/", "http://[::ffff:10.0.0.1]/",
                "http://100.64.0.1/"):
        with pytest.raises(UnsafeUrl):
            check_url(url)
    check_url("http://93.184.215.14/hook")  # a literal public address: no lookup needed
    check_url("http://127.0.0.1/hook", allow_private=True)


def test_killing_the_sender_loses_no_delivery(tmp_path, database_url, receiver):
    """kill -9 of ``oretrail deliver`` while receivers hold its requests: another sender delivers them all."""
    env = hook_env(tmp_path, database_url, ORETRAIL_WEBHOOKS_TIMEOUT="1", ORETRAIL_WEBHOOKS_WORKERS="2",
                   ORETRAIL_WEBHOOKS_SENDER="false", ORETRAIL_LOG_LEVEL="WARNING")
    platform = build_platform(Settings.from_env(env), projectors=[WebhooksProjector()])
    try:
        client = platform.create_app().test_client()
        admin = platform.keys.create("oretrail-admin", "admin")
        created = subscribe(client, admin, receiver).get_json()
        chain = f.two_site_ring_chain()
        record(client, admin, chain)
        platform.catch_up()
        receiver.holding = True
        first = _deliver(env, tmp_path / "deliver-1.log")
        try:
            wait_until(lambda: len(receiver.received) >= 2, 30, "the sender's first requests (held)")
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        finally:
            stop_process(first)
        held = set(receiver.ids())
        receiver.holding = False
        receiver.release.set()
        second = _deliver(env, tmp_path / "deliver-2.log")
        try:
            wait_until(lambda: set(receiver.delivered_event_ids()) == {e["event_id"] for e in chain}, 60,
                       "every event delivered after the kill")
            wait_until(lambda: all(d["status"] == "delivered" for d in deliveries(client, admin, created["id"])), 20,
                       "every delivery recorded")
        finally:
            stop_process(second)
        resent = [webhook_id for webhook_id in receiver.ids() if webhook_id in held]
        assert len(resent) >= 2 * len(held)  # each held delivery came again, with the same webhook-id
    finally:
        platform.close()


def _deliver(env: dict[str, str], output) -> subprocess.Popen:
    with open(output, "ab") as sink:
        return subprocess.Popen([sys.executable, "-m", "composition.cli", "deliver"], env={**os.environ, **env},
                                cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def test_a_rebuild_of_the_webhooks_projector_enqueues_what_it_had_not_reached_and_nothing_twice(hooks, receiver):
    client = hooks.create_app().test_client()
    admin = hooks.keys.create("oretrail-admin", "admin")
    created = subscribe(client, admin, receiver).get_json()
    first, then = [f.site("site-r1"), f.pit("pit-r1", "site-r1")], [f.site("site-r2"), f.pit("pit-r2", "site-r2")]
    record(client, admin, first)
    hooks.catch_up()
    record(client, admin, then)  # not reached by the projector when the rebuild starts
    assert hooks.runner("webhooks").rebuild() == 4
    queued = client.get(f"/v1/subscriptions/{created['id']}/deliveries", headers=bearer(admin)).get_json()["deliveries"]
    assert sorted(d["event_id"] for d in queued) == sorted(e["event_id"] for e in first + then)
    hooks.catch_up()
    assert len(deliveries(client, admin, created["id"])) == 4
