"""The two Kafka drivers (kafka-python, confluent-kafka) write the same records: either reads what
the other wrote, identically, and a stream lands in the same partition whichever wrote it; and
projector members on either driver can share one consumer group."""
from __future__ import annotations

import pytest

from composition.bootstrap import build_platform
from consumers.provenance.tables import metadata as provenance_tables
from events.attestation import Attestation
from events.envelope import prepare
from events.kafka_confluent_log import ConfluentKafkaEventLog
from events.kafka_log import KafkaEventLog
from events.log import RecordedEvent
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer
from tests.integration.test_kafka_projector import many_chains
from tests.kafka_fixtures import kafka_environment
from tests.kafka_helpers import fresh_read_model, group_members, wait_until, without_server_fields
from tests.readmodel import dump_tables

COOP = Attestation(organisation="coop-mambasa", role="cooperative", key_id="0a1b2c3d")


def open_logs(env: dict[str, str]) -> tuple[KafkaEventLog, ConfluentKafkaEventLog]:
    """A log of each driver on the deployment's topic."""
    def make(log_class):
        return log_class([env["ORETRAIL_EVENT_LOG"].removeprefix("kafka://")], topic=env["ORETRAIL_KAFKA_TOPIC"],
                         partitions=6, transactional_prefix=f"{env['ORETRAIL_KAFKA_PREFIX']}-{log_class.driver}")
    return make(KafkaEventLog), make(ConfluentKafkaEventLog)


def in_order(events: list[RecordedEvent]) -> list[RecordedEvent]:
    return sorted(events, key=lambda event: event.position)


@pytest.fixture
def logs(kafka_servers, tmp_path):
    python_log, confluent_log = open_logs(kafka_environment(kafka_servers, tmp_path))
    yield python_log, confluent_log
    python_log.close()
    confluent_log.close()


def test_each_driver_reads_what_both_wrote_identically(logs):
    python_log, confluent_log = logs
    written_by_python = python_log.append([prepare(f.production("lot-1", "pit-a", 100.0), COOP),
                                           prepare(f.site("site-a"))])
    written_by_confluent = confluent_log.append([prepare(f.assay("lot-1", 0.9), COOP), prepare(f.site("site-b")),
                                                 prepare(f.transfer("lot-1", "m-1", "coop", 99.0))])
    read_by_python = in_order(python_log.read(limit=100))
    read_by_confluent = in_order(confluent_log.read(limit=100))
    assert read_by_python == read_by_confluent  # every field: body, headers, partition, offset, attested_by
    assert [event.position for event in read_by_python] == sorted(
        result.position for result in written_by_python + written_by_confluent)
    lot = [event for event in read_by_python if event.stream_id == "lot:lot-1"]
    assert [event.type for event in lot] == ["production.recorded", "lot.assayed", "lot.transferred"]
    assert len({event.partition for event in lot}) == 1  # a stream stays in one partition across drivers
    assert {event.attested_by for event in lot[:2]} == {COOP}
    assert python_log.end() == confluent_log.end()
    located = [(event.partition, event.offset) for event in read_by_python]
    assert python_log.read_at(located) == confluent_log.read_at(located)


def test_both_drivers_partition_a_stream_alike(kafka_servers, tmp_path):
    python_log, _ = open_logs(kafka_environment(kafka_servers, tmp_path / "python"))
    _, confluent_log = open_logs(kafka_environment(kafka_servers, tmp_path / "confluent"))
    try:
        events = [prepare(f.site(f"site-{n}")) for n in range(40)]
        partitions = {}
        for log in (python_log, confluent_log):
            log.append(events)
            partitions[log.driver] = {event.event_id: event.partition for event in log.read(limit=100)}
        assert len(partitions["kafka-python"]) == 40
        assert partitions["kafka-python"] == partitions["confluent"]
        assert len(set(partitions["confluent"].values())) > 1  # spread by key, not all in one partition
    finally:
        python_log.close()
        confluent_log.close()


def test_capture_on_the_confluent_driver_feeds_the_projectors(kafka_env, platform, admin_key):
    """The whole deployment with ``ORETRAIL_KAFKA_DRIVER=confluent``: capture writes with librdkafka,
    the projectors read it with librdkafka too, and the answer is the embedded one."""
    confluent_platform = build_platform(Settings.from_env({**kafka_env, "ORETRAIL_KAFKA_DRIVER": "confluent"}))
    try:
        assert confluent_platform.log_itself.driver == "confluent"
        chain = f.two_site_ring_chain()
        key = confluent_platform.keys.create("oretrail-admin", "admin")
        client, embedded_client = confluent_platform.create_app().test_client(), platform.create_app().test_client()
        posted = client.post("/v1/events", json={"events": chain}, headers=bearer(key))
        assert posted.status_code == 200
        assert {result["status"] for result in posted.json["results"]} == {"accepted"}
        again = client.post("/v1/events", json={"events": chain}, headers=bearer(key))  # the capture index
        assert [result["status"] for result in again.json["results"]] == ["duplicate"] * len(chain)
        assert [r["position"] for r in again.json["results"]] == [r["position"] for r in posted.json["results"]]
        assert embedded_client.post("/v1/events", json={"events": chain}, headers=bearer(admin_key)).status_code == 200
        confluent_platform.catch_up()
        platform.catch_up()
        on_kafka = client.get("/v1/products/ring-1/provenance", headers=bearer(key))
        embedded = embedded_client.get("/v1/products/ring-1/provenance", headers=bearer(admin_key))
        assert on_kafka.status_code == 200
        assert without_server_fields(on_kafka.json) == without_server_fields(embedded.json)
    finally:
        confluent_platform.close()


def test_projector_members_on_either_driver_share_one_consumer_group(kafka_env, tmp_path):
    """A rolling switch of ``ORETRAIL_KAFKA_DRIVER``: a kafka-python member and a librdkafka member of
    one group (the same eager assignors, the same offsets in the database) share the partitions, and
    the read model is the one built from scratch."""
    platforms = [build_platform(Settings.from_env({**kafka_env, "ORETRAIL_KAFKA_DRIVER": driver}))
                 for driver in ("kafka-python", "confluent")]
    applied = [0, 0]
    for index, platform in enumerate(platforms):
        platform.runners["provenance"].listeners.append(
            lambda _name, count, _seconds, index=index: applied.__setitem__(index, applied[index] + count))
    chains = iter(many_chains(400))
    with group_members(platforms):
        def both_members_applied() -> bool:  # keep appending until each member has applied events
            platforms[0].log.append([prepare(envelope) for envelope in next(chains)])
            return all(count > 0 for count in applied)

        wait_until(both_members_applied, 120, "each member to apply events of its partitions")
        runner = platforms[0].runners["provenance"]
        wait_until(lambda: runner.lag() == 0, 90, "the two members to apply every partition")
    assert dump_tables(platforms[0].engine, provenance_tables) == fresh_read_model(kafka_env, tmp_path / "reference")
    for platform in platforms:
        platform.close()
