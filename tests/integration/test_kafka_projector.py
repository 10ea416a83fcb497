"""Projectors on Kafka: offsets in the read-model database, duplicates ignored, groups, lag, rebuild;
each with either client library of the consumers (``ORETRAIL_KAFKA_DRIVER``)."""
from __future__ import annotations

import pytest

from consumers.provenance.tables import metadata as provenance_tables
from events.envelope import prepare
from composition.bootstrap import build_platform
from services.settings import Settings
from tests import factories as f
from tests.conftest import bearer
from tests.kafka_helpers import fresh_read_model, group_members, wait_until, without_server_fields
from tests.readmodel import dump_tables

#: the Kafka client libraries (``ORETRAIL_KAFKA_DRIVER``): the projectors' rules must hold on each
DRIVERS = ("kafka-python", "confluent")


@pytest.fixture(params=DRIVERS)
def kafka_env(kafka_env, request):
    """The deployment's environment with the projectors (and the log) on each driver in turn."""
    return {**kafka_env, "ORETRAIL_KAFKA_DRIVER": request.param}


@pytest.fixture
def kafka_platform(kafka_settings):
    platform = build_platform(kafka_settings)
    yield platform
    platform.close()


def many_chains(count: int, prefix: str = "c") -> list[list[dict]]:
    """``count`` small, independent supply chains (each one product from its own pit), each step by its holder."""
    chains = []
    for number in range(count):
        name = f"{prefix}{number}"
        chains.append([
            f.site(f"site-{name}"), f.pit(f"pit-{name}", f"site-{name}"),
            f.production(f"lot-{name}", f"pit-{name}", 50.0, 0.9),
            f.hand_over(f"lot-{name}", "coop-mambasa", "atelier", 50.0),  # the maker holds what it uses
            f.manufacture(f"ring-{name}", {f"lot-{name}": 5.0}, mass_g=6.0),
        ])
    return chains


def test_the_provenance_of_a_ring_is_the_same_on_kafka_as_embedded(kafka_platform, platform, admin_key):
    chain = f.two_site_ring_chain()
    kafka_key = kafka_platform.keys.create("oretrail-admin", "admin")
    kafka_client, embedded_client = kafka_platform.create_app().test_client(), platform.create_app().test_client()
    assert kafka_client.post("/v1/events", json={"events": chain}, headers=bearer(kafka_key)).status_code == 200
    assert embedded_client.post("/v1/events", json={"events": chain}, headers=bearer(admin_key)).status_code == 200
    kafka_platform.catch_up()
    platform.catch_up()
    on_kafka = kafka_client.get("/v1/products/ring-1/provenance", headers=bearer(kafka_key))
    embedded = embedded_client.get("/v1/products/ring-1/provenance", headers=bearer(admin_key))
    assert on_kafka.status_code == 200
    assert without_server_fields(on_kafka.json) == without_server_fields(embedded.json)


def test_a_duplicate_that_reached_the_log_changes_nothing(kafka_platform):
    chain = [prepare(envelope) for envelope in f.two_site_ring_chain()]
    kafka_log = kafka_platform.runners["provenance"].kafka_log
    kafka_log.append(chain)
    kafka_platform.catch_up()
    once = dump_tables(kafka_platform.engine, provenance_tables)
    kafka_log.append(chain)  # past the capture-side index, as a concurrent retry can
    kafka_platform.catch_up()
    assert len(kafka_log.read(limit=100)) == 2 * len(chain)
    assert dump_tables(kafka_platform.engine, provenance_tables) == once


def test_batches_read_from_the_stored_offsets_build_the_same_model_as_the_consumer(kafka_platform, kafka_env, tmp_path):
    runner = kafka_platform.runners["provenance"]
    events = [envelope for chain in many_chains(6) for envelope in chain]
    kafka_platform.log.append([prepare(envelope) for envelope in events])
    applied = 0
    while (count := runner.run_batch()) > 0:  # pages of the log, as on SQLite: no consumer group
        applied += count
    assert applied == len(events)
    assert runner.lag() == 0 and runner.checkpoint() == kafka_platform.log.end()
    assert dump_tables(kafka_platform.engine, provenance_tables) == fresh_read_model(kafka_env, tmp_path / "reference")


def test_readyz_reports_the_lag_of_each_partition(kafka_platform):
    client = kafka_platform.create_app().test_client()
    events = [envelope for chain in many_chains(4) for envelope in chain]
    kafka_platform.log.append([prepare(envelope) for envelope in events])
    before = client.get("/readyz").json["projectors"]["provenance"]
    assert before["lag"] >= len(events)
    assert sum(before["partitions_lag"].values()) == before["lag"]
    kafka_platform.catch_up()
    after = client.get("/readyz").json["projectors"]["provenance"]
    assert after["lag"] == 0 and set(after["partitions_lag"].values()) == {0}


def test_two_members_of_one_group_share_the_partitions_and_build_the_whole_read_model(kafka_env, tmp_path):
    platforms = [build_platform(Settings.from_env(kafka_env)) for _ in range(2)]
    with group_members(platforms):
        chains = many_chains(30)
        for chain in chains:
            platforms[0].log.append([prepare(envelope) for envelope in chain])
        runner = platforms[0].runners["provenance"]
        wait_until(lambda: runner.lag() == 0, 90, "both members to apply every partition")
    assert dump_tables(platforms[0].engine, provenance_tables) == fresh_read_model(kafka_env, tmp_path / "reference")
    for platform in platforms:
        platform.close()


def test_a_rebuild_switches_to_fresh_tables_while_the_api_reads_the_old_ones(kafka_env, tmp_path):
    platform = build_platform(Settings.from_env(kafka_env))
    client = platform.create_app().test_client()
    key = platform.keys.create("oretrail-admin", "admin")
    runner = platform.runners["provenance"]
    with group_members([platform]):
        chains = many_chains(20)
        for chain in chains[:10]:
            assert client.post("/v1/events", json={"events": chain}, headers=bearer(key)).status_code == 200
        wait_until(lambda: runner.lag() == 0, 60, "the projector to catch up")
        before = client.get("/v1/products/ring-c3/provenance", headers=bearer(key)).json
        during = []

        def progress(done, total):
            during.append(client.get("/v1/products/ring-c3/provenance", headers=bearer(key)).json)
            for chain in chains[10:] if len(during) == 1 else []:  # events arrive while it rebuilds
                client.post("/v1/events", json={"events": chain}, headers=bearer(key))

        assert runner.rebuild(progress) >= 50
        assert during and all(answer == before for answer in during)
        wait_until(lambda: runner.lag() == 0, 60, "the running projector to follow the switch")
    assert client.get("/v1/products/ring-c19/provenance", headers=bearer(key)).status_code == 200
    assert dump_tables(platform.engine, provenance_tables) == fresh_read_model(kafka_env, tmp_path / "reference")
    platform.close()
