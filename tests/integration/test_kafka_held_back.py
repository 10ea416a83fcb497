"""A transaction nobody closes holds back every reader of its partition, and with them every event
accepted after it: ``/readyz`` and the metrics say which partition, from how long, on a real broker."""
from __future__ import annotations

import uuid

from kafka import KafkaProducer
from prometheus_client import generate_latest

from composition.bootstrap import build_platform
from events.envelope import prepare
from services.settings import Settings
from tests import factories as f
from tests.kafka_fixtures import kafka_environment
from tests.waiting import wait_until


def test_a_partition_an_open_transaction_holds_back_is_reported_until_it_is_aborted(kafka_servers, tmp_path):
    platform = build_platform(Settings.from_env(kafka_environment(kafka_servers, tmp_path)))
    platform.health.held_back.after_s = 0.5  # a minute in production
    producer = None
    try:
        platform.log.append([prepare(f.site("a"))])
        assert platform.readiness()["log"]["held_back"] == []
        # another program's producer opens a transaction on partition 1 and neither commits nor aborts
        producer = KafkaProducer(bootstrap_servers=kafka_servers, transactional_id=f"test-open-{uuid.uuid4().hex}",
                                 transaction_timeout_ms=120_000)
        producer.init_transactions()
        producer.begin_transaction()
        producer.send(platform.settings.kafka_topic, b"not an event", partition=1).get(timeout=10)
        first = platform.readiness()["log"]["held_back"]
        assert first == []  # seen now: not held back for long yet
        held = wait_until(lambda: platform.readiness()["log"]["held_back"], 20, "partition 1 to be reported held back")
        assert [entry["partition"] for entry in held] == [1]
        assert held[0]["high_watermark"] > held[0]["last_stable_offset"] and held[0]["held_for_s"] >= 0.5
        assert "oretrail_log_partitions_held_back 1.0" in generate_latest(platform.metrics.scrape_registry).decode()
        producer.abort_transaction()
        wait_until(lambda: platform.readiness()["log"]["held_back"] == [], 20, "partition 1 to be free again")
        assert "oretrail_log_partitions_held_back 0.0" in generate_latest(platform.metrics.scrape_registry).decode()
    finally:
        if producer is not None:
            producer.close(timeout=5)
        platform.close()


def test_the_embedded_log_has_no_partitions_to_report(tmp_path):
    platform = build_platform(Settings.from_env({"ORETRAIL_DATA_DIR": str(tmp_path / "data")}))
    try:
        assert "held_back" not in platform.readiness()["log"]
        assert "oretrail_log_partitions_held_back" not in generate_latest(platform.metrics.scrape_registry).decode()
    finally:
        platform.close()
