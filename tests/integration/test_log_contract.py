"""One contract for every event log, run unchanged against each backend (pyeventsourcing's
persistence tests): the SQLite log, the Kafka log on each driver (kafka-python, confluent-kafka), and
the Kafka log behind the capture-side index (``services.event_index.IndexedLog``) that answers
duplicates from a table.

Each backend is a subclass of :class:`LogContract` that says how to open its log (again, on the same
storage: a restart). What a backend may legitimately do differently is one declared capability,
``detects_duplicates``: a log without it (Kafka alone) accepts a retried ``event_id`` again and
leaves it to the projectors to ignore.
"""
from __future__ import annotations

import threading
from typing import Callable

import pytest

from events.attestation import Attestation
from events.envelope import prepare
from events.kafka_confluent_log import ConfluentKafkaEventLog
from events.kafka_log import KafkaEventLog
from events.log import EventLog, IdempotencyConflict, RecordedEvent
from events.position import LogPosition
from events.sqlite_log import SqliteEventLog
from services.database import create_database_engine
from services.event_index import IndexedLog
from tests import factories as f
from tests.kafka_fixtures import kafka_environment

OpenLog = Callable[[], EventLog]


def batch(*envelopes):
    return [prepare(envelope) for envelope in envelopes]


def everything(log: EventLog, after: LogPosition = LogPosition.start(), page_size: int = 3) -> list[RecordedEvent]:
    """Every event after ``after``, page by page (small pages: the paging is under test too)."""
    found: list[RecordedEvent] = []
    while (page := log.page(after, page_size)).events:
        assert page.next.reached(after) and page.next != after
        found += page.events
        after = page.next
    return found


def ids(events) -> list[str]:
    return [event.event_id for event in events]


class LogContract:
    """What every event log promises. Subclasses provide the ``open_log`` fixture."""

    @pytest.fixture
    def open_log(self) -> OpenLog:  # pragma: no cover - every backend overrides it
        raise AssertionError("a backend must provide open_log")

    @pytest.fixture
    def log(self, open_log):
        log = open_log()
        yield log
        log.close()

    def test_a_batch_is_read_back_with_its_server_fields_and_its_positions(self, log):
        chain = [f.production("lot-1", "pit-a", 12.5, 0.9), f.assay("lot-1", 0.9), f.site("site-a")]
        results = log.append(batch(*chain))
        assert [r.status for r in results] == ["accepted"] * 3
        read = {event.event_id: event for event in everything(log)}
        assert set(read) == {envelope["event_id"] for envelope in chain}
        first = read[chain[0]["event_id"]]
        assert first.envelope == chain[0]
        assert first.stream_id == "lot:lot-1"
        assert first.as_dict()["hash"] == prepare(chain[0]).hash
        assert [r.position for r in results] == [read[e["event_id"]].position for e in chain]
        assert len({r.position for r in results}) == 3

    def test_a_stream_keeps_its_order_in_one_partition(self, log):
        chain = [f.production("lot-1", "pit-a", 100.0), f.assay("lot-1", 0.9),
                 f.transfer("lot-1", "m-1", "coop", 99.0), f.assay("lot-1", 0.91)]
        log.append(batch(f.site("elsewhere")))
        log.append(batch(*chain[:2]))
        log.append(batch(*chain[2:]))
        lot = [event for event in everything(log) if event.stream_id == "lot:lot-1"]
        assert ids(lot) == ids(batch(*chain))
        assert len({event.partition for event in lot}) == 1
        assert [event.offset for event in lot] == sorted(event.offset for event in lot)

    def test_a_batch_is_all_or_nothing(self, log):
        log.append(batch(f.site("a")))
        before = log.end()
        original = f.production("lot-1", "pit-a", 10.0)
        forged = {**original, "data": {**original["data"], "mass_g": 20.0}}
        with pytest.raises(IdempotencyConflict) as caught:
            log.append(batch(f.site("innocent"), original, forged))
        assert caught.value.event_ids == [original["event_id"]]
        assert everything(log, before) == []
        assert [event.envelope["data"]["site_id"] for event in everything(log)] == ["a"]

    def test_the_same_event_twice_in_one_batch_is_recorded_once(self, log):
        envelope = f.site("a")
        results = log.append(batch(envelope, envelope))
        assert [r.status for r in results] == ["accepted", "duplicate"]
        assert results[0].position == results[1].position
        assert ids(everything(log)) == [envelope["event_id"]]

    def test_a_retried_event_is_a_duplicate_where_the_log_can_tell(self, log):
        first = f.site("a")
        [accepted] = log.append(batch(first))
        results = log.append(batch(f.site("b"), first))
        logged = ids(everything(log))
        if log.detects_duplicates:
            assert [(r.status, r.position) for r in results][1] == ("duplicate", accepted.position)
            assert sorted(logged) == sorted([first["event_id"], results[0].event_id])
        else:  # Kafka alone: accepted again, and the projectors ignore the second copy
            assert [r.status for r in results] == ["accepted", "accepted"]
            assert logged.count(first["event_id"]) == 2

    def test_an_event_id_reused_for_other_content_in_a_later_batch(self, log):
        original = f.production("lot-1", "pit-a", 10.0)
        log.append(batch(original))
        forged = {**original, "data": {**original["data"], "mass_g": 20.0}}
        if log.detects_duplicates:
            with pytest.raises(IdempotencyConflict) as caught:  # the API answers 409
                log.append(batch(f.site("innocent"), forged))
            assert caught.value.event_ids == [original["event_id"]]
            assert ids(everything(log)) == [original["event_id"]]
        else:
            assert [r.status for r in log.append(batch(forged))] == ["accepted"]

    def test_reading_from_a_position_gives_only_what_came_after(self, log):
        assert log.end() == LogPosition.start()
        first = log.append(batch(f.site("a"), f.site("b")))
        middle = log.end()
        assert middle.reached(LogPosition.start()) and middle != LogPosition.start()
        second = log.append(batch(f.site("c"), f.site("d"), f.site("e")))
        later = everything(log, middle)
        assert sorted(ids(later)) == sorted(r.event_id for r in second)
        assert not set(ids(later)) & {r.event_id for r in first}
        end = log.end()
        assert end.reached(middle) and not middle.reached(end)
        assert end.behind(end) == 0 and middle.behind(end) >= 3
        assert everything(log, end) == []

    def test_a_page_ends_where_the_next_one_starts(self, log):
        log.append(batch(*(f.site(f"s{n}") for n in range(7))))
        position, seen = LogPosition.start(), []
        while not position.reached(log.end()):
            page = log.page(position, 2)
            assert len(page.events) <= 2
            seen += page.events
            position = page.next
        assert len(seen) == 7 and len(set(ids(seen))) == 7
        assert log.page(position, 2).events == []
        assert not log.has_events_past(position)

    def test_waiting_for_an_append_sees_it(self, log):
        end = log.end()
        assert log.wait_for_append(end, 0.05) is False
        log.append(batch(f.site("a")))
        assert log.wait_for_append(end, 5) is True

    def test_positions_survive_a_restart(self, open_log):
        log = open_log()
        results = log.append(batch(f.site("a"), f.site("b")))
        before, end = everything(log), log.end()
        log.close()
        reopened = open_log()
        try:
            assert [(e.event_id, e.position, e.partition, e.offset) for e in everything(reopened)] == \
                [(e.event_id, e.position, e.partition, e.offset) for e in before]
            assert sorted(e.position for e in before) == sorted(r.position for r in results)
            assert reopened.end() == end
            [later] = reopened.append(batch(f.site("c")))
            assert ids(everything(reopened, end)) == [later.event_id]
            assert later.position not in {r.position for r in results}
        finally:
            reopened.close()

    def test_attested_by_is_read_back_and_survives_a_restart(self, open_log):
        coop = Attestation(organisation="coop-mambasa", role="cooperative", key_id="0a1b2c3d")
        admin = Attestation(organisation="oretrail-admin", role="admin", key_id="ffee0011")
        own, on_behalf, unattested = (f.production("lot-1", "pit-a", 10.0), f.assay("lot-1", 0.9), f.site("a"))
        log = open_log()
        log.append([prepare(own, coop), prepare(on_behalf, admin), prepare(unattested)])

        def attributions(reader: EventLog) -> dict[str, dict | None]:
            return {event.event_id: event.as_dict()["attested_by"] for event in everything(reader)}

        expected = {own["event_id"]: {"organisation": "coop-mambasa", "role": "cooperative", "key_id": "0a1b2c3d"},
                    on_behalf["event_id"]: {"organisation": "oretrail-admin", "role": "admin", "key_id": "ffee0011"},
                    unattested["event_id"]: None}
        assert attributions(log) == expected
        read = {event.event_id: event for event in everything(log)}
        assert read[own["event_id"]].attested_by == coop
        assert read[own["event_id"]].hash == prepare(own).hash  # attested_by is not part of the hash
        assert read[own["event_id"]].envelope == own  # nor of the stored envelope
        log.close()
        reopened = open_log()
        try:
            assert attributions(reopened) == expected
        finally:
            reopened.close()

    def test_concurrent_appenders_from_threads(self, log):
        errors: list[BaseException] = []
        answers: list = []
        start = threading.Barrier(4)

        def appender(name: str) -> None:
            start.wait()
            try:
                for n in range(5):
                    answers.extend(log.append(batch(*(f.site(f"{name}-{n}-{k}") for k in range(3)))))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=appender, args=(name,)) for name in "abcd"]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert errors == []
        read = everything(log, page_size=7)
        assert len(read) == len(answers) == 60
        assert sorted(ids(read)) == sorted(answer.event_id for answer in answers)
        assert {answer.event_id: answer.position for answer in answers} == {e.event_id: e.position for e in read}


class TestSqliteLog(LogContract):
    """The embedded log: one SQLite file."""

    @pytest.fixture
    def open_log(self, tmp_path) -> OpenLog:
        return lambda: SqliteEventLog(tmp_path / "events.db")


def _kafka_log(env: dict[str, str], log_class: type[KafkaEventLog] = KafkaEventLog) -> KafkaEventLog:
    return log_class([env["ORETRAIL_EVENT_LOG"].removeprefix("kafka://")], topic=env["ORETRAIL_KAFKA_TOPIC"],
                     partitions=int(env["ORETRAIL_KAFKA_PARTITIONS"]), transactional_prefix=env["ORETRAIL_KAFKA_PREFIX"])


class TestKafkaLog(LogContract):
    """The distributed log: a Kafka topic of its own, six partitions."""

    @pytest.fixture
    def open_log(self, kafka_servers, tmp_path) -> OpenLog:
        env = kafka_environment(kafka_servers, tmp_path)
        return lambda: _kafka_log(env)


class TestConfluentKafkaLog(LogContract):
    """The distributed log on the confluent-kafka driver (``ORETRAIL_KAFKA_DRIVER=confluent``)."""

    @pytest.fixture
    def open_log(self, kafka_servers, tmp_path) -> OpenLog:
        env = kafka_environment(kafka_servers, tmp_path)
        return lambda: _kafka_log(env, ConfluentKafkaEventLog)


class TestIndexedKafkaLog(LogContract):
    """The Kafka log as capture sees it: behind the index of accepted event ids (on SQLite and PostgreSQL)."""

    @pytest.fixture
    def open_log(self, kafka_servers, tmp_path, database_url) -> OpenLog:
        env = kafka_environment(kafka_servers, tmp_path)
        engine = create_database_engine(database_url)

        def open_indexed() -> IndexedLog:
            indexed = IndexedLog(_kafka_log(env), engine)
            indexed.create_tables()
            return indexed

        yield open_indexed
        engine.dispose()


class TestIndexedConfluentKafkaLog(LogContract):
    """The confluent-kafka driver as capture sees it: behind the index of accepted event ids."""

    @pytest.fixture
    def open_log(self, kafka_servers, tmp_path, database_url) -> OpenLog:
        env = kafka_environment(kafka_servers, tmp_path)
        engine = create_database_engine(database_url)

        def open_indexed() -> IndexedLog:
            indexed = IndexedLog(_kafka_log(env, ConfluentKafkaEventLog), engine)
            indexed.create_tables()
            return indexed

        yield open_indexed
        engine.dispose()
