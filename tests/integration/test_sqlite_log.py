"""The embedded log: append-only, atomic batches, idempotent event ids, positions never reused."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from events.envelope import prepare
from events.log import IdempotencyConflict
from events.sqlite_log import SqliteEventLog
from tests import factories as f


@pytest.fixture
def log(tmp_path):
    log = SqliteEventLog(tmp_path / "events.db")
    yield log
    log.close()


def batch(*envelopes):
    return [prepare(envelope) for envelope in envelopes]


def test_positions_strictly_increase_from_one(log):
    results = log.append(batch(f.site("a"), f.site("b"), f.site("c")))
    assert [r.position for r in results] == [1, 2, 3]
    assert [r.status for r in results] == ["accepted"] * 3
    assert log.end_position() == 3
    assert [e.position for e in log.read(1, 10)] == [2, 3]


def test_a_retried_event_is_a_duplicate_and_changes_nothing(log):
    first = f.site("a")
    log.append(batch(first))
    results = log.append(batch(f.site("b"), first))
    assert [(r.status, r.position) for r in results] == [("accepted", 2), ("duplicate", 1)]
    assert log.end_position() == 2
    assert [e.event_id for e in log.read(0, 10)] == [first["event_id"], results[0].event_id]


def test_the_same_event_twice_in_one_batch_is_recorded_once(log):
    envelope = f.site("a")
    results = log.append(batch(envelope, envelope))
    assert [(r.status, r.position) for r in results] == [("accepted", 1), ("duplicate", 1)]


def test_an_event_id_reused_for_other_content_fails_the_whole_batch(log):
    original = f.production("lot-1", "pit-a", 10.0)
    log.append(batch(original))
    forged = {**original, "data": {**original["data"], "mass_g": 20.0}}
    with pytest.raises(IdempotencyConflict) as caught:
        log.append(batch(f.site("innocent"), forged))
    assert caught.value.event_ids == [original["event_id"]]
    assert log.end_position() == 1


def test_a_failed_batch_leaves_no_trace_and_burns_no_position(log):
    good = f.site("a")
    log.append(batch(good))
    conflict = {**good, "data": {**good["data"], "region": "Sud-Kivu"}}
    with pytest.raises(IdempotencyConflict):
        log.append(batch(f.site("b"), f.site("c"), conflict))
    assert log.append(batch(f.site("d")))[0].position == 2


def test_the_table_refuses_updates_and_deletes(log, tmp_path):
    log.append(batch(f.site("a")))
    raw = sqlite3.connect(tmp_path / "events.db")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("UPDATE events SET body = 'x'")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        raw.execute("DELETE FROM events")
    raw.close()


def test_read_returns_what_was_appended(log):
    envelope = f.production("lot-1", "pit-a", 12.5, 0.9)
    log.append(batch(envelope))
    [recorded] = log.read(0, 10)
    assert recorded.envelope == envelope
    assert recorded.as_dict()["hash"] == prepare(envelope).hash
    assert recorded.stream_id == "lot:lot-1"


def test_concurrent_writers_get_distinct_gapless_positions(tmp_path):
    path = tmp_path / "events.db"
    errors = []

    def writer(prefix):
        log = SqliteEventLog(path)
        try:
            for n in range(20):
                log.append(batch(*(f.site(f"{prefix}-{n}-{k}") for k in range(5))))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            log.close()

    threads = [threading.Thread(target=writer, args=(name,)) for name in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    log = SqliteEventLog(path)
    positions = [event.position for event in log.read(0, 10_000)]
    assert positions == list(range(1, 401))
