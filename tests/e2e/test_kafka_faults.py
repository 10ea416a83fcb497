"""Faults against the real broker, with real processes: kill -9, a stopped broker, two API processes."""
from __future__ import annotations

import os
import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import func, select

from consumers.provenance import tables as t
from consumers.provenance.tables import metadata as provenance_tables
from events.envelope import prepare
from events.log import LogUnavailable
from events.position import LogPosition
from composition.bootstrap import build_platform
from services.settings import Settings
from tests.conftest import bearer
from tests.integration.test_kafka_projector import DRIVERS, many_chains
from tests.kafka_fixtures import kafka_environment
from tests.kafka_helpers import (
    api_process, fresh_read_model, oretrail_process, stop_process, wait_until, without_server_fields,
)
from tests.readmodel import dump_tables

pytestmark = pytest.mark.integration


class Appender:
    """Appends chains to the log in the background, one transaction each, until told to stop."""

    def __init__(self, platform, chains):
        self.platform = platform
        self.chains = chains
        self.appended = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        for chain in self.chains:
            self.platform.log.append([prepare(envelope) for envelope in chain])
            self.appended += 1

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.thread.join(120)
        assert not self.thread.is_alive() and self.appended == len(self.chains)


def last_owned_partitions(output) -> str | None:
    lines = [line for line in output.read_text().splitlines() if "owns partitions" in line]
    return lines[-1].rsplit("owns partitions", 1)[1].strip() if lines else None


@pytest.mark.parametrize("driver", DRIVERS)  # ORETRAIL_KAFKA_DRIVER: the projectors' consumer too
def test_a_projector_killed_mid_stream_resumes_to_the_same_read_model_as_a_rebuild(kafka_env, tmp_path, driver):
    kafka_env = {**kafka_env, "ORETRAIL_KAFKA_DRIVER": driver}
    platform = build_platform(Settings.from_env(kafka_env))
    runner = platform.runners["provenance"]
    projector = oretrail_process(kafka_env, ["project", "provenance"], tmp_path / "projector-1.log")
    try:
        with Appender(platform, many_chains(120)):
            wait_until(lambda: runner.checkpoint().total > 0, 60, "the projector to apply a first batch")
            os.kill(projector.pid, signal.SIGKILL)
            projector.wait(10)
        assert runner.lag() > 0, "killed after the stream ended: the test proves nothing"
        projector = oretrail_process(kafka_env, ["project", "provenance"], tmp_path / "projector-2.log")
        wait_until(lambda: runner.lag() == 0, 120, "the restarted projector to catch up")
    finally:
        stop_process(projector)
    assert dump_tables(platform.engine, provenance_tables) == fresh_read_model(kafka_env, tmp_path / "reference")
    platform.close()


@pytest.mark.parametrize("driver", DRIVERS)
def test_two_projector_processes_of_one_group_and_one_killed_the_survivor_completes_the_read_model(
        kafka_env, tmp_path, driver):
    kafka_env = {**kafka_env, "ORETRAIL_KAFKA_DRIVER": driver}
    platform = build_platform(Settings.from_env(kafka_env))
    platform.log.append([prepare(envelope) for envelope in many_chains(1, "warm-up")[0]])
    runner = platform.runners["provenance"]
    outputs = [tmp_path / "member-a.log", tmp_path / "member-b.log"]
    members = [oretrail_process(kafka_env, ["project", "provenance"], output) for output in outputs]
    try:
        wait_until(lambda: all(last_owned_partitions(o) not in (None, "[]") for o in outputs), 90,
                   "both members to own partitions")
        with Appender(platform, many_chains(100)):
            wait_until(lambda: runner.checkpoint().total > 10, 60, "the members to apply events")
            os.kill(members[0].pid, signal.SIGKILL)
            members[0].wait(10)
        wait_until(lambda: runner.lag() == 0, 120, "the survivor to take over and catch up")
        assert last_owned_partitions(outputs[1]) == str(list(range(6)))
    finally:
        for member in members:
            stop_process(member)
    assert dump_tables(platform.engine, provenance_tables) == fresh_read_model(kafka_env, tmp_path / "reference")
    platform.close()


@pytest.mark.parametrize("driver", DRIVERS)  # ORETRAIL_KAFKA_DRIVER: each client's failures
def test_while_the_broker_is_down_capture_answers_503_and_retries_give_exactly_the_events_sent(
        own_broker, tmp_path, driver):
    # a transaction the crash leaves hanging (no coordinator will close it) is closed by the API process
    # after 30 s instead of a minute: still past the producers' own transaction timeout (20 s)
    env = {**kafka_environment(own_broker.address, tmp_path / "data"), "ORETRAIL_KAFKA_DRIVER": driver,
           "ORETRAIL_KAFKA_CLOSE_HANGING_AFTER": "30"}
    platform = build_platform(Settings.from_env(env))
    key = platform.keys.create("oretrail-admin", "admin")
    chains = many_chains(60)
    outcomes: dict[int, int] = {}
    history: dict[int, list] = {}
    with api_process(env, tmp_path / "api.log") as base:
        def post(index: int) -> int:
            answer = requests.post(base + "/v1/events", json={"events": chains[index]}, headers=bearer(key), timeout=90)
            assert answer.status_code in (200, 503), answer.text
            if answer.status_code == 503:
                assert int(answer.headers["Retry-After"]) > 0
            outcomes[index] = answer.status_code
            history.setdefault(index, []).append(
                (answer.status_code, [r["status"] for r in answer.json()["results"]] if answer.status_code == 200 else
                 answer.json()["error"]["message"][-120:]))
            return answer.status_code

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(post, index) for index in range(len(chains))]
            wait_until(lambda: sum(code == 200 for code in outcomes.values()) >= 10, 60, "first batches accepted")
            own_broker.crash()
            wait_until(lambda: any(code == 503 for code in outcomes.values()), 120, "a 503 while the broker is down")
            own_broker.restart()
            for future in futures:
                future.result(timeout=300)
        failed = [index for index, code in outcomes.items() if code == 503]
        assert failed and len(outcomes) == len(chains)
        for index in failed:
            wait_until(lambda: post(index) == 200, 120, f"batch {index} to be accepted after the broker is back",
                       interval=1)
        sent = {envelope["event_id"] for chain in chains for envelope in chain}
        runner = platform.runners["provenance"]

        def logged() -> set[str]:
            found, position = set(), LogPosition.start()
            while (page := runner.kafka_log.page(position, 1000)).events:
                found |= {event.event_id for event in page.events}
                position = page.next
            return found

        # (the API process still runs: it is the system under test, and what closes a hanging transaction)
        # a transaction the stopped broker left open holds read_committed readers back until the API
        # re-initialises that producer's slot (right after its first success) or the transaction times out:
        # the producers' transaction timeout (20 s) plus the broker's sweep for timed-out transactions
        # (every 10 s by default), with room for a loaded CI machine; one no coordinator will close (a
        # hanging transaction) until the API process closes it (30 s held back, swept every 10 s)
        try:
            wait_until(lambda: logged() == sent, 90, "every event sent to be readable")
        except AssertionError:
            seen = logged()
            missing = {index: history.get(index) for index, chain in enumerate(chains)
                       if any(envelope["event_id"] not in seen for envelope in chain)}
            said = [line for line in (tmp_path / "api.log").read_text().splitlines() if "hanging" in line]
            raise AssertionError(f"batches missing from the log, with their answers: {missing}; "
                                 f"uncommitted: {_uncommitted_view(own_broker.address, runner.topic)}; "
                                 f"the API said: {said[-10:]}") from None
    platform.catch_up()
    with platform.engine.connect() as connection:
        assert set(connection.execute(select(t.events.c.event_id)).scalars()) == sent
    platform.close()


def _uncommitted_view(address: str, topic: str) -> dict:
    """Diagnosis of a failure: every record with its offset, and each partition's end and stable end."""
    from kafka import KafkaConsumer, TopicPartition

    everything = KafkaConsumer(bootstrap_servers=address, isolation_level="read_uncommitted", group_id=None)
    committed = KafkaConsumer(bootstrap_servers=address, isolation_level="read_committed", group_id=None)
    partitions = [TopicPartition(topic, p) for p in range(6)]
    ends, stable = everything.end_offsets(partitions), committed.end_offsets(partitions)
    everything.assign(partitions)
    everything.seek_to_beginning(*partitions)
    records = {}
    while any(everything.position(tp) < ends[tp] for tp in partitions):
        for tp, batch in everything.poll(timeout_ms=500).items():
            records.update({dict(r.headers)["event_id"].decode(): (tp.partition, r.offset) for r in batch})
    everything.close()
    committed.close()
    return {"end": {tp.partition: o for tp, o in ends.items()}, "stable_end": {tp.partition: o for tp, o in stable.items()},
            "records": records, "transactions": _transactions_view(address, partitions)}


def _transactions_view(address: str, partitions: list) -> dict:
    """Diagnosis of a failure: each partition's open transactions, and what the coordinator says of them."""
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=address)
    try:
        open_ones = {tp.partition: [state for state in described.active_producers
                                    if state.current_transaction_start_offset >= 0]
                     for tp, described in admin.describe_producers(partitions).items()}
        listed = [listing for listings in admin.list_transactions().values() for listing in listings]
        described = admin.describe_transactions([listing.transactional_id for listing in listed])
        return {"open_on_partitions": open_ones, "coordinator": described}
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not hide the failure it explains
        return {"error": repr(exc)}
    finally:
        admin.close()


def test_the_same_batch_posted_twice_at_once_to_two_api_processes_has_one_effect(kafka_env, tmp_path, platform,
                                                                                  admin_key):
    kafka_platform = build_platform(Settings.from_env(kafka_env))
    key = kafka_platform.keys.create("oretrail-admin", "admin")
    chains = many_chains(15)
    with api_process(kafka_env, tmp_path / "api-1.log") as first, api_process(kafka_env, tmp_path / "api-2.log") as second:
        for chain in chains:
            barrier = threading.Barrier(2)

            def post(base, chain=chain, barrier=barrier):
                barrier.wait(10)
                return requests.post(base + "/v1/events", json={"events": chain}, headers=bearer(key), timeout=60)

            with ThreadPoolExecutor(2) as pool:
                answers = list(pool.map(post, [first, second]))
            assert [answer.status_code for answer in answers] == [200, 200]
    kafka_platform.catch_up()
    embedded = platform.create_app().test_client()
    for chain in chains:
        assert embedded.post("/v1/events", json={"events": chain}, headers=bearer(admin_key)).status_code == 200
    platform.catch_up()
    with kafka_platform.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(t.events)).scalar() == 5 * len(chains)
    client = kafka_platform.create_app().test_client()
    for number in range(len(chains)):
        path = f"/v1/products/ring-c{number}/provenance"
        assert without_server_fields(client.get(path, headers=bearer(key)).json) == without_server_fields(
            embedded.get(path, headers=bearer(admin_key)).json)
    kafka_platform.close()


def appended(platform, chain) -> bool:
    """Append ``chain``; False while the log is unavailable (a broker just restarted: capture answers 503)."""
    try:
        platform.log.append([prepare(envelope) for envelope in chain])
    except LogUnavailable:
        return False
    return True


@pytest.mark.parametrize("driver", DRIVERS)
def test_a_running_projector_rides_out_a_broker_crash_and_completes_the_read_model(own_broker, tmp_path, driver):
    env = {**kafka_environment(own_broker.address, tmp_path / "data"), "ORETRAIL_KAFKA_DRIVER": driver}
    platform = build_platform(Settings.from_env(env))
    runner = platform.runners["provenance"]
    chains = many_chains(40)
    stop = threading.Event()
    member = threading.Thread(target=runner.run_forever, args=(stop,), daemon=True)
    member.start()
    try:
        for chain in chains[:20]:
            platform.log.append([prepare(envelope) for envelope in chain])
        wait_until(lambda: runner.lag() == 0, 60, "the projector to apply the first chains")
        own_broker.crash()
        own_broker.restart()
        for chain in chains[20:]:
            wait_until(lambda chain=chain: appended(platform, chain), 120, "the log to take a batch after the restart",
                       interval=1)
        wait_until(lambda: runner.lag() == 0, 120, "the projector to apply the chains sent after the restart")
    finally:
        stop.set()
        member.join(60)
    assert not member.is_alive()
    assert dump_tables(platform.engine, provenance_tables) == fresh_read_model(env, tmp_path / "reference")
    platform.close()
