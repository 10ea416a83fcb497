"""``ORETRAIL_KAFKA_DRIVER`` picks the Kafka log's client library; kafka-python stays the default."""
from __future__ import annotations

import pytest

from composition.bootstrap import open_log
from events.kafka_confluent_log import ConfluentKafkaEventLog
from events.kafka_log import KafkaEventLog
from services.settings import Settings, SettingsError

KAFKA = {"ORETRAIL_EVENT_LOG": "kafka://127.0.0.1:9", "ORETRAIL_KAFKA_TOPIC": "t"}


def test_kafka_python_is_the_default_driver(tmp_path):
    settings = Settings.from_env({**KAFKA, "ORETRAIL_DATA_DIR": str(tmp_path)})
    log = open_log(settings)
    assert settings.kafka_driver == "kafka-python"
    assert type(log) is KafkaEventLog and log.driver == "kafka-python"


def test_confluent_driver_is_chosen_by_the_setting(tmp_path):
    log = open_log(Settings.from_env({**KAFKA, "ORETRAIL_DATA_DIR": str(tmp_path), "ORETRAIL_KAFKA_DRIVER": "confluent"}))
    assert isinstance(log, ConfluentKafkaEventLog) and log.driver == "confluent"
    assert log.topic == "t" and log.servers == ["127.0.0.1:9"]


def test_an_unknown_driver_is_refused(tmp_path):
    with pytest.raises(SettingsError, match="ORETRAIL_KAFKA_DRIVER"):
        Settings.from_env({**KAFKA, "ORETRAIL_DATA_DIR": str(tmp_path), "ORETRAIL_KAFKA_DRIVER": "librdkafka"})


def test_both_drivers_build_the_same_producer_identity():
    python_log, confluent_log = KafkaEventLog(["h:1"], topic="t"), ConfluentKafkaEventLog(["h:1"], topic="t")
    assert python_log.transactional_id(3) == confluent_log.transactional_id(3)
    settings = confluent_log.producer_settings(confluent_log.transactional_id(3))
    assert settings["enable.idempotence"] is True and settings["acks"] == "all"
    assert settings["partitioner"] == "murmur2_random"  # Java's and kafka-python's partition of a keyed record
    assert settings["message.timeout.ms"] <= settings["transaction.timeout.ms"]  # librdkafka refuses otherwise
