"""Personal data on the distributed deployment: no plaintext in any Kafka record, erasure through PostgreSQL read models."""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from services.settings import Settings
from tests.conftest import bearer
from tests.e2e.test_personal_data import NAME, PHOTO, story


def raw_records(address: str, topic: str, partitions: int) -> list[tuple[bytes, list]]:
    """Every record of the topic as bytes (value and headers), committed or not."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=address, isolation_level="read_uncommitted", group_id=None)
    assigned = [TopicPartition(topic, p) for p in range(partitions)]
    ends = consumer.end_offsets(assigned)
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    records = []
    while any(consumer.position(tp) < ends[tp] for tp in assigned):
        for batch in consumer.poll(timeout_ms=500).values():
            records += [(record.value or b"", list(record.headers or [])) for record in batch]
    consumer.close()
    return records


@pytest.mark.parametrize("database", ["postgresql"])
def test_no_kafka_record_holds_a_name_and_erasure_holds_after_a_rebuild(kafka_env, kafka_servers, database):
    settings = Settings.from_env(kafka_env)
    platform = build_platform(settings)
    try:
        client = platform.create_app().test_client()
        admin = platform.keys.create("oretrail-admin", "admin")
        coop = platform.keys.create("coop-mambasa", "cooperative")
        events = story()
        response = client.post("/v1/events", json={"events": events}, headers=bearer(admin))
        assert response.status_code == 200, response.get_data(as_text=True)

        records = raw_records(kafka_servers, settings.kafka_topic, settings.kafka_partitions)
        assert len(records) >= len(events)
        for value, headers in records:
            blob = value + b"".join(bytes(v or b"") for _, v in headers)
            assert NAME.encode() not in blob and PHOTO.encode() not in blob
        assert sum(b'"enc":"A256GCM"' in value for value, _ in records) >= 2

        platform.catch_up()
        miner = client.get("/v1/miners/m-1", headers=bearer(coop)).get_json()
        assert miner["name"] == NAME and miner["erased"] is False

        erased = client.post("/v1/persons/m-1/erasure", json={"reason": "asked by the miner"}, headers=bearer(admin))
        assert erased.status_code == 200, erased.get_data(as_text=True)
        platform.catch_up()
        for rebuilt in (False, True):
            if rebuilt:
                platform.runner("provenance").rebuild()
                platform.runner("impact").rebuild()
            miner = client.get("/v1/miners/m-1", headers=bearer(coop)).get_json()
            assert miner["erased"] is True and "name" not in miner and "birth_year" not in miner
            assert [lot["lot_id"] for lot in miner["lots"]] == ["lot-a"]
            assert client.get("/v1/miners/m-2", headers=bearer(coop)).get_json()["name"] == "Baraka Tumaini"
    finally:
        platform.close()
